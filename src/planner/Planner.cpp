// buildPlan: runs the planning stages of PlanTree.h and turns the working tree into a QueuePlan.

#include "planner/Planner.h"

#include <algorithm>

#include <fmt/format.h>

#include "planner/HtbMath.h"
#include "planner/PlanTree.h"

namespace sluice::plan {

namespace {

uint16_t htbMajorOf(Direction dir, uint16_t queue, const QueuePlan& plan) {
  const uint32_t offset = (plan.onAStick && dir == Direction::Upload) ? plan.queueCount : 0;
  return static_cast<uint16_t>(queue + offset + 1);
}

void fillPlacements(const model::Model& model, const detail::PlanTree& tree, QueuePlan& plan) {
  plan.nodes.reserve(tree.nodes.size());
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const detail::TreeNode& node = tree.nodes[i];
    NodePlacement placed;
    placed.name = node.generated
                      ? detail::generatedNodeName(static_cast<uint32_t>(i - tree.firstGenerated))
                      : model.network.nodes[node.modelIndex].name;
    placed.modelIndex = node.modelIndex;
    placed.generated = node.generated;
    placed.isVirtual = node.isVirtual;
    placed.queue = node.queue;
    if (!node.isVirtual) {
      placed.downClass = TcHandle{htbMajorOf(Direction::Download, node.queue, plan), node.minor};
      placed.upClass = TcHandle{htbMajorOf(Direction::Upload, node.queue, plan), node.minor};
    }
    placed.downloadMaxMbps = node.downMax;
    placed.uploadMaxMbps = node.upMax;
    plan.nodes.push_back(std::move(placed));
  }
  const auto& circuits = model.shaped.circuits;
  plan.circuits.reserve(circuits.size());
  for (size_t i = 0; i < circuits.size(); ++i) {
    const detail::TreeCircuit& c = tree.circuits[i];
    CircuitPlacement placed;
    placed.circuitId = circuits[i].id;
    placed.modelIndex = static_cast<int32_t>(i);
    placed.parentPlacement = c.logicalParent;
    placed.queue = c.queue;
    placed.downClass = TcHandle{htbMajorOf(Direction::Download, c.queue, plan), c.minor};
    placed.upClass = TcHandle{htbMajorOf(Direction::Upload, c.queue, plan), c.minor};
    placed.downloadMinMbps = c.downMin;
    placed.uploadMinMbps = c.upMin;
    placed.downloadMaxMbps = c.downMax;
    placed.uploadMaxMbps = c.upMax;
    plan.circuits.push_back(std::move(placed));
  }
}

}  // namespace

std::optional<QueuePlan> buildPlan(const PlannerInput& input, Diagnostics& diags) {
  const config::Config& config = input.config;
  const model::Model& model = input.model;
  QueuePlan plan;
  plan.onAStick = config.onAStick();
  plan.queueCount = computeQueueCount(input.availableTxQueues, input.cpuCount,
                                      config.queues.overrideAvailableQueues, plan.onAStick);
  const uint32_t cpus = std::max<uint32_t>(input.cpuCount, 1);
  plan.queueCpu.resize(plan.queueCount);
  for (uint32_t q = 0; q < plan.queueCount; ++q) {
    plan.queueCpu[q] = q % cpus;
  }

  detail::PlanTree tree;
  if (!detail::buildTree(model, config, plan.queueCount, tree, diags)) {
    return std::nullopt;
  }
  detail::fixBandwidth(model, tree, diags);
  detail::assignQueues(model, config.queues.useBinpacking, tree);
  detail::squashGuarantees(model, tree, diags);
  if (!detail::allocateClasses(model, config, tree, plan, diags)) {
    return std::nullopt;
  }
  const HolderKind holder = config.sluice.queueHolderTbf ? HolderKind::Tbf : HolderKind::None;
  uint32_t txQueuesUsed = input.availableTxQueues;
  for (const InterfacePlan& iface : plan.interfaces) {
    for (const HtbQueuePlan& hq : iface.queues) {
      txQueuesUsed = std::max<uint32_t>(txQueuesUsed, hq.txQueue + 1u);
    }
  }
  if (holder != HolderKind::None && txQueuesUsed > kMaxHolderTxQueues) {
    diags.error(SourceLocation{}, "planner-holder-tx-queues",
                fmt::format("[sluice] queue_holder = \"{}\" covers {} tx queues at most; the "
                            "plan uses {}",
                            holderKindName(holder), kMaxHolderTxQueues, txQueuesUsed),
                holderKindName(holder));
    return std::nullopt;
  }
  setHolder(plan, holder);
  fillPlacements(model, tree, plan);
  detail::buildAddressMap(model, plan);
  return plan;
}

}  // namespace sluice::plan
