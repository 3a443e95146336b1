// Engine's status JSON and Prometheus text (what GET /api/stormguard and /metrics show).

#include <cmath>

#include <fmt/format.h>

#include "stormguard/Engine.h"

namespace sluice::stormguard {

using nlohmann::json;

namespace {

json orNull(double v) {
  return std::isnan(v) ? json(nullptr) : json(v);
}
json orNull(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string labelValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
    }
    out += c == '\n' ? 'n' : c;
  }
  return out;
}

}  // namespace

json Engine::status(bool withHistory) const {
  json nodes = json::array();
  for (const std::string& name : order_) {
    const NodeState& s = nodes_.at(name);
    json entry{{"name", name},
               {"rtt_ms", orNull(s.last.rttMs)},
               {"retransmit_pct", s.last.retransmitFraction * 100},
               {"adjusted", adjusted(s)}};
    for (int d = 0; d < 2; ++d) {
      const DirectionState& ds = s.dirs[d];
      entry[d == kDown ? "download" : "upload"] = {
          {"planned_mbps", ds.probe.plannedMbps()},
          {"current_mbps", ds.probe.currentMbps()},
          {"minimum_mbps", ds.probe.minimumMbps()},
          {"throughput_mbps", ds.throughputMbps},
          {"baseline_rtt_ms", orNull(ds.probe.baselineMs())},
          {"changes", ds.changes},
          {"last",
           {{"action", ds.last.action}, {"why", ds.last.why}, {"at", ds.last.wallSeconds}}}};
    }
    if (withHistory) {
      json points = json::array();
      for (const auto& p : s.history) {
        points.push_back({p[0], p[1], p[2], p[3], p[4], orNull(p[5]), orNull(p[6])});
      }
      entry["history"] = std::move(points);
    }
    nodes.push_back(std::move(entry));
  }
  return {{"nodes", std::move(nodes)}};
}

std::string Engine::prometheus() const {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto each = [&](const char* metric, auto value) {
    for (const std::string& name : order_) {
      const NodeState& s = nodes_.at(name);
      for (int d = 0; d < 2; ++d) {
        const double v = value(s.dirs[d]);
        if (!std::isnan(v)) {
          out += fmt::format("{}{{node=\"{}\",direction=\"{}\"}} {}\n", metric, labelValue(name),
                             d == kDown ? "down" : "up", v);
        }
      }
    }
  };
  family("sluice_stormguard_rate_mbps", "gauge", "Rate StormGuard holds the node to (Mbit/s)");
  each("sluice_stormguard_rate_mbps",
       [](const DirectionState& d) { return d.probe.currentMbps(); });
  family("sluice_stormguard_planned_mbps", "gauge", "The node's planned rate (Mbit/s)");
  each("sluice_stormguard_planned_mbps",
       [](const DirectionState& d) { return d.probe.plannedMbps(); });
  family("sluice_stormguard_minimum_mbps", "gauge", "The lowest rate StormGuard may set (Mbit/s)");
  each("sluice_stormguard_minimum_mbps",
       [](const DirectionState& d) { return d.probe.minimumMbps(); });
  family("sluice_stormguard_baseline_rtt_seconds", "gauge", "The node's RTT baseline (EWMA)");
  each("sluice_stormguard_baseline_rtt_seconds", [](const DirectionState& d) {
    return d.probe.baselineMs() ? *d.probe.baselineMs() / 1000 : NAN;
  });
  family("sluice_stormguard_changes_total", "counter",
         "Rate changes applied (or, in a dry run, decided), by action");
  for (const std::string& name : order_) {
    const NodeState& s = nodes_.at(name);
    for (int d = 0; d < 2; ++d) {
      for (const auto& [action, n] : s.dirs[d].changes) {
        out += fmt::format(
            "sluice_stormguard_changes_total{{node=\"{}\",direction=\"{}\","
            "action=\"{}\"}} {}\n",
            labelValue(name), d == kDown ? "down" : "up", action, n);
      }
    }
  }
  return out;
}

}  // namespace sluice::stormguard
