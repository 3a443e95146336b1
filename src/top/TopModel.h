#pragma once
// `sluice top`'s data: what one refresh shows, read from the operator API's answers (the same
// JSON on the control socket and on TCP; src/api/openapi.json, docs/api.md):
//   GET /api/top?metric=throughput|rtt|retransmits&n=N   → circuits (schema "Top")
//   GET /api/tree                                       → node tree (schema "Tree")
//   GET /api/summary                                    → totals and per-queue CPU (schema
//   "Summary")
// Owns parsing and ordering only; fetching is the CLI's (src/cli/TopCommand.cpp), drawing is
// TopLayout.h's (text) and the CLI's curses code. Knows nothing of sockets or terminals.
// Fields the daemon leaves out or sets to null read as "unknown" (NaN), never as an error: an
// older or newer sluiced may differ, and a starting one has no rates yet.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::top {

/// The order of the circuit table; each maps to one /api/top metric.
enum class SortKey : uint8_t { Throughput, Rtt, Retransmits };

/// "throughput" / "rtt" / "retransmits" (the /api/top `metric` value).
std::string_view metricName(SortKey key);

/// One circuit row (CircuitRow in the OpenAPI document). Rates in bits/s, RTT in ms.
struct CircuitLine {
  std::string id;
  std::string name;
  std::string parent;
  double maxDownMbps = 0;
  double maxUpMbps = 0;
  double downBps = 0;
  double upBps = 0;
  double rttP50Ms = 0;       ///< NaN = no RTT sample
  double retransmitPct = 0;  ///< percent of TCP segments retransmitted
};

/// One node of the network tree, flattened depth-first (TreeNode in the OpenAPI document).
struct NodeLine {
  std::string name;
  std::string type;
  int depth = 0;  ///< 0 = top level
  double maxDownMbps = 0;
  double maxUpMbps = 0;
  double downBps = 0;
  double upBps = 0;
  double utilizationDown = 0;  ///< 0..1 of max_down_mbps
  double utilizationUp = 0;
  double rttP50Ms = 0;  ///< NaN = none
  int circuits = 0;
};

/// One shaping queue and the CPU it runs on (Summary.queues).
struct CpuLine {
  int queue = 0;
  int cpu = 0;
  double cpuPct = 0;  ///< 0..100, this CPU's busy share over the last tick
  double downBps = 0;
  double upBps = 0;
};

/// Everything one screen shows.
struct Snapshot {
  double t = 0;  ///< unix seconds of the summary
  double downBps = 0;
  double upBps = 0;
  double rttP50Ms = 0;  ///< NaN = none
  double retransmitPct = 0;
  SortKey sortedBy = SortKey::Throughput;
  std::vector<CircuitLine> circuits;  ///< in /api/top's order (descending by sortedBy)
  std::vector<NodeLine> nodes;        ///< depth-first, children after their parent
  std::vector<CpuLine> cpus;          ///< by queue
};

/// Reads a /api/top answer. Rows without an "id" are skipped.
std::vector<CircuitLine> parseTop(const nlohmann::json& top);

/// Flattens a /api/tree answer ({"nodes": [TreeNode...]}) depth-first.
std::vector<NodeLine> parseTree(const nlohmann::json& tree);

/// Fills the totals and `cpus` of `snapshot` from a /api/summary answer.
void parseSummary(const nlohmann::json& summary, Snapshot& snapshot);

}  // namespace sluice::top
