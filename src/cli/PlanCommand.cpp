// sluice plan: print the queue plan (summary, JSON or tc batch commands).

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/Commands.h"
#include "planner/Pipeline.h"
#include "planner/PlanJson.h"
#include "planner/PlanSummary.h"
#include "planner/TcBatch.h"

namespace sluice::cli {

namespace {

struct PlanOptions {
  plan::PipelineOptions pipeline;
  std::string format = "summary";
  uint32_t queues = 0;
  uint32_t cpus = 0;
};

void run(PlanOptions& options) {
  if (options.queues > 0) {
    options.pipeline.txQueues = options.queues;
  }
  if (options.cpus > 0) {
    options.pipeline.cpus = options.cpus;
  }
  const plan::PipelineResult result = plan::runPipeline(options.pipeline);
  // Diagnostics go to stderr: stdout carries the plan.
  for (const Diagnostic& d : result.inputs.diagnostics.all()) {
    std::fputs((d.toString() + "\n").c_str(), stderr);
  }
  if (!result.ok()) {
    fmt::print(stderr, "no plan: {} error(s)\n", result.inputs.diagnostics.errorCount());
    setExitCode(1);
    return;
  }
  std::string text;
  if (options.format == "json") {
    text = plan::renderPlanJson(*result.plan);
  } else if (options.format == "tc-batch") {
    text = plan::renderTcBatch(*result.plan);
  } else {
    text = plan::renderPlanSummary(*result.plan, result.queueSource);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  setExitCode(0);
}

}  // namespace

void addPlanCommand(CLI::App& app) {
  auto options = std::make_shared<PlanOptions>();
  CLI::App* cmd = app.add_subcommand("plan", "Print the queue plan for the inputs");
  cmd->add_option("--config", options->pipeline.paths.config, "lqos.conf")->required();
  cmd->add_option("--network", options->pipeline.paths.network,
                  "network.json (default: from the config)");
  cmd->add_option("--devices", options->pipeline.paths.devices,
                  "ShapedDevices.csv (default: from the config)");
  cmd->add_option("--format", options->format, "summary, json or tc-batch")
      ->check(CLI::IsMember({"summary", "json", "tc-batch"}));
  cmd->add_option("--queues", options->queues,
                  "Available tx queues (default: /sys/class/net/<if>/queues, else "
                  "override_available_queues, else the CPU count)")
      ->check(CLI::Range(1, 0x7FFE));
  cmd->add_option("--cpus", options->cpus, "Shaping CPUs (default: all online CPUs)")
      ->check(CLI::Range(1, 65536));
  cmd->callback([options] { run(*options); });
}

}  // namespace sluice::cli
