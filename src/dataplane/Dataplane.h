#pragma once
// The loaded data plane: the libbpf skeleton of bpf/sluice.bpf.c (XDP + tc programs and their
// maps) behind an RAII owner. Maps are reached through the skeleton, never by name.
//
// Pinning: with a pin directory every map except the RTT ring buffer is pinned there by name
// (bpffs is mounted on /sys/fs/bpf first if it is not). A later open() with the same directory
// reuses those maps, so attached programs keep classifying while the daemon restarts. Pinned
// maps whose layout differs (another ABI version, key/value size, type, capacity or flags) are
// removed with a warning naming the map and the difference, and created afresh.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/sluice_abi.h"
#include "common/Error.h"

struct sluice_bpf;

namespace sluice::dataplane {

struct DataplaneOptions {
  /// Pin directory, e.g. "/sys/fs/bpf/sluice/<instance>"; empty = no pinning (tests, benches).
  std::string pinDir;
  uint32_t internetIfindex = 0;  ///< bridge: Internet-facing port (its ingress = download)
  uint32_t networkIfindex = 0;   ///< bridge: subscriber-facing port (its ingress = upload)
  bool onAStick = false;         ///< direction by VLAN instead of by interface
  uint16_t internetVlan = 0;     ///< on a stick: VLAN id towards the Internet
  uint16_t networkVlan = 0;      ///< on a stick: VLAN id towards subscribers
  bool cpuRedirect = true;       ///< false: XDP passes instead of redirecting through the cpumap
  /// Bridge mode without a Linux bridge (lqos.conf use_xdp_bridge): tcBridgeProgramFd() forwards
  /// every frame from one port to the other when attached to both ports' ingress.
  bool xdpBridge = false;
  uint32_t lpmCapacity = 1u << 20;   ///< prefixes
  uint32_t flowCapacity = 262'144;   ///< flows (LRU)
  uint32_t hotCacheCapacity = 65'536;  ///< addresses (LRU)
  uint32_t hostCapacity = 65'536;      ///< hosts with counters (LRU, per CPU)
  uint32_t cpumapQueueSize = 2048;     ///< frames queued per CPU in the cpumap
};

/// Run-time settings of the config map.
struct RuntimeConfig {
  uint32_t flags = 0;             ///< SLUICE_CFG_* (bypass, no flows, no hot cache)
  std::vector<uint32_t> queueCpu = {0};  ///< queue -> CPU; size = queues per direction (1..256)
};

class Dataplane {
 public:
  /// Opens the skeleton, applies `options` (rodata, capacities, cpumap sized from
  /// libbpf_num_possible_cpus()), handles pinning (see above) and loads the programs. A fresh
  /// config map gets RuntimeConfig{} (one queue on CPU 0); reused pinned maps keep their state.
  /// Every possible CPU gets a cpumap entry of cpumapQueueSize. Errors: EINVAL for bad options,
  /// otherwise the errno of the failing libbpf/bpf call (verifier rejection: see the log).
  static Result<std::unique_ptr<Dataplane>> open(const DataplaneOptions& options);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  int xdpProgramFd() const;
  int tcProgramFd() const;
  /// The port-to-port forwarder for tc ingress (DataplaneOptions::xdpBridge).
  int tcBridgeProgramFd() const;
  /// The trivial XDP_PASS program of the same object (benchmark baseline).
  int xdpPassProgramFd() const;

  int lpmMapFd() const;
  int hotCacheMapFd() const;
  int flowMapFd() const;
  int epochMapFd() const;
  int configMapFd() const;
  int hostMapFd() const;
  int statsMapFd() const;
  int cpuMapFd() const;
  int rttRingFd() const;

  /// Writes the config map (one element). EINVAL when queueCpu is empty or longer than
  /// SLUICE_MAX_QUEUES; otherwise the bpf_map_update_elem errno.
  Result<void> setRuntimeConfig(const RuntimeConfig& config);
  /// Reads it back.
  Result<RuntimeConfig> runtimeConfig() const;

  const DataplaneOptions& options() const { return options_; }

 private:
  Dataplane(sluice_bpf* skel, DataplaneOptions options);
  sluice_bpf* skel_;
  DataplaneOptions options_;
};

/// Makes sure `dir` exists on a bpf filesystem: a directory already on a bpffs mount (for example
/// one a namespace lab mounted under /run, which survives `ip netns exec` remounting /sys) is used
/// as is; a directory under /sys/fs/bpf gets a bpffs mounted there first (mode 0700) when none is.
/// Errors: EINVAL for a directory elsewhere that is not on a bpffs; the failing mount/mkdir errno.
Result<void> ensureBpffsDir(const std::string& dir);

}  // namespace sluice::dataplane
