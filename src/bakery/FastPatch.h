#pragma once
// Internal to the bakery (not part of its interface): the fast path as a patch of the active plan.
//
// fastDiff (Bakery.h) returns a whole stabilized plan; Bakery::apply instead patches its active
// plan in place with what changed (O(changes)), and hands the same patch to the background state
// writer, which keeps its own copy of the active state. No copy of the plan on the latency path.

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "bakery/Bakery.h"

namespace sluice::bakery::detail {

/// The entries of a stabilized plan that differ from the active plan it was computed against.
struct PlanPatch {
  struct Class {
    uint32_t iface = 0;  ///< QueuePlan::interfaces index
    uint32_t queue = 0;  ///< InterfacePlan::queues index
    uint32_t index = 0;  ///< HtbQueuePlan::classes index
    plan::HtbClassPlan cls;
  };
  std::vector<Class> classes;
  std::vector<std::pair<uint32_t, plan::CircuitPlacement>> circuits;  ///< active index, new value
  std::vector<std::pair<uint32_t, plan::NodePlacement>> nodes;        ///< index, new value
  std::optional<std::vector<uint32_t>> queueCpu;
  std::vector<IpNet> removals;                ///< prefixes to drop, sorted
  std::vector<plan::AddressMapping> upserts;  ///< new or changed mappings, sorted by prefix
};

struct FastPatch {
  PlanPatch patch;
  ChangeSet changes;
};

/// Checks once (O(tree)) that `active` is `last` stabilized: same structure position by position,
/// same parameters, the same circuits (by ID), nodes (by name) and prefixes. Returns last circuit
/// index -> active circuit index, or nullopt. Bakery::apply computes it when it takes a new
/// `last`; the fast path then reads only the input and `last`, and `active` where something
/// changed.
std::optional<std::vector<int32_t>> correspondence(const plan::QueuePlan& last,
                                                   const plan::QueuePlan& active);

/// fastDiff's walk: the patch that turns `active` into what fastDiff's `stabilized` would be, and
/// the ChangeSet. `circuitMap` is correspondence(last, active). nullopt when the input's
/// structure differs from `last` (fastDiff's preconditions).
std::optional<FastPatch> fastPatch(const plan::QueuePlan& last, const plan::QueuePlan& active,
                                   const std::vector<int32_t>& circuitMap,
                                   const plan::QueuePlan& input);

/// Applies `patch` to `plan` (the plan fastPatch was computed against, or an equal copy).
/// O(changed entries), plus O(addresses) when more than a few addresses change.
void applyPatch(plan::QueuePlan& plan, const PlanPatch& patch);

}  // namespace sluice::bakery::detail
