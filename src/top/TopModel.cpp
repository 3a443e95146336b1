#include "top/TopModel.h"

#include <cmath>
#include <limits>

namespace sluice::top {

namespace {

using nlohmann::json;

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

double number(const json& object, const char* key, double fallback = 0) {
  if (!object.is_object()) {
    return fallback;
  }
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string text(const json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void flatten(const json& nodes, int depth, std::vector<NodeLine>& out) {
  if (!nodes.is_array()) {
    return;
  }
  for (const json& node : nodes) {
    NodeLine line;
    line.name = text(node, "name");
    line.type = text(node, "type");
    line.depth = depth;
    line.maxDownMbps = number(node, "max_down_mbps");
    line.maxUpMbps = number(node, "max_up_mbps");
    line.downBps = number(node, "down_bps");
    line.upBps = number(node, "up_bps");
    line.utilizationDown = number(node, "utilization_down");
    line.utilizationUp = number(node, "utilization_up");
    line.rttP50Ms = number(node, "rtt_p50_ms", kUnknown);
    line.circuits = static_cast<int>(number(node, "circuits"));
    out.push_back(std::move(line));
    if (node.is_object() && node.contains("children")) {
      flatten(node["children"], depth + 1, out);
    }
  }
}

}  // namespace

std::string_view metricName(SortKey key) {
  switch (key) {
    case SortKey::Throughput:
      return "throughput";
    case SortKey::Rtt:
      return "rtt";
    case SortKey::Retransmits:
      return "retransmits";
  }
  return "throughput";
}

std::vector<CircuitLine> parseTop(const json& top) {
  std::vector<CircuitLine> out;
  if (!top.is_object() || !top.contains("circuits") || !top["circuits"].is_array()) {
    return out;
  }
  for (const json& row : top["circuits"]) {
    CircuitLine line;
    line.id = text(row, "id");
    if (line.id.empty()) {
      continue;
    }
    line.name = text(row, "name");
    line.parent = text(row, "parent");
    line.maxDownMbps = number(row, "max_down_mbps");
    line.maxUpMbps = number(row, "max_up_mbps");
    line.downBps = number(row, "down_bps");
    line.upBps = number(row, "up_bps");
    line.rttP50Ms = number(row, "rtt_p50_ms", kUnknown);
    line.retransmitPct = number(row, "retransmit_pct");
    out.push_back(std::move(line));
  }
  return out;
}

std::vector<NodeLine> parseTree(const json& tree) {
  std::vector<NodeLine> out;
  if (tree.is_object() && tree.contains("nodes")) {
    flatten(tree["nodes"], 0, out);
  }
  return out;
}

void parseSummary(const json& summary, Snapshot& snapshot) {
  snapshot.t = number(summary, "t");
  snapshot.downBps = number(summary, "down_bps");
  snapshot.upBps = number(summary, "up_bps");
  snapshot.retransmitPct = number(summary, "retransmit_pct");
  snapshot.rttP50Ms = kUnknown;
  if (summary.is_object() && summary.contains("rtt_ms")) {
    snapshot.rttP50Ms = number(summary["rtt_ms"], "p50", kUnknown);
  }
  snapshot.cpus.clear();
  if (summary.is_object() && summary.contains("queues") && summary["queues"].is_array()) {
    for (const json& q : summary["queues"]) {
      snapshot.cpus.push_back(CpuLine{static_cast<int>(number(q, "queue")),
                                      static_cast<int>(number(q, "cpu")), number(q, "cpu_pct"),
                                      number(q, "down_bps"), number(q, "up_bps")});
    }
  }
}

}  // namespace sluice::top
