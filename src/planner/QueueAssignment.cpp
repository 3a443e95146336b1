// Spreading the tree over the shaping queues (PlanTree.h: assignQueues).

#include <algorithm>
#include <numeric>

#include "planner/PlanTree.h"

namespace sluice::plan::detail {

namespace {

/// Weight of a circuit for binpacking: its download + upload max (Mbps, after fix-ups). LibreQoS
/// weighs by max rate; both directions share the queue index, so both count.
double circuitWeight(const TreeCircuit& c) {
  return c.downMax + c.upMax;
}

/// Index of the lightest queue (ties: the lowest index).
uint16_t lightest(const std::vector<double>& load) {
  return static_cast<uint16_t>(std::min_element(load.begin(), load.end()) - load.begin());
}

void attachUnparented(bool binpack, PlanTree& tree) {
  if (tree.firstGenerated < 0) {
    return;
  }
  const uint16_t q = tree.queueCount;
  std::vector<int32_t> unparented;
  for (size_t i = 0; i < tree.circuits.size(); ++i) {
    if (tree.circuits[i].logicalParent < 0) {
      unparented.push_back(static_cast<int32_t>(i));
    }
  }
  std::vector<double> load(q, 0);
  if (binpack) {
    // Heaviest first, ties by file order (stable sort of file-ordered indices).
    std::stable_sort(unparented.begin(), unparented.end(), [&](int32_t a, int32_t b) {
      return circuitWeight(tree.circuits[a]) > circuitWeight(tree.circuits[b]);
    });
  }
  for (size_t k = 0; k < unparented.size(); ++k) {
    TreeCircuit& c = tree.circuits[unparented[k]];
    const uint16_t g = binpack ? lightest(load) : static_cast<uint16_t>(k % q);
    load[g] += circuitWeight(c);
    c.logicalParent = tree.firstGenerated + g;
    c.classParent = c.logicalParent;
  }
}

}  // namespace

void assignQueues(const model::Model& model, bool useBinpacking, PlanTree& tree) {
  const uint16_t q = tree.queueCount;
  attachUnparented(useBinpacking, tree);

  // Virtual nodes with circuits that hang directly under the link class are items of their own.
  std::vector<uint8_t> ownsLinkCircuits(tree.nodes.size(), 0);
  for (const TreeCircuit& c : tree.circuits) {
    if (c.classParent == kUnderLink && c.logicalParent >= 0) {
      ownsLinkCircuits[c.logicalParent] = 1;
    }
  }
  std::vector<int32_t> items;
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    TreeNode& node = tree.nodes[i];
    const auto self = static_cast<int32_t>(i);
    if (node.generated) {
      node.queueItem = self;  // queue fixed by buildTree
    } else if (node.classParent != kUnderLink) {
      node.queueItem = tree.nodes[node.classParent].queueItem;
    } else if (!node.isVirtual || ownsLinkCircuits[i]) {
      node.queueItem = self;
      items.push_back(self);
    } else {
      node.queueItem = -1;
    }
  }

  std::vector<double> weight(tree.nodes.size(), 0);
  for (TreeCircuit& c : tree.circuits) {
    c.queueItem =
        c.classParent == kUnderLink ? c.logicalParent : tree.nodes[c.classParent].queueItem;
    if (c.queueItem >= 0) {
      weight[c.queueItem] += circuitWeight(c);
    }
  }

  std::vector<double> load(q, 0);
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    if (tree.nodes[i].generated) {
      load[tree.nodes[i].queue] += weight[i];
    }
  }
  if (useBinpacking) {
    auto name = [&](int32_t i) -> const std::string& {
      return model.network.nodes[tree.nodes[i].modelIndex].name;
    };
    std::sort(items.begin(), items.end(), [&](int32_t a, int32_t b) {
      if (weight[a] != weight[b]) {
        return weight[a] > weight[b];
      }
      return name(a) < name(b);
    });
    for (const int32_t item : items) {
      const uint16_t target = lightest(load);
      tree.nodes[item].queue = target;
      load[target] += weight[item];
    }
  } else {
    for (size_t k = 0; k < items.size(); ++k) {
      tree.nodes[items[k]].queue = static_cast<uint16_t>(k % q);
    }
  }

  for (TreeNode& node : tree.nodes) {
    node.queue = node.queueItem >= 0 ? tree.nodes[node.queueItem].queue : 0;
  }
  for (TreeCircuit& c : tree.circuits) {
    c.queue = c.queueItem >= 0 ? tree.nodes[c.queueItem].queue : 0;
  }
}

}  // namespace sluice::plan::detail
