#pragma once
// Replaying a recorded signal trace through TreeGuard's circuit and node state machines: what
// TreeGuard would have done, tick by tick. Tests use it with traces under tests/data/treeguard/;
// an operator can use it to tune [treeguard] against a trace of their own network.
//
// Trace text, one record per line, fields separated by ',', '#' starts a comment line:
//   circuit,ID,capacity_down_mbps,capacity_up_mbps[,base_down,base_up]   (base: cake|fq_codel)
//   node,ID,capacity_down_mbps,capacity_up_mbps[,virtual_in_plan]        (0|1)
//   tick,time_s,cpu_max_pct            starts a tick; cpu_max_pct empty = unknown
//   ID,down_mbps,up_mbps[,qoo_score[,rtt_seen]]   a declared circuit's or node's traffic in the
//       current tick; qoo_score (empty = none) counts for both directions; rtt_seen (0|1, nodes
//       only) defaults to 1 when there is traffic. An entity with no line in a tick is silent.
// Declarations come before the first tick; ticks are in increasing time.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "treeguard/Circuits.h"
#include "treeguard/Nodes.h"

namespace sluice::treeguard {

struct TraceTick {
  double timeSeconds = 0;
  std::optional<double> cpuMaxPct;
  std::map<std::string, CircuitSignal> circuits;
  std::map<std::string, NodeSignal> nodes;
};

struct Trace {
  std::vector<CircuitSpec> circuits;
  std::vector<NodeSpec> nodes;
  std::vector<TraceTick> ticks;
};

struct TraceStep {
  double timeSeconds = 0;
  std::vector<SqmChange> sqm;
  std::vector<NodeChange> nodes;
};

/// Parses trace text. Errors: EINVAL with context `name`:line naming the offending value
/// (bad number, unknown record or id, duplicate id, time not increasing, signal before a tick).
Result<Trace> parseTrace(std::string_view text, const std::string& name);

/// Runs every tick through a fresh CircuitGuard(settings, maxCircuitChangesPerTick) and
/// NodeGuard(settings) enrolled with the trace's declarations; every change applies successfully.
std::vector<TraceStep> replay(const Settings& settings, const Trace& trace,
                              size_t maxCircuitChangesPerTick = kMaxCircuitChangesPerTick);

}  // namespace sluice::treeguard
