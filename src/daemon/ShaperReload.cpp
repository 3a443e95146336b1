// The Shaper (daemon/Shaper.h): reload, the records of applies and reloads, and check.

#include "daemon/Shaper.h"
#include "daemon/ShaperSupport.h"

#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bakery/Bakery.h"
#include "bakery/NetlinkOpRunner.h"
#include "dataplane/Attach.h"
#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"
#include "dataplane/Readers.h"
#include "lazy/Materialize.h"
#include "planner/Pipeline.h"
#include "planner/Planner.h"
#include "planner/QueueProbe.h"
#include "planner/TcBatch.h"
#include "tc/LiveTree.h"
#include "tc/Verify.h"

namespace sluice::daemon {

namespace fs = std::filesystem;
using namespace detail;

namespace {

/// `overlay` laid over `base` (inputs as loaded: no overlay, no planner diagnostics) and planned
/// with the tx queues and CPUs of the run that loaded them, as plan::runPipeline plans.
plan::PipelineResult planOverlaid(const model::Inputs& base, const plan::TxQueueProbe& probe,
                                  uint32_t cpus, const model::Overlay& overlay,
                                  model::OverlayReport& report) {
  plan::PipelineResult run{base};
  run.probe = probe;
  run.cpus = cpus;
  report = model::applyOverlay(overlay, run.inputs);
  if (run.inputs.ok()) {
    const plan::PlannerInput input{run.inputs.config, run.inputs.model, run.probe.txQueues,
                                   run.cpus};
    run.plan = plan::buildPlan(input, run.inputs.diagnostics);
    if (run.plan) {
      run.queueSource =
          plan::describeQueueCount(run.inputs.config, run.probe, run.cpus, run.plan->queueCount);
    }
  }
  return run;
}

}  // namespace

void Shaper::layStartOverlay(plan::PipelineResult& run, const std::string& stateDir) {
  model::Overlay overlay;
  try {
    startOverlay_(StartContext{run.inputs, *run.plan, stateDir}, overlay);
  } catch (const std::exception& e) {
    spdlog::error(
        "overlay: the modules' persisted entries could not be loaded ({}); starting "
        "without them",
        e.what());
    return;
  }
  if (overlay.empty()) {
    return;
  }
  // The base the overlay is laid over: the inputs as loaded, without the planner's diagnostics
  // (base_.diagnostics counted them), as changeOverlay keeps it.
  BaseCapture base{nullptr, base_.diagnostics};
  auto copy = std::make_shared<model::Inputs>(run.inputs);
  copy->diagnostics.truncate(base.diagnostics);
  base.inputs = copy;
  model::OverlayReport report;
  auto overlaid = planOverlaid(*copy, run.probe, run.cpus, overlay, report);
  if (!overlaid.ok()) {
    for (const auto& d : overlaid.inputs.diagnostics.errors()) {
      spdlog::error("overlay at start: {}", d.toString());
    }
    spdlog::error(
        "overlay: the planner refuses the inputs with the modules' persisted entries; "
        "starting without them");
    return;
  }
  spdlog::info(
      "overlay in the first plan: {} dynamic circuits, {} node rates, {} circuit leaf "
      "kinds, {} virtual nodes ({} entries skipped)",
      report.circuitsAdded, report.nodeRatesSet, report.circuitSqmSet, report.nodesVirtualized,
      report.skipped);
  run = std::move(overlaid);
  overlay_ = std::move(overlay);
  base_ = std::move(base);
}

void Shaper::recordApply(const bakery::ApplyReport& report) {
  ApplyRecord a;
  a.time = std::chrono::system_clock::now();
  a.mode = report.mode;
  for (const auto& [kind, n] : report.counts) {
    a.counts[bakery::changeKindName(kind)] = n;
  }
  a.tcOps = report.tcOps;
  a.mapUpserts = report.mapUpserts;
  a.mapRemovals = report.mapRemovals;
  a.durationMs = report.durationMs;
  a.reason = report.reason;
  a.sequence = ++applies_;
  lastApply_ = std::move(a);
}

api::Response Shaper::reload(ReloadTrigger trigger) {
  std::lock_guard lock(mutex_);
  const auto t0 = std::chrono::steady_clock::now();
  if (state_ != "ready") {
    return {503, {{"outcome", "failed"}, {"message", "sluiced is " + state_}}};
  }
  BaseCapture base;
  auto run = runPipeline(model::InputPaths{options_.configPath, {}, {}}, &overlay_, &base);
  return applyRun(trigger, std::move(run), overlay_, std::move(base), true, t0);
}

model::Overlay Shaper::overlay() const {
  std::lock_guard lock(mutex_);
  return overlay_;
}

api::Response Shaper::changeOverlay(const std::function<void(model::Overlay&)>& edit,
                                    ReloadTrigger trigger) {
  std::lock_guard lock(mutex_);
  const auto t0 = std::chrono::steady_clock::now();
  if (state_ != "ready") {
    return {503, {{"outcome", "failed"}, {"message", "sluiced is " + state_}}};
  }
  model::Overlay next = overlay_;
  edit(next);
  // The base: the inputs the overlay in force was laid over, or the inputs in force themselves
  // (without what the planner added) when no overlay is.
  BaseCapture base = base_;
  if (!base.inputs) {
    auto copy = std::make_shared<model::Inputs>(*active_);
    copy->diagnostics.truncate(base.diagnostics);
    base.inputs = std::move(copy);
  }
  model::OverlayReport report;
  plan::PipelineResult run = planOverlaid(*base.inputs, probe_, cpus_, next, report);
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& d : run.inputs.diagnostics.warnings()) {
    if (d.category == "overlay-skipped") {
      skipped.push_back(d.message);
    }
  }
  if (next.empty()) {
    base.inputs.reset();  // no overlay: the inputs in force are the base again
  }
  auto answer = applyRun(trigger, std::move(run), std::move(next), std::move(base), false, t0);
  answer.body["skipped"] = std::move(skipped);
  answer.body["overlay"] = {{"circuits_added", report.circuitsAdded},
                            {"node_rates", report.nodeRatesSet},
                            {"circuit_sqm", report.circuitSqmSet},
                            {"virtual_nodes", report.nodesVirtualized}};
  return answer;
}

api::Response Shaper::applyRun(ReloadTrigger trigger, plan::PipelineResult run,
                               model::Overlay overlay, BaseCapture base, bool recordRefusal,
                               std::chrono::steady_clock::time_point t0) {
  auto elapsed = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
        .count();
  };
  // On success the run becomes the inputs in force, with its overlay and base.
  auto adopt = [&] {
    overlay_ = std::move(overlay);
    base_ = std::move(base);
    probe_ = run.probe;
    cpus_ = run.cpus;
  };
  auto& inputs = run.inputs;
  std::optional<plan::QueuePlan> plan;
  if (run.ok()) {
    if (shapingInterfaces(inputs.config) != shapingInterfaces(active_->config) ||
        inputs.config.onAStick() != active_->config.onAStick()) {
      inputs.diagnostics.error(SourceLocation{options_.configPath}, "restart-required",
                               "changing the shaping interfaces needs a restart of sluiced");
    } else if (auto ok = applyLeafFallback(*run.plan, inputs.config); !ok) {
      inputs.diagnostics.error(SourceLocation{options_.configPath}, "leaf-unsupported",
                               ok.error().message());
    } else {
      plan = std::move(*run.plan);
    }
  }
  if (!plan) {
    if (!inputs.diagnostics.hasErrors()) {
      inputs.diagnostics.error(SourceLocation{options_.configPath}, "plan-refused",
                               "the planner produced no plan");
    }
    for (const auto& d : inputs.diagnostics.errors()) {
      spdlog::error("reload refused: {}", d.toString());
    }
    if (recordRefusal) {
      refused_ = Refusal{std::chrono::system_clock::now(), inputs.diagnostics};
    }
    record(trigger, "refused", elapsed(),
           fmt::format("{} errors; the running shaper is unchanged",
                       inputs.diagnostics.errorCount()));
    return {422, {{"outcome", "refused"}, {"errors", errorLines(inputs.diagnostics)}}};
  }
  if (recordRefusal) {
    refused_.reset();
  }
  const bool wantObserve = inputs.config.queues.queueMode == config::QueueMode::Observe;
  bakery::ApplyReport report;
  if (wantObserve) {
    if (queueMode_ == "observe") {
      adopt();
      active_ = std::make_shared<const model::Inputs>(std::move(inputs));
      setLazyPlan(active_->config, lazyOn(active_->config) ? *plan : plan::QueuePlan{});
      plan_ = std::make_shared<const plan::QueuePlan>(std::move(*plan));
      ++planVersion_;
      record(trigger, "unchanged", elapsed(), "queue_mode = observe: no tree to change");
      return {200, {{"outcome", "unchanged"}, {"queue_mode", "observe"}}};
    }
    auto observed = bakery_->enterObserve(shapingInterfaces(inputs.config));
    if (!observed) {
      record(trigger, "failed", elapsed(), observed.error().message());
      spdlog::error("entering observe failed: {}", observed.error().message());
      return {500, {{"outcome", "failed"}, {"message", observed.error().message()}}};
    }
    report = *observed;
    queueMode_ = "observe";
    recordApply(report);
    lastTransition_ = lastApply_;
    lastTransition_->reason = "shape -> observe";
    setLazyPlan(inputs.config, lazyOn(inputs.config) ? *plan : plan::QueuePlan{});
    plan_ = std::make_shared<const plan::QueuePlan>(std::move(*plan));
  } else {
    const bool fromObserve = queueMode_ == "observe";
    if (auto ok = dataplane_->setRuntimeConfig(dataplane::RuntimeConfig{.queueCpu = plan->queueCpu}); !ok) {
      record(trigger, "failed", elapsed(), ok.error().message());
      return {500, {{"outcome", "failed"}, {"message", ok.error().message()}}};
    }
    // Lazy queues: the new full plan, with the active circuits carried over by circuit ID.
    std::optional<lazy::FullPlan> previousFull = std::move(fullPlan_);
    const bool lazy = lazyOn(inputs.config);
    setLazyPlan(inputs.config, lazy ? std::move(*plan) : plan::QueuePlan{});
    auto applied = bakery_->apply(desiredPlan(lazy ? plan::QueuePlan{} : std::move(*plan)));
    if (!applied) {
      // The running shaper keeps the old inputs: so does the tracker.
      setLazyPlan(active_->config,
                  previousFull ? std::move(*previousFull) : lazy::FullPlan{});
      record(trigger, "failed", elapsed(), applied.error().message());
      spdlog::error("reload failed: {}", applied.error().message());
      return {500,
              {{"outcome", "failed"},
               {"message", applied.error().message()},
               {"reload_required", bakery_->reloadRequired().value_or("")}}};
    }
    report = *applied;
    queueMode_ = "shape";
    if (report.mode != "noop") {
      recordApply(report);
    }
    if (fromObserve) {
      lastTransition_ = lastApply_;
      lastTransition_->reason = "observe -> shape";
    }
    plan_ = bakery_->activeShared();
  }
  adopt();
  active_ = std::make_shared<const model::Inputs>(std::move(inputs));
  ++planVersion_;
  watched_ = inputFiles(options_.configPath, *active_);
  // The files did not change for an overlay change: nothing new to keep as last-good.
  if (auto saved = recordRefusal
                       ? store_->saveLastGood(resolvedPaths(options_.configPath, *active_))
                       : Result<void>{};
      !saved) {
    spdlog::warn("could not save the last-good inputs: {}", saved.error().message());
  }
  if (queueMode_ == "shape") {
    checkDriftLocked();
  }
  const double ms = elapsed();
  const bool noop = report.mode == "noop";
  record(trigger, noop ? "unchanged" : "applied", ms,
         fmt::format("{}: {} tc ops, {} map upserts, {} map removals", report.mode, report.tcOps,
                     report.mapUpserts, report.mapRemovals));
  spdlog::info("reload ({}) {}: {} ({} tc ops, {} map upserts, {} removals) in {:.1f} ms{}",
               triggerName(trigger), noop ? "unchanged" : "applied", report.mode, report.tcOps,
               report.mapUpserts, report.mapRemovals, ms,
               report.reason.empty() ? "" : "; " + report.reason);
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& [kind, n] : report.counts) {
    counts[bakery::changeKindName(kind)] = n;
  }
  return {200,
          {{"outcome", noop ? "unchanged" : "applied"},
           {"circuits", plan_->circuits.size()},
           {"duration_ms", ms},
           {"apply_mode", report.mode},
           {"apply_ms", report.durationMs},
           {"tc_ops", report.tcOps},
           {"map_upserts", report.mapUpserts},
           {"map_removals", report.mapRemovals},
           {"changes", counts},
           {"queue_mode", queueMode_}}};
}

void Shaper::record(ReloadTrigger trigger, std::string outcome, double ms, std::string message) {
  lastReload_ = ReloadRecord{std::chrono::system_clock::now(), trigger, std::move(outcome), ms,
                             std::move(message)};
}

api::Response Shaper::check() {
  const auto run = runPipeline(model::InputPaths{options_.configPath, {}, {}});
  const auto& diags = run.inputs.diagnostics;
  nlohmann::json body{{"valid", run.ok()},
                      {"errors", errorLines(diags)},
                      {"diagnostics", diagnosticsJson(diags, Severity::Error)},
                      {"warnings", diagnosticsJson(diags, Severity::Warning)},
                      {"circuits", run.inputs.model.shaped.circuits.size()},
                      {"devices", run.inputs.model.shaped.deviceCount()},
                      {"nodes", run.inputs.model.network.nodes.size()}};
  return {run.ok() ? 200 : 422, std::move(body)};
}

}  // namespace sluice::daemon
