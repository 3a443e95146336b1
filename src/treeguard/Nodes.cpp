#include "treeguard/Nodes.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::treeguard {

NodeGuard::NodeGuard(const Settings& settings) : s_(settings) {}

void NodeGuard::enrol(const NodeSpec& node, double nowSeconds) {
  NodeState state;
  state.spec = node;
  state.rttLastSeen = nowSeconds;
  nodes_[node.id] = std::move(state);
}

bool NodeGuard::managed(const NodeState& node) const {
  const LinkSettings& l = s_.links;
  const NodeSpec& spec = node.spec;
  return s_.enabled && l.enabled && !spec.virtualInPlan && spec.capacityDownMbps > 0 &&
         spec.capacityUpMbps > 0 &&
         (l.allNodes || std::find(l.nodes.begin(), l.nodes.end(), spec.id) != l.nodes.end());
}

std::optional<NodeGuard::Candidate> NodeGuard::decide(const NodeState& node,
                                                      const NodeSignal& signal,
                                                      std::optional<double> cpuMaxPct,
                                                      double nowSeconds) const {
  const LinkSettings& l = s_.links;
  const double idle = std::min(node.down.idleSeconds(nowSeconds), node.up.idleSeconds(nowSeconds));
  const bool sustainedIdle =
      node.down.idleSince && node.up.idleSince && idle >= l.idleMinMinutes * 60.0;
  const double util = std::max(node.down.pct(), node.up.pct());
  const bool bad = qooBad(s_.qoo, signal.qooDown) || qooBad(s_.qoo, signal.qooUp);
  const bool rttMissing = nowSeconds - node.rttLastSeen >= l.rttMissingSeconds;
  if (node.isVirtual) {  // N3
    std::string why;
    if (util >= l.unvirtualizeUtilPct) {
      why = fmt::format("traffic: util {:.1f} % >= {} %", util, l.unvirtualizeUtilPct);
    } else if (bad) {
      why = fmt::format("poor quality: QoO below {}", s_.qoo.minScore);
    } else if (rttMissing && !sustainedIdle) {
      why = fmt::format("no RTT for {:.0f} s while not idle", nowSeconds - node.rttLastSeen);
    } else {
      return std::nullopt;
    }
    return Candidate{{node.spec.id, false, std::move(why)}, util};
  }
  // N2, N4, N5
  if (node.history.inDwell(nowSeconds, l.minStateDwellMinutes) ||
      node.history.limited(l.maxLinkChangesPerHour) || nowSeconds < node.backoffUntil ||
      !sustainedIdle || !cpuAllowsSaving(s_.cpu, cpuMaxPct) || bad) {
    return std::nullopt;
  }
  return Candidate{
      {node.spec.id, true,
       fmt::format("idle {:.1f} min (util {:.1f} % < {} %), busiest core {}", idle / 60, util,
                   l.idleUtilPct, cpuMaxPct ? fmt::format("{:.0f} %", *cpuMaxPct) : "unknown")},
      idle};
}

std::vector<NodeChange> NodeGuard::tick(const std::map<std::string, NodeSignal>& signals,
                                        std::optional<double> cpuMaxPct, double nowSeconds) {
  const LinkSettings& l = s_.links;
  std::vector<Candidate> restores, virtualises;
  static const NodeSignal kSilent;
  for (auto& [id, node] : nodes_) {
    auto found = signals.find(id);
    const NodeSignal& signal = found == signals.end() ? kSilent : found->second;
    node.down.update(signal.downMbps, node.spec.capacityDownMbps, l.idleUtilPct, nowSeconds);
    node.up.update(signal.upMbps, node.spec.capacityUpMbps, l.idleUtilPct, nowSeconds);
    if (signal.rttSeen) {
      node.rttLastSeen = nowSeconds;
    }
    node.history.prune(nowSeconds);
    if (!managed(node)) {
      continue;
    }
    if (auto c = decide(node, signal, cpuMaxPct, nowSeconds)) {
      (c->change.toVirtual ? virtualises : restores).push_back(std::move(*c));
    }
  }
  auto byRank = [](const Candidate& a, const Candidate& b) { return a.rank > b.rank; };
  std::stable_sort(restores.begin(), restores.end(), byRank);
  std::stable_sort(virtualises.begin(), virtualises.end(), byRank);
  std::vector<NodeChange> out;
  for (Candidate& c : restores) {
    if (out.size() < kMaxNodeChangesPerTick) {
      out.push_back(std::move(c.change));
    }
  }
  size_t virtualNow = virtualCount();
  for (Candidate& c : virtualises) {
    if (out.size() < kMaxNodeChangesPerTick && virtualNow < kMaxVirtualNodes) {
      out.push_back(std::move(c.change));
      ++virtualNow;
    }
  }
  return out;
}

void NodeGuard::reportApplied(const NodeChange& change, bool ok, double nowSeconds) {
  auto it = nodes_.find(change.nodeId);
  if (it == nodes_.end()) {
    return;
  }
  NodeState& node = it->second;
  if (!ok) {
    if (change.toVirtual) {
      node.backoffUntil = nowSeconds + kFailureBackoffSeconds;
    }
    return;
  }
  if (node.isVirtual != change.toVirtual) {
    node.isVirtual = change.toVirtual;
    node.history.record(nowSeconds);
  }
}

std::optional<bool> NodeGuard::isVirtual(const std::string& nodeId) const {
  auto it = nodes_.find(nodeId);
  return it == nodes_.end() ? std::nullopt : std::optional<bool>(it->second.isVirtual);
}

size_t NodeGuard::virtualCount() const {
  return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(),
                                           [](const auto& n) { return n.second.isVirtual; }));
}

void NodeGuard::remove(const std::string& nodeId) {
  nodes_.erase(nodeId);
}

const NodeSpec* NodeGuard::spec(const std::string& nodeId) const {
  auto it = nodes_.find(nodeId);
  return it == nodes_.end() ? nullptr : &it->second.spec;
}

void NodeGuard::restore(const std::string& nodeId, bool isVirtual) {
  if (auto it = nodes_.find(nodeId); it != nodes_.end()) {
    it->second.isVirtual = isVirtual;
  }
}

std::optional<NodeGuard::View> NodeGuard::view(const std::string& nodeId, double nowSeconds) const {
  auto it = nodes_.find(nodeId);
  if (it == nodes_.end()) {
    return std::nullopt;
  }
  const NodeState& n = it->second;
  const bool bothIdle = n.down.idleSince && n.up.idleSince;
  return View{
      n.isVirtual,
      managed(n),
      n.down.ewmaPct,
      n.up.ewmaPct,
      bothIdle ? std::min(n.down.idleSeconds(nowSeconds), n.up.idleSeconds(nowSeconds)) : 0.0,
      n.history.lastChange};
}

std::vector<std::string> NodeGuard::ids() const {
  std::vector<std::string> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) {
    out.push_back(id);
  }
  return out;
}

}  // namespace sluice::treeguard
