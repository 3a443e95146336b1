// Bandwidth fix-ups (PlanTree.h: fixBandwidth, squashGuarantees).

#include <algorithm>

#include <fmt/format.h>

#include "planner/PlanTree.h"

namespace sluice::plan::detail {

namespace {

/// Squashed guarantees, LibreQoS's two steps: 1 Mbps, then 10 kbit/s.
constexpr double kSquashedMinMbps = 1.0;
constexpr double kSquashedTinyMinMbps = 0.01;
/// Tolerance when comparing sums of Mbps values (sums of decimal fractions are inexact).
constexpr double kMbpsEpsilon = 1e-9;

std::string nodeName(const model::Model& model, const PlanTree& tree, int32_t index) {
  const TreeNode& node = tree.nodes[index];
  if (node.generated) {
    return generatedNodeName(static_cast<uint32_t>(index - tree.firstGenerated));
  }
  return model.network.nodes[node.modelIndex].name;
}

SourceLocation nodeWhere(const model::Model& model, const PlanTree& tree, int32_t index) {
  const TreeNode& node = tree.nodes[index];
  return node.generated ? SourceLocation{} : model.network.nodes[node.modelIndex].where;
}

/// One direction's node fix-up; returns true when the node's own max had to be capped.
bool fixNodeDirection(double own, double parentMax, double parentRate, double& max, double& rate) {
  bool capped = false;
  if (!(own > 0)) {
    own = parentMax;
  } else if (own > parentMax + kMbpsEpsilon) {
    own = parentMax;
    capped = true;
  }
  max = own;
  rate = std::min(own, parentRate);
  return capped;
}

struct CapTally {
  std::vector<uint32_t> count;  ///< per class parent (last slot: the link class)
  std::vector<int32_t> first;   ///< first circuit capped there
  explicit CapTally(size_t slots) : count(slots, 0), first(slots, -1) {}
  void add(size_t slot, int32_t circuit) {
    if (count[slot]++ == 0) {
      first[slot] = circuit;
    }
  }
};

}  // namespace

void fixBandwidth(const model::Model& model, PlanTree& tree, Diagnostics& diags) {
  // Nodes: tree order is parents before children (generated nodes are top-level, at the end).
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    TreeNode& node = tree.nodes[i];
    const bool top = node.classParent == kUnderLink;
    const TreeNode* parent = top ? nullptr : &tree.nodes[node.classParent];
    const double ownDown =
        node.generated ? node.downMax : model.network.nodes[node.modelIndex].downloadMbps;
    const double ownUp =
        node.generated ? node.upMax : model.network.nodes[node.modelIndex].uploadMbps;
    const bool cappedDown =
        fixNodeDirection(ownDown, top ? tree.linkDownMbps : parent->downMax,
                         top ? tree.linkDownMbps : parent->downRate, node.downMax, node.downRate);
    const bool cappedUp =
        fixNodeDirection(ownUp, top ? tree.linkUpMbps : parent->upMax,
                         top ? tree.linkUpMbps : parent->upRate, node.upMax, node.upRate);
    if ((cappedDown || cappedUp) && !node.isVirtual) {
      const auto idx = static_cast<int32_t>(i);
      diags.warning(
          nodeWhere(model, tree, idx), "planner-node-rate-capped",
          fmt::format("node '{}' is faster than {} ({}/{} Mbps); capped to {}/{} Mbps",
                      nodeName(model, tree, idx),
                      top ? std::string("the link") : nodeName(model, tree, node.classParent),
                      ownDown, ownUp, node.downMax, node.upMax));
    }
  }

  // Circuits: cap the max at the class parent's max, min at the max.
  const size_t linkSlot = tree.nodes.size();
  CapTally downCaps(linkSlot + 1);
  CapTally upCaps(linkSlot + 1);
  const auto& circuits = model.shaped.circuits;
  for (size_t i = 0; i < circuits.size(); ++i) {
    TreeCircuit& c = tree.circuits[i];
    const model::Circuit& src = circuits[i];
    const int32_t capBy = c.logicalParent < 0 ? tree.firstGenerated : c.classParent;
    const size_t slot = capBy == kUnderLink ? linkSlot : static_cast<size_t>(capBy);
    const double parentDown = capBy == kUnderLink ? tree.linkDownMbps : tree.nodes[capBy].downMax;
    const double parentUp = capBy == kUnderLink ? tree.linkUpMbps : tree.nodes[capBy].upMax;
    c.downMax = src.downloadMaxMbps;
    c.upMax = src.uploadMaxMbps;
    if (c.downMax > parentDown + kMbpsEpsilon) {
      c.downMax = parentDown;
      downCaps.add(slot, static_cast<int32_t>(i));
    }
    if (c.upMax > parentUp + kMbpsEpsilon) {
      c.upMax = parentUp;
      upCaps.add(slot, static_cast<int32_t>(i));
    }
    c.downMin = std::min(src.downloadMinMbps, c.downMax);
    c.upMin = std::min(src.uploadMinMbps, c.upMax);
  }
  for (int dir = 0; dir < 2; ++dir) {
    const CapTally& tally = dir == 0 ? downCaps : upCaps;
    for (size_t slot = 0; slot <= linkSlot; ++slot) {
      if (tally.count[slot] == 0) {
        continue;
      }
      const model::Circuit& first = circuits[tally.first[slot]];
      const bool link = slot == linkSlot;
      const double cap = dir == 0 ? tree.circuits[tally.first[slot]].downMax
                                  : tree.circuits[tally.first[slot]].upMax;
      diags.warning(first.where, "planner-circuit-rate-capped",
                    fmt::format("{} circuit(s) under '{}' have a {} max above its {} Mbps; capped "
                                "(first: circuit '{}', {} Mbps)",
                                tally.count[slot],
                                link ? std::string("the link")
                                     : nodeName(model, tree, static_cast<int32_t>(slot)),
                                dir == 0 ? "download" : "upload", cap, first.id,
                                dir == 0 ? first.downloadMaxMbps : first.uploadMaxMbps),
                    first.id);
    }
  }
}

void squashGuarantees(const model::Model& model, PlanTree& tree, Diagnostics& diags) {
  const size_t nodeCount = tree.nodes.size();
  std::vector<double> sumDown(nodeCount, 0), sumUp(nodeCount, 0);
  std::vector<uint32_t> count(nodeCount, 0);
  for (const TreeCircuit& c : tree.circuits) {
    if (c.classParent == kUnderLink) {
      continue;
    }
    sumDown[c.classParent] += c.downMin;
    sumUp[c.classParent] += c.upMin;
    ++count[c.classParent];
  }
  // Per node and direction: 0 = fine, 1 = squash to 1 Mbps, 2 = squash to 0.01 Mbps.
  std::vector<uint8_t> squashDown(nodeCount, 0), squashUp(nodeCount, 0);
  bool any = false;
  for (size_t n = 0; n < nodeCount; ++n) {
    const TreeNode& node = tree.nodes[n];
    for (int dir = 0; dir < 2; ++dir) {
      const double sum = dir == 0 ? sumDown[n] : sumUp[n];
      const double rate = dir == 0 ? node.downRate : node.upRate;
      if (count[n] == 0 || sum <= rate + kMbpsEpsilon) {
        continue;
      }
      const bool tiny = count[n] * kSquashedMinMbps > rate + kMbpsEpsilon;
      (dir == 0 ? squashDown : squashUp)[n] = tiny ? 2 : 1;
      any = true;
      const auto idx = static_cast<int32_t>(n);
      diags.warning(
          nodeWhere(model, tree, idx), "planner-min-squashed",
          fmt::format("the {} circuits under '{}' guarantee {} Mbps {}, more than the "
                      "node's {} Mbps; their minimums were lowered to {} Mbps",
                      count[n], nodeName(model, tree, idx), sum, dir == 0 ? "download" : "upload",
                      rate, tiny ? kSquashedTinyMinMbps : kSquashedMinMbps),
          nodeName(model, tree, idx));
    }
  }
  if (!any) {
    return;
  }
  for (TreeCircuit& c : tree.circuits) {
    if (c.classParent == kUnderLink) {
      continue;
    }
    if (const uint8_t s = squashDown[c.classParent]; s != 0) {
      c.downMin = std::min(s == 2 ? kSquashedTinyMinMbps : kSquashedMinMbps, c.downMax);
    }
    if (const uint8_t s = squashUp[c.classParent]; s != 0) {
      c.upMin = std::min(s == 2 ? kSquashedTinyMinMbps : kSquashedMinMbps, c.upMax);
    }
  }
}

}  // namespace sluice::plan::detail
