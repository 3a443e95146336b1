#include "treeguard/Trace.h"

#include <charconv>

#include <fmt/format.h>

namespace sluice::treeguard {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool parseNumber(std::string_view text, double& out) {
  text = trim(text);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t at = 0;;) {
    const size_t comma = line.find(',', at);
    fields.push_back(trim(line.substr(at, comma == std::string_view::npos ? comma : comma - at)));
    if (comma == std::string_view::npos) {
      return fields;
    }
    at = comma + 1;
  }
}

}  // namespace

Result<Trace> parseTrace(std::string_view text, const std::string& name) {
  Trace trace;
  std::map<std::string, bool, std::less<>> isCircuit;  // declared ids
  size_t lineNo = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineNo;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto bad = [&](std::string_view what, std::string_view value) {
      return makeError(EINVAL, fmt::format("{}:{}", name, lineNo),
                       fmt::format("{} ({})", what, value));
    };
    const std::vector<std::string_view> f = split(line);
    double a = 0, b = 0;
    if (f[0] == "circuit" || f[0] == "node") {
      const bool circuit = f[0] == "circuit";
      if (!trace.ticks.empty()) {
        return bad("declaration after the first tick", line);
      }
      if (f.size() < 4 || f.size() > (circuit ? 6u : 5u) || (circuit && f.size() == 5)) {
        return bad(circuit ? "expected circuit,ID,capacity_down_mbps,capacity_up_mbps"
                             "[,base_down,base_up]"
                           : "expected node,ID,capacity_down_mbps,capacity_up_mbps"
                             "[,virtual_in_plan]",
                   line);
      }
      if (f[1].empty() || !isCircuit.emplace(std::string(f[1]), circuit).second) {
        return bad("empty or duplicate id", f[1]);
      }
      if (!parseNumber(f[2], a) || !parseNumber(f[3], b)) {
        return bad("capacity is not a number", line);
      }
      if (circuit) {
        CircuitSpec spec{std::string(f[1]), {a, b}, {Sqm::Cake, Sqm::Cake}};
        for (size_t i = 4; i < f.size(); ++i) {
          if (f[i] != "cake" && f[i] != "fq_codel") {
            return bad("base SQM must be cake or fq_codel", f[i]);
          }
          spec.base[i - 4] = f[i] == "cake" ? Sqm::Cake : Sqm::FqCodel;
        }
        trace.circuits.push_back(std::move(spec));
      } else {
        NodeSpec spec{std::string(f[1]), a, b, false};
        if (f.size() == 5) {
          if (f[4] != "0" && f[4] != "1") {
            return bad("virtual_in_plan must be 0 or 1", f[4]);
          }
          spec.virtualInPlan = f[4] == "1";
        }
        trace.nodes.push_back(std::move(spec));
      }
    } else if (f[0] == "tick") {
      TraceTick tick;
      if (f.size() != 3 || !parseNumber(f[1], tick.timeSeconds)) {
        return bad("expected tick,time_s,cpu_max_pct", line);
      }
      if (!trace.ticks.empty() && tick.timeSeconds <= trace.ticks.back().timeSeconds) {
        return bad("time does not increase", f[1]);
      }
      if (!f[2].empty()) {
        if (!parseNumber(f[2], a)) {
          return bad("cpu_max_pct is not a number", f[2]);
        }
        tick.cpuMaxPct = a;
      }
      trace.ticks.push_back(std::move(tick));
    } else {
      auto declared = isCircuit.find(f[0]);
      if (declared == isCircuit.end()) {
        return bad("unknown record or undeclared id", f[0]);
      }
      if (trace.ticks.empty()) {
        return bad("signal before the first tick", line);
      }
      if (f.size() < 3 || f.size() > 5 || !parseNumber(f[1], a) || !parseNumber(f[2], b)) {
        return bad("expected ID,down_mbps,up_mbps[,qoo_score[,rtt_seen]]", line);
      }
      std::optional<double> qoo;
      double q = 0, rtt = (a > 0 || b > 0) ? 1 : 0;
      if (f.size() >= 4 && !f[3].empty()) {
        if (!parseNumber(f[3], q)) {
          return bad("qoo_score is not a number", f[3]);
        }
        qoo = q;
      }
      if (f.size() == 5 && (!parseNumber(f[4], rtt) || (rtt != 0 && rtt != 1))) {
        return bad("rtt_seen must be 0 or 1", f[4]);
      }
      TraceTick& tick = trace.ticks.back();
      if (declared->second) {
        tick.circuits[declared->first] = CircuitSignal{{a, b}, {qoo, qoo}};
      } else {
        tick.nodes[declared->first] = NodeSignal{a, b, rtt == 1, qoo, qoo};
      }
    }
  }
  return trace;
}

std::vector<TraceStep> replay(const Settings& settings, const Trace& trace,
                              size_t maxCircuitChangesPerTick) {
  CircuitGuard circuits(settings, maxCircuitChangesPerTick);
  NodeGuard nodes(settings);
  const double start = trace.ticks.empty() ? 0 : trace.ticks.front().timeSeconds;
  for (const CircuitSpec& c : trace.circuits) {
    circuits.enrol(c);
  }
  for (const NodeSpec& n : trace.nodes) {
    nodes.enrol(n, start);
  }
  std::vector<TraceStep> out;
  out.reserve(trace.ticks.size());
  for (const TraceTick& t : trace.ticks) {
    TraceStep step{t.timeSeconds, circuits.tick(t.circuits, t.cpuMaxPct, t.timeSeconds),
                   nodes.tick(t.nodes, t.cpuMaxPct, t.timeSeconds)};
    for (const SqmChange& c : step.sqm) {
      circuits.reportApplied(c, true, t.timeSeconds);
    }
    for (const NodeChange& c : step.nodes) {
      nodes.reportApplied(c, true, t.timeSeconds);
    }
    out.push_back(std::move(step));
  }
  return out;
}

}  // namespace sluice::treeguard
