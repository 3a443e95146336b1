// Stage 1 of the planner: the node tree as HTB will see it (PlanTree.h).

#include <fmt/format.h>

#include "planner/HtbMath.h"
#include "planner/PlanTree.h"

namespace sluice::plan::detail {

std::string generatedNodeName(uint32_t i) {
  return fmt::format("Generated_PN_{}", i + 1);
}

namespace {

/// Resolves the node a circuit names: `Parent Node` by name, else `Parent Node ID` by id.
/// Returns -1 for an unparented circuit, -2 for a name that does not exist.
int32_t resolveParent(const model::Network& network, const model::Circuit& circuit) {
  if (!circuit.parentNode.empty()) {
    const int32_t byName = network.find(circuit.parentNode);
    return byName == model::kNoNode ? -2 : byName;
  }
  if (!circuit.parentNodeId.empty()) {
    if (const auto it = network.byId.find(circuit.parentNodeId); it != network.byId.end()) {
      return it->second;
    }
  }
  return -1;
}

void placeNodes(const model::Network& network, PlanTree& tree, Diagnostics& diags) {
  const size_t count = network.nodes.size();
  tree.nodes.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const model::Node& src = network.nodes[i];
    TreeNode& node = tree.nodes[i];
    node.modelIndex = static_cast<int32_t>(i);
    node.isVirtual = src.isVirtual;
    node.logicalParent = src.parent;
    // Nodes are stored parents-before-children, so the parent's classParent is final here.
    int32_t anchor = kUnderLink;
    if (src.parent >= 0) {
      const TreeNode& parent = tree.nodes[src.parent];
      anchor = parent.isVirtual ? parent.classParent : src.parent;
    }
    node.classParent = anchor;
    if (node.isVirtual) {
      continue;
    }
    node.classDepth = anchor == kUnderLink ? 0 : tree.nodes[anchor].classDepth + 1;
    if (node.classDepth > kKeptSiteLevels) {
      // anchor sits at depth kKeptSiteLevels (the flattened level); hang under its parent.
      node.classParent = tree.nodes[anchor].classParent;
      node.classDepth = kKeptSiteLevels;
      node.flattened = true;
      diags.warning(
          src.where, "planner-depth-flattened",
          fmt::format("node '{}' is deeper than HTB's {} levels allow; its class is "
                      "attached to '{}' (flattened below the {}th site level)",
                      src.name, kHtbMaxDepth, network.nodes[tree.nodes[anchor].classParent].name,
                      kKeptSiteLevels),
          src.name);
    }
  }
}

}  // namespace

bool buildTree(const model::Model& model, const config::Config& config, uint16_t queueCount,
               PlanTree& tree, Diagnostics& diags) {
  const auto& network = model.network;
  const auto& circuits = model.shaped.circuits;
  tree.queueCount = queueCount;
  tree.linkDownMbps = config.queues.downlinkBandwidthMbps;
  tree.linkUpMbps = config.queues.uplinkBandwidthMbps;
  tree.nodes.reserve(network.nodes.size() + queueCount);
  placeNodes(network, tree, diags);

  bool ok = true;
  bool anyUnparented = false;
  tree.circuits.resize(circuits.size());
  for (size_t i = 0; i < circuits.size(); ++i) {
    const int32_t parent = resolveParent(network, circuits[i]);
    TreeCircuit& circuit = tree.circuits[i];
    if (parent == -2) {
      diags.error(
          circuits[i].parentWhere.file.empty() ? circuits[i].where : circuits[i].parentWhere,
          "planner-unknown-parent",
          fmt::format("circuit '{}' names parent node '{}', which network.json does not "
                      "have",
                      circuits[i].id, circuits[i].parentNode),
          circuits[i].parentNode);
      ok = false;
      continue;
    }
    circuit.logicalParent = parent;
    if (parent < 0) {
      anyUnparented = true;
      continue;  // attached to a generated node by assignQueues
    }
    const TreeNode& node = tree.nodes[parent];
    circuit.classParent = node.isVirtual ? node.classParent : parent;
  }

  if (anyUnparented) {
    tree.firstGenerated = static_cast<int32_t>(tree.nodes.size());
    for (uint16_t q = 0; q < queueCount; ++q) {
      TreeNode node;
      node.generated = true;
      node.queue = q;
      node.downMax = config.queues.generatedPnDownloadMbps;
      node.upMax = config.queues.generatedPnUploadMbps;
      tree.nodes.push_back(node);
    }
  }
  return ok;
}

}  // namespace sluice::plan::detail
