#pragma once
// `sluice lab up|down|status`: the namespace lab as a whole (network in lab/Network.h, config in
// lab/LabConfig.h, traffic in lab/Traffic.h). The lab's state lives in one directory
// (default /run/sluice-lab):
//
//   lab.json            what `up` built (LabState), read by status/traffic/down
//   lqos.conf           the config sluiced runs with
//   network.json, ShapedDevices.csv   the lab's copies of the inputs (tests edit these)
//   sluiced.log, sluiced.pid, sluiced.sock, state/   the daemon's log, pid, socket, state dir
//   bpffs/              a bpf filesystem for the daemon's pins (--pin-dir bpffs/sluice), so a
//                       killed daemon's maps outlive its private mount namespace (startSluiced)
//   iperf3-<port>.log   the Internet-side servers' logs
//   ui.json, ui-forward.log   the UI forward and the lab admin's credentials (UiForward.h; 0600)

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "lab/Layout.h"

namespace sluice::lab {

inline constexpr const char* kDefaultStateDir = "/run/sluice-lab";

/// Asks sluiced on `socketPath` for its status object (src/api/ControlApi.h). Supplied by the
/// caller (the CLI uses the control API client) so the lab does not depend on the API module.
using StatusQuery = std::function<Result<nlohmann::json>(const std::string& socketPath)>;

struct UpOptions {
  bool stick = false;
  std::string config;   ///< template lqos.conf; "" = the demo ISP's (examples/lqos.conf)
  std::string network;  ///< "" = the file the template names
  std::string devices;  ///< "" = the file the template names
  std::string sluiced;  ///< "" = next to this program, then the build tree, then PATH
  bool startDaemon = true;  ///< false: network, servers and config only (`--no-sluiced`)
  std::string stateDir = kDefaultStateDir;
  std::chrono::seconds readyTimeout{90};
  /// Forward sluiced's API and UI to the host's loopback and create the lab admin (UiForward.h);
  /// only when the lab starts sluiced.
  bool uiForward = true;
  std::string uiListen;  ///< host endpoint; "" = the first free of 127.0.0.1:9180..9199
};

/// What `up` built; persisted as lab.json.
struct LabState {
  LabMode mode = LabMode::Bridge;
  std::string stateDir;
  std::string config;   ///< the lab's lqos.conf
  std::string network;  ///< the lab's network.json
  std::string devices;  ///< the lab's ShapedDevices.csv
  std::string socket;   ///< sluiced's control socket
  std::string templateConfig;
  uint16_t internetVlan = 0;  ///< on a stick
  uint16_t networkVlan = 0;
  std::string leafFallback;  ///< "" = the kernel has the configured leaf
  std::string unknownV4;     ///< subs address in no circuit
  std::string unknownV6;
  std::string sluiced;  ///< the sluiced binary
  int sluicedPid = 0;   ///< 0 = not started by the lab
  std::string netns;    ///< the namespace sluiced runs in ("" = kShaperNs; the HA lab's shapers)
  std::string uiUrl;    ///< the UI on the host's loopback ("" = no forward; credentials: ui.json)

  nlohmann::json toJson() const;
  static LabState fromJson(const nlohmann::json& json);
};

/// The sluiced binary to run: `given` when set, else next to this program, then in a build tree
/// above it (src/daemon/sluiced), then "sluiced" (PATH).
std::string findSluiced(const std::string& given);

/// The demo ISP's lqos.conf: ./examples/lqos.conf, else the source tree's, else
/// /usr/share/sluice/examples/lqos.conf. "" when none exists.
std::string defaultTemplate();

/// Builds the lab and starts sluiced in the shaper namespace, then waits until its status says
/// "ready" (through `status`). Progress lines go to `log`. Refuses when a lab (namespace or state
/// directory) already exists, and when the inputs have errors (every one is in the message).
/// A failure while building the network removes what was built; a sluiced that does not become
/// ready leaves the lab up for inspection and the error carries the log's last lines. With
/// `uiForward`, an explicit `uiListen` that is malformed or in use is refused before anything is
/// built; a forward that cannot start otherwise (e.g. socat missing) is reported on `log` and the
/// lab stays up without it.
Result<LabState> labUp(const UpOptions& options, const StatusQuery& status, std::FILE* log);

/// Starts `state.sluiced` in the shaper namespace with the lab's config, state directory and
/// socket (log appended to sluiced.log), records its pid (sluiced.pid, lab.json) and waits until
/// it reports "ready". Errors: spawn failures; the daemon exiting or not becoming ready within
/// `timeout` (the detail holds the log's last lines).
Result<void> startSluiced(LabState& state, const StatusQuery& status, std::chrono::seconds timeout,
                          std::FILE* log);

/// Stops the lab's sluiced (SIGTERM: it removes its tree; `hard`: SIGKILL, which leaves programs,
/// pins and tree in place, as a crash would) unless it is already gone, then starts a new one
/// (startSluiced). Returns the updated state.
Result<LabState> restartSluiced(const std::string& stateDir, bool hard, const StatusQuery& status,
                                std::chrono::seconds timeout, std::FILE* log);

/// Stops the UI forward, sluiced (SIGTERM: it removes its tree; SIGKILL after a grace period), every other lab
/// process, deletes the namespaces, unmounts the lab's bpffs (dropping its pins), removes pins of
/// the lab's interfaces under /sys/fs/bpf/sluice and the state directory. Works on a half-built or crashed lab and when nothing is up. Returns the
/// problems it could not fix (empty = clean).
std::vector<std::string> labDown(const std::string& stateDir);

/// Reads lab.json. ENOENT when no lab is up.
Result<LabState> loadLabState(const std::string& stateDir);

/// The lab's current state as JSON: namespaces present, each namespace's links (name, state,
/// tx queues), the daemon's pid, whether it is alive, and its status object (or the error).
nlohmann::json labStatus(const std::string& stateDir, const StatusQuery& status);

/// The last `lines` lines of a file ("" when unreadable).
std::string tailFile(const std::string& path, size_t lines);

}  // namespace sluice::lab
