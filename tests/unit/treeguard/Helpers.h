#pragma once
// Small drivers for the TreeGuard tests: run a guard over a span of ticks with signals and CPU
// given as functions of time, every change applied (or not) as the test says.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "treeguard/Circuits.h"
#include "treeguard/Nodes.h"

namespace sluice::treeguard::test {

template <typename Change>
struct Event {
  double t = 0;
  Change change;
};

using CircuitSignals = std::function<std::map<std::string, CircuitSignal>(double)>;
using Cpu = std::function<std::optional<double>(double)>;

inline std::map<std::string, CircuitSignal> silence(double) {
  return {};
}
inline Cpu constantCpu(std::optional<double> pct) {
  return [pct](double) { return pct; };
}

/// Ticks `guard` at from, from + step, ... while < to; applies every change successfully.
inline std::vector<Event<SqmChange>> run(CircuitGuard& guard, double from, double to,
                                         const CircuitSignals& signals, const Cpu& cpu,
                                         double step = 60) {
  std::vector<Event<SqmChange>> out;
  for (double t = from; t < to; t += step) {
    for (SqmChange& c : guard.tick(signals(t), cpu(t), t)) {
      guard.reportApplied(c, true, t);
      out.push_back({t, std::move(c)});
    }
  }
  return out;
}

inline std::vector<Event<NodeChange>> run(
    NodeGuard& guard, double from, double to,
    const std::function<std::map<std::string, NodeSignal>(double)>& signals, const Cpu& cpu,
    double step = 60) {
  std::vector<Event<NodeChange>> out;
  for (double t = from; t < to; t += step) {
    for (NodeChange& c : guard.tick(signals(t), cpu(t), t)) {
      guard.reportApplied(c, true, t);
      out.push_back({t, std::move(c)});
    }
  }
  return out;
}

}  // namespace sluice::treeguard::test
