#pragma once
// The planner: validated model + config → QueuePlan (DESIGN §4). Pure computation, no kernel.

#include <cstdint>
#include <optional>

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "model/Model.h"
#include "planner/QueuePlan.h"

namespace sluice::plan {

struct PlannerInput {
  const config::Config& config;
  const model::Model& model;  ///< already validated (model::validateModel without errors)
  /// Usable tx queues of the shaping interface(s): the minimum over them (before the on-a-stick
  /// halving). The caller probes /sys/class/net/<if>/queues or takes it from the command line.
  uint32_t availableTxQueues = 1;
  uint32_t cpuCount = 1;  ///< CPUs available for shaping (queue i is served by CPU i % cpuCount)
};

/// Builds the plan. Same input → identical plan (deterministic, no hash-order dependence).
/// Errors (e.g. more than 0xFFFF minors in one queue, naming the queue) go to `diags` and yield
/// nullopt; warnings (oversubscription squashing, capped ceilings, flattened depth) go to `diags`
/// and the plan is still returned.
std::optional<QueuePlan> buildPlan(const PlannerInput& input, Diagnostics& diags);

}  // namespace sluice::plan
