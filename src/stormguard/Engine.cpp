#include "stormguard/Engine.h"

#include <cmath>

#include <fmt/format.h>

namespace sluice::stormguard {

using nlohmann::json;

Engine::DirectionState Engine::makeDirection(double plannedMbps, Direction d) const {
  const double share = d == kDown ? settings_.minimumDownloadShare : settings_.minimumUploadShare;
  return DirectionState{DelayProbe(settings_.params, plannedMbps, share), {}, 0, {}};
}

bool Engine::adjusted(const NodeState& s) {
  for (const DirectionState& d : s.dirs) {
    if (d.probe.currentMbps() != d.probe.plannedMbps()) {
      return true;
    }
  }
  return false;
}

bool Engine::adjusted() const {
  for (const auto& [name, s] : nodes_) {
    if (adjusted(s)) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> Engine::setWatched(const Selection& selection) {
  std::vector<std::string> discarded;
  std::map<std::string, NodeState> next;
  order_.clear();
  for (const WatchedNode& w : selection.nodes) {
    order_.push_back(w.name);
    auto it = nodes_.find(w.name);
    if (it == nodes_.end()) {
      next.emplace(w.name, NodeState{w,
                                     {makeDirection(w.plannedDownMbps, kDown),
                                      makeDirection(w.plannedUpMbps, kUp)},
                                     {},
                                     {}});
      continue;
    }
    NodeState s = std::move(it->second);
    nodes_.erase(it);
    const bool operatorChanged =
        w.operatorDownMbps != s.node.operatorDownMbps || w.operatorUpMbps != s.node.operatorUpMbps;
    if (adjusted(s) && operatorChanged) {
      discarded.push_back(fmt::format(
          "{}: network.json rates changed from {}/{} to {}/{} Mbit/s (adjustment discarded)",
          w.name, s.node.operatorDownMbps, s.node.operatorUpMbps, w.operatorDownMbps,
          w.operatorUpMbps));
      // The plan in force still carries the adjustment; the operator's rate is the plan until
      // the next setWatched reads the plan without it (0 = inherited: the plan's value).
      const double down = w.operatorDownMbps > 0 ? w.operatorDownMbps : w.plannedDownMbps;
      const double up = w.operatorUpMbps > 0 ? w.operatorUpMbps : w.plannedUpMbps;
      s.dirs = {makeDirection(down, kDown), makeDirection(up, kUp)};
      s.node = w;
      s.node.plannedDownMbps = down;
      s.node.plannedUpMbps = up;
      next.emplace(w.name, std::move(s));
      continue;
    }
    // Directions at their plan follow the plan; adjusted ones keep theirs (the plan in force
    // carries the adjustment, not the operator's rate).
    const double planned[2] = {w.plannedDownMbps, w.plannedUpMbps};
    for (int d = 0; d < 2; ++d) {
      DirectionState& ds = s.dirs[d];
      if (ds.probe.currentMbps() == ds.probe.plannedMbps() &&
          ds.probe.plannedMbps() != planned[d]) {
        ds = makeDirection(planned[d], static_cast<Direction>(d));
      }
    }
    s.node.operatorDownMbps = w.operatorDownMbps;
    s.node.operatorUpMbps = w.operatorUpMbps;
    s.node.plannedDownMbps = s.dirs[kDown].probe.plannedMbps();
    s.node.plannedUpMbps = s.dirs[kUp].probe.plannedMbps();
    next.emplace(w.name, std::move(s));
  }
  for (const auto& [name, s] : nodes_) {
    if (adjusted(s)) {
      discarded.push_back(name +
                          ": no longer watched (removed from network.json, virtual, or "
                          "not a target any more; adjustment discarded)");
    }
  }
  nodes_ = std::move(next);
  return discarded;
}

std::vector<std::string> Engine::replay(const std::vector<Adjustment>& adjustments) {
  std::vector<std::string> discarded;
  for (const Adjustment& a : adjustments) {
    auto it = nodes_.find(a.node);
    if (it == nodes_.end()) {
      discarded.push_back(a.node + ": not watched now (adjustment discarded)");
      continue;
    }
    NodeState& s = it->second;
    if (a.plannedDownMbps != s.node.plannedDownMbps || a.plannedUpMbps != s.node.plannedUpMbps ||
        a.operatorDownMbps != s.node.operatorDownMbps ||
        a.operatorUpMbps != s.node.operatorUpMbps) {
      discarded.push_back(fmt::format(
          "{}: planned {}/{} Mbit/s when adjusted, {}/{} now (adjustment discarded)", a.node,
          a.plannedDownMbps, a.plannedUpMbps, s.node.plannedDownMbps, s.node.plannedUpMbps));
      continue;
    }
    if (a.downMbps) {
      s.dirs[kDown].probe.restore(*a.downMbps);
    }
    if (a.upMbps) {
      s.dirs[kUp].probe.restore(*a.upMbps);
    }
  }
  return discarded;
}

std::vector<NodeDecision> Engine::tick(const std::map<std::string, NodeSignals>& signals,
                                       double now, double wallSeconds) {
  std::vector<NodeDecision> out;
  for (const std::string& name : order_) {
    NodeState& s = nodes_.at(name);
    auto it = signals.find(name);
    s.last = it == signals.end() ? NodeSignals{} : it->second;
    const double throughput[2] = {s.last.downMbps, s.last.upMbps};
    // The node's RTT is one figure for both directions (flows' TCP timestamps, either way), but
    // the queue that delays them is in the busier direction: it counts there, and in the other
    // only when that one is loaded too (the upload of a download-bound site carries its ACKs).
    double use[2];
    for (int d = 0; d < 2; ++d) {
      const double current = s.dirs[d].probe.currentMbps();
      use[d] = current > 0 ? throughput[d] / current : 0;
    }
    for (int d = 0; d < 2; ++d) {
      DirectionState& ds = s.dirs[d];
      ds.throughputMbps = throughput[d];
      const bool rttHere = use[d] >= use[1 - d] || use[d] >= kRttLoadShare;
      // Retransmits are one figure too: they count where the RTT does.
      const Sample sample{throughput[d], rttHere ? s.last.rttMs : std::nullopt,
                          rttHere ? s.last.retransmitFraction : 0.0};
      Decision decision = ds.probe.tick(sample, now);
      if (decision.action != Action::None) {
        ds.last = {actionName(decision.action), decision.why, wallSeconds};
        out.push_back(
            {name, static_cast<Direction>(d), std::move(decision), ds.probe.currentMbps()});
      } else if (ds.last.action == "none" || wallSeconds - ds.last.wallSeconds > 60) {
        // Keep an action's reason visible for a minute; then show why it holds.
        ds.last = {"none", decision.why, wallSeconds};
      }
    }
    const auto baseline = s.dirs[kDown].probe.baselineMs();
    s.history.push_back({wallSeconds, s.dirs[kDown].probe.currentMbps(),
                         s.dirs[kUp].probe.currentMbps(), s.last.downMbps, s.last.upMbps,
                         s.last.rttMs.value_or(NAN), baseline.value_or(NAN)});
    if (s.history.size() > kHistory) {
      s.history.pop_front();
    }
  }
  return out;
}

void Engine::reportApplied(const std::vector<NodeDecision>& decisions, bool ok, double now) {
  for (const NodeDecision& nd : decisions) {
    auto it = nodes_.find(nd.node);
    if (it == nodes_.end()) {
      continue;
    }
    DirectionState& ds = it->second.dirs[nd.direction];
    ds.probe.reportApplied(nd.decision, ok, now);
    if (ok) {
      ++ds.changes[actionName(nd.decision.action)];
      ++changes_;
    } else {
      ds.last.why += " (apply failed; retried next tick)";
    }
  }
  // A change applied moves the last history point too, so charts show the step at its tick.
  for (const NodeDecision& nd : decisions) {
    auto it = nodes_.find(nd.node);
    if (ok && it != nodes_.end() && !it->second.history.empty()) {
      it->second.history.back()[1 + nd.direction] =
          it->second.dirs[nd.direction].probe.currentMbps();
    }
  }
}

std::vector<Adjustment> Engine::adjustments() const {
  std::vector<Adjustment> out;
  for (const std::string& name : order_) {
    const NodeState& s = nodes_.at(name);
    if (!adjusted(s)) {
      continue;
    }
    Adjustment a{name,
                 {},
                 {},
                 s.node.plannedDownMbps,
                 s.node.plannedUpMbps,
                 s.node.operatorDownMbps,
                 s.node.operatorUpMbps};
    const DelayProbe& down = s.dirs[kDown].probe;
    const DelayProbe& up = s.dirs[kUp].probe;
    if (down.currentMbps() != down.plannedMbps()) {
      a.downMbps = down.currentMbps();
    }
    if (up.currentMbps() != up.plannedMbps()) {
      a.upMbps = up.currentMbps();
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::map<std::string, model::NodeRateOverride> Engine::overrides(
    const std::vector<NodeDecision>& pending) const {
  std::map<std::string, std::array<double, 2>> rates;
  for (const auto& [name, s] : nodes_) {
    rates[name] = {s.dirs[kDown].probe.currentMbps(), s.dirs[kUp].probe.currentMbps()};
  }
  for (const NodeDecision& nd : pending) {
    if (auto it = rates.find(nd.node); it != rates.end()) {
      it->second[nd.direction] = nd.decision.targetMbps;
    }
  }
  std::map<std::string, model::NodeRateOverride> out;
  for (const auto& [name, r] : rates) {
    const NodeState& s = nodes_.at(name);
    model::NodeRateOverride o;
    o.downloadMbps = r[kDown] != s.dirs[kDown].probe.plannedMbps() ? r[kDown] : 0;
    o.uploadMbps = r[kUp] != s.dirs[kUp].probe.plannedMbps() ? r[kUp] : 0;
    if (o.downloadMbps > 0 || o.uploadMbps > 0) {
      out.emplace(name, o);
    }
  }
  return out;
}

}  // namespace sluice::stormguard
