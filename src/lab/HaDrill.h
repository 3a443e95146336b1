#pragma once
// `sluice lab ha drill`: the failover drill on the HA lab (lab/HaLab.h, docs/ha.md). Scenarios,
// one after the other, each measured while it happens:
//
//   link-down     the primary's core-facing port goes down (carrier loss on ha-core)
//   host-gone     the primary shaper's ports are deleted (both routers lose the path at once);
//                 afterwards the links are rebuilt and its sluiced restarted
//   dataplane     the primary's XDP programs and tc classifier are detached: sluiced fails open
//                 (bypass), drops readiness, and its routing hook raises the path's OSPF cost
//   failback      the primary's sluiced restarts (re-attaches); after the hold-down of stable
//                 readiness the restore hook lowers the cost again and traffic returns
//   sigkill       the primary's sluiced is killed with SIGKILL and started again: the pinned data
//                 plane keeps shaping and no failover may happen
//   fail-closed   with the primary's fail_mode switched to closed (and sluiced restarted), its
//                 data plane is detached again: sluiced sets its ports down; afterwards fail_mode
//                 goes back to open and sluiced restarts (setting the ports up again)
//
// Measured for each: the time from the event until both routers' routes take the expected path
// (polled every 50 ms: `ip route get` in ha-core and ha-dist), the longest silence and the packets
// lost of two 1,000 packets/s UDP probes (lab/Probe.h; Internet -> a circuit's address and
// subscriber -> Internet), which path carried traffic afterwards, and whether it was shaped: an
// iperf3 download through another circuit, within ±tolerance of the circuit's ceil (as TCP
// payload, lab/Traffic.h payloadShare; a rate below the band, which only a busy machine causes, is
// measured again up to twice, a rate above it is final). Between scenarios the primary is
// restored and the drill waits until path a carries again (not measured).

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "lab/HaLab.h"

namespace sluice::lab {

struct DrillOptions {
  std::string probeCircuit;  ///< "" = the first circuit with an IPv4 address
  std::string iperfCircuit;  ///< "" = the circuit with the highest download ceil up to 20 Mbit/s
  uint32_t pps = 1000;       ///< each probe's rate (1 ms resolution for outages)
  int iperfSeconds = 3;      ///< measured seconds (plus one omitted for slow start)
  double tolerancePercent = 10;
  std::chrono::seconds settle{20};  ///< longest wait for a scenario's routes
};

struct ScenarioResult {
  std::string scenario;
  std::string description;
  std::string expectedPath;  ///< "a" or "b"
  std::string path;          ///< which path carried traffic afterwards (carryingPath)
  bool converged = false;    ///< the routes reached the expected path within `settle`
  double convergeMs = 0;     ///< event -> routes on the expected path (0: they never left it)
  double outageMs = 0;       ///< the probes' longest silence, either direction
  uint64_t lost = 0;         ///< probe packets lost, both directions
  uint64_t sent = 0;
  double measuredMbps = 0;  ///< iperf3 download, TCP payload
  double ceilMbps = 0;      ///< the circuit's planned download ceil
  bool shaped = false;      ///< measured within tolerance of ceil * payloadShare
  std::string note;         ///< what else was seen (route changes where none were expected)
};

/// Runs the scenarios in the order of the header comment. Progress goes to `log`. Errors: the
/// lab is not up, a probe or iperf3 cannot run, or the primary cannot be restored between
/// scenarios (the drill stops there; the message says which step).
Result<std::vector<ScenarioResult>> runHaDrill(const std::string& stateDir,
                                               const DrillOptions& options,
                                               const StatusQuery& status, std::FILE* log);

/// Fixed-width table: scenario, converge ms, outage ms, lost/sent, path, shaped (measured/ceil).
std::string renderDrillTable(const std::vector<ScenarioResult>& rows);

/// {"time": ISO-8601, "scenarios": [{"scenario", "description", "expected_path", "path",
///   "converged", "converge_ms", "outage_ms", "lost", "sent", "measured_mbps", "ceil_mbps",
///   "shaped", "note"}]}
nlohmann::json drillJson(const std::vector<ScenarioResult>& rows);

}  // namespace sluice::lab
