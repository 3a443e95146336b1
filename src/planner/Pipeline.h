#pragma once
// Inputs → plan in one call, as `sluice check`, `sluice plan` and sluiced all run it: load and
// validate the three files (model::loadInputs), probe the tx queues (QueueProbe.h), build the plan.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "model/Inputs.h"
#include "planner/QueuePlan.h"
#include "planner/QueueProbe.h"

namespace sluice::plan {

struct PipelineOptions {
  model::InputPaths paths;
  std::optional<uint32_t> txQueues;  ///< --queues: skip the sysfs probe
  std::optional<uint32_t> cpus;      ///< --cpus: default std::thread::hardware_concurrency()
  std::string sysfsRoot = "/sys/class/net";
  /// Called on inputs that loaded without errors, right before planning (sluiced lays its
  /// overlay here: model/Overlay.h). May add diagnostics; an error added here stops the plan.
  std::function<void(model::Inputs&)> beforePlan;
};

struct PipelineResult {
  model::Inputs inputs;           ///< diagnostics include the planner's
  std::optional<QueuePlan> plan;  ///< set when the inputs and the plan had no errors
  TxQueueProbe probe;
  uint32_t cpus = 1;
  std::string queueSource;  ///< describeQueueCount() of the plan (empty without a plan)
  bool ok() const { return plan.has_value() && !inputs.diagnostics.hasErrors(); }
};

/// Loads, validates and plans. The planner runs only when the inputs have no errors.
PipelineResult runPipeline(const PipelineOptions& options);

}  // namespace sluice::plan
