#pragma once
// Readiness of one shaper for the routers in front of it (docs/ha.md): may traffic be sent
// through this box now? A pure function of a snapshot of the daemon's state, so every rule is
// unit-tested without a kernel; sluiced fills the snapshot (daemon/Health) and serves the verdict
// at GET /ready (HTTP 200 ready, 503 not) and on the control socket.
//
// Liveness (GET /health: the process answers) needs no rules and is not here.
//
// The rules, each a named check in the verdict (all must pass):
//   running    the daemon finished starting and is not stopping
//   shaping    queue_mode = shape (observe builds no tree: the path would carry traffic
//              unshaped)
//   dataplane  on every shaping interface the link is up and the XDP program and the tc egress
//              classifier are attached, the pinned maps are present, and the fail-open bypass
//              is off
//   tree       the live tc tree matches the bakery's active plan (the last drift check found no
//              difference and could read the tree)
//   apply      the last apply (start or reload) succeeded; a refused reload (invalid inputs,
//              nothing changed) does not count against readiness
//   inputs     the newest input file (network.json, ShapedDevices.csv) is not older than
//              [ha] max_input_age_seconds (0 = no limit): a stalled CRM sync would leave this
//              shaper with different subscribers than its peer
//   urgent     no urgent issue is open (fail-open engaged, data plane broken, ...)
//
// Knows nothing of HTTP, threads or the kernel.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::ha {

using SystemTime = std::chrono::system_clock::time_point;

enum class Phase : uint8_t { Starting, Running, Stopping };

/// One shaping interface's data plane as sluiced last saw it in the kernel.
struct InterfaceHealth {
  std::string name;
  bool xdpAttached = false;  ///< our XDP program is the one attached to the link
  bool tcAttached = false;   ///< our tc egress classifier is attached (clsact egress)
  bool linkUp = true;        ///< operstate up (carrier): a port that is down carries nothing
};

/// What readiness is decided from. Filled by the daemon; times are wall-clock.
struct HealthSnapshot {
  Phase phase = Phase::Starting;
  bool shaping = true;  ///< queue_mode shape (false: observe)
  std::vector<InterfaceHealth> interfaces;
  bool pinnedMapsPresent = false;
  bool bypass = false;  ///< the data plane's fail-open bypass flag is set (traffic unshaped)
  /// Differences the last drift check found between the live tree and the active plan; nullopt
  /// when no check ran yet. `driftError` set when the live tree could not be read.
  std::optional<size_t> driftDifferences;
  std::string driftError;
  bool lastApplyOk = true;
  std::string lastApplyError;  ///< why the last apply failed
  /// Modification time of the newest input file; nullopt when unknown (not checked).
  std::optional<SystemTime> inputsModified;
  std::vector<std::string> urgent;  ///< open urgent issues, one line each
  SystemTime now{};
};

struct ReadinessRules {
  /// [ha] max_input_age_seconds; 0 = inputs may be of any age.
  std::chrono::seconds maxInputAge{0};
};

/// One rule's outcome.
struct Check {
  std::string name;  ///< running | shaping | dataplane | tree | apply | inputs | urgent
  bool ok = false;
  std::string detail;  ///< why it failed, or what it saw when it passed
};

struct Readiness {
  bool ready = false;
  std::vector<Check> checks;  ///< in the order of the header comment

  /// The failing checks' details joined with "; " ("ready" when none fails).
  std::string reason() const;
  /// {"ready": bool, "reason": "...", "checks": [{"name","ok","detail"}...]}
  nlohmann::json toJson() const;
};

/// Applies every rule to `snapshot`. Never throws.
Readiness evaluateReadiness(const HealthSnapshot& snapshot, const ReadinessRules& rules);

}  // namespace sluice::ha
