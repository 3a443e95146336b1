// sluice check: validate the inputs, plan them, report every problem and the per-queue load.

#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/SocketPath.h"
#include "cli/Commands.h"
#include "cli/RemoteCheck.h"
#include "planner/Pipeline.h"
#include "planner/PlanSummary.h"

namespace sluice::cli {

namespace {

struct CheckOptions {
  plan::PipelineOptions pipeline;
  bool json = false;
  std::string socket{api::kDefaultSocketPath};
};

nlohmann::ordered_json diagnosticJson(const Diagnostic& d) {
  return {{"severity", d.severity == Severity::Error ? "error" : "warning"},
          {"file", d.where.file},
          {"line", d.where.line},
          {"column", d.where.column},
          {"category", d.category},
          {"message", d.message},
          {"value", d.value}};
}

void printJson(const plan::PipelineResult& r) {
  const Diagnostics& diags = r.inputs.diagnostics;
  nlohmann::ordered_json out;
  out["ok"] = r.ok();
  out["errors"] = diags.errorCount();
  out["warnings"] = diags.warningCount();
  const auto& model = r.inputs.model;
  out["counts"] = {{"nodes", model.network.nodes.size()},
                   {"circuits", model.shaped.circuits.size()},
                   {"devices", model.shaped.deviceCount()},
                   {"addresses", model.shaped.addressCount()}};
  if (r.plan) {
    nlohmann::ordered_json queues = nlohmann::ordered_json::array();
    for (const plan::QueueLoad& l : plan::queueLoads(*r.plan)) {
      queues.push_back({{"queue", l.queue},
                        {"cpu", l.cpu},
                        {"nodes", l.nodes},
                        {"circuits", l.circuits},
                        {"downloadCeilMbps", l.downCeilMbps},
                        {"uploadCeilMbps", l.upCeilMbps}});
    }
    out["queueCount"] = r.plan->queueCount;
    out["queueSource"] = r.queueSource;
    out["queues"] = std::move(queues);
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Diagnostic& d : diags.all()) {
    list.push_back(diagnosticJson(d));
  }
  out["diagnostics"] = std::move(list);
  std::fputs((out.dump(1) + "\n").c_str(), stdout);
}

void printText(const plan::PipelineResult& r) {
  const Diagnostics& diags = r.inputs.diagnostics;
  for (const Diagnostic& d : diags.all()) {
    std::fputs((d.toString() + "\n").c_str(), stdout);
  }
  const auto& model = r.inputs.model;
  fmt::print("nodes: {}\ncircuits: {}\ndevices: {}\naddresses: {}\n", model.network.nodes.size(),
             model.shaped.circuits.size(), model.shaped.deviceCount(),
             model.shaped.addressCount());
  if (r.plan) {
    fmt::print("queues: {}\n", r.queueSource);
    for (const plan::QueueLoad& l : plan::queueLoads(*r.plan)) {
      fmt::print("queue {} (cpu {}): {} circuit(s), ceil sum {:.2f} Mbps down / {:.2f} Mbps up\n",
                 l.queue, l.cpu, l.circuits, l.downCeilMbps, l.upCeilMbps);
    }
  }
  fmt::print("{}: {} error(s), {} warning(s)\n", r.ok() ? "ok" : "invalid", diags.errorCount(),
             diags.warningCount());
}

}  // namespace

void addCheckCommand(CLI::App& app) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand(
      "check", "Validate lqos.conf, network.json and ShapedDevices.csv and plan them");
  cmd->add_option("--config", options->pipeline.paths.config,
                  "lqos.conf (without it: ask the running sluiced to check its own inputs)");
  cmd->add_option("--socket", options->socket, "control socket of the running sluiced");
  cmd->add_option("--network", options->pipeline.paths.network,
                  "network.json (default: from the config)");
  cmd->add_option("--devices", options->pipeline.paths.devices,
                  "ShapedDevices.csv (default: from the config)");
  cmd->add_flag("--json", options->json, "Print the result as JSON");
  cmd->callback([options] {
    if (options->pipeline.paths.config.empty()) {
      setExitCode(runRemoteCheck(options->socket, options->json));
      return;
    }
    const plan::PipelineResult result = plan::runPipeline(options->pipeline);
    if (options->json) {
      printJson(result);
    } else {
      printText(result);
    }
    setExitCode(result.ok() ? 0 : 1);
  });
}

}  // namespace sluice::cli
