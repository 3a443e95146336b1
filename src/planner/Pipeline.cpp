#include "planner/Pipeline.h"

#include <algorithm>
#include <thread>

#include "planner/Planner.h"

namespace sluice::plan {

PipelineResult runPipeline(const PipelineOptions& options) {
  PipelineResult result{model::loadInputs(options.paths)};
  result.cpus = options.cpus.value_or(std::max(1u, std::thread::hardware_concurrency()));
  if (!result.inputs.ok()) {
    return result;
  }
  if (options.beforePlan) {
    options.beforePlan(result.inputs);
    if (!result.inputs.ok()) {
      return result;
    }
  }
  result.probe =
      probeTxQueues(result.inputs.config, options.txQueues, result.cpus, options.sysfsRoot);
  const PlannerInput input{result.inputs.config, result.inputs.model, result.probe.txQueues,
                           result.cpus};
  result.plan = buildPlan(input, result.inputs.diagnostics);
  if (result.plan) {
    result.queueSource = describeQueueCount(result.inputs.config, result.probe, result.cpus,
                                            result.plan->queueCount);
  }
  return result;
}

}  // namespace sluice::plan
