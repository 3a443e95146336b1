#include "daemon/Shaper.h"

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
#include "planner/QueueProbe.h"
#include "planner/TcBatch.h"
#include "tc/LiveTree.h"
#include "tc/Verify.h"

namespace sluice::daemon {

namespace fs = std::filesystem;

namespace {

/// The files whose change triggers a reload: the config, the inputs it names, and the devices
/// overrides file when one is configured (it may not exist yet: the watcher watches directories).
std::vector<std::string> inputFiles(const std::string& configPath, const model::Inputs& in) {
  std::vector<std::string> files{configPath, in.resolvedNetwork, in.resolvedDevices};
  if (!in.resolvedOverrides.empty()) {
    files.push_back(in.resolvedOverrides);
  }
  return files;
}

/// The paths `in` was loaded from, for the last-good copy.
model::InputPaths resolvedPaths(const std::string& configPath, const model::Inputs& in) {
  return model::InputPaths{configPath, in.resolvedNetwork, in.resolvedDevices,
                           in.resolvedOverrides};
}

bool lazyOn(const config::Config& config) {
  return config.queues.lazyQueues != config::LazyQueues::No;
}

const char* triggerName(ReloadTrigger t) {
  switch (t) {
    case ReloadTrigger::Startup:
      return "startup";
    case ReloadTrigger::Sighup:
      return "sighup";
    case ReloadTrigger::Api:
      return "api";
    case ReloadTrigger::Inotify:
      return "inotify";
    case ReloadTrigger::Sync:
      return "sync";
  }
  return "?";
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

nlohmann::json diagnosticsJson(const Diagnostics& diags, Severity severity) {
  auto out = nlohmann::json::array();
  for (const auto& d : diags.all()) {
    if (d.severity != severity) {
      continue;
    }
    out.push_back({{"file", d.where.file},
                   {"line", d.where.line},
                   {"column", d.where.column},
                   {"category", d.category},
                   {"message", d.message},
                   {"value", d.value},
                   {"severity", severity == Severity::Error ? "error" : "warning"}});
  }
  return out;
}

nlohmann::json errorLines(const Diagnostics& diags) {
  auto out = nlohmann::json::array();
  for (const auto& d : diags.errors()) {
    out.push_back(d.toString());
  }
  return out;
}

/// Problems with how the two bridge ports are joined: with use_xdp_bridge = false Sluice relies on
/// a Linux bridge, and ports that no bridge joins carry no traffic at all.
std::vector<std::string> bridgeNotices(const config::Config& config) {
  std::vector<std::string> out;
  if (!config.bridge || config.bridge->useXdpBridge) {
    return out;
  }
  for (const auto& ifname : {config.bridge->toInternet, config.bridge->toNetwork}) {
    if (!fs::exists("/sys/class/net/" + ifname + "/master")) {
      out.push_back(fmt::format(
          "{} is not a port of a Linux bridge and use_xdp_bridge = false: nothing forwards "
          "between {} and {}; bridge them or set use_xdp_bridge = true",
          ifname, config.bridge->toInternet, config.bridge->toNetwork));
    }
  }
  return out;
}

std::vector<std::string> shapingInterfaces(const config::Config& config) {
  if (config.singleInterface) {
    return {config.singleInterface->interface};
  }
  if (config.bridge) {
    return {config.bridge->toInternet, config.bridge->toNetwork};
  }
  return {};
}

}  // namespace

Shaper::Shaper(DaemonOptions options) : options_(std::move(options)) {}

Shaper::~Shaper() { stop(); }

Result<void> Shaper::applyLeafFallback(plan::QueuePlan& plan, const config::Config& config) {
  const auto& fallbackName = config.sluice.leafFallback;
  const auto fallback = fallbackName.empty() ? std::nullopt : tc::parseLeafKind(fallbackName);
  auto report = tc::applyLeafFallback(plan, *caps_, fallback);
  if (!report) {
    return std::unexpected(report.error());
  }
  // A leaf carries only its own kind's parameters: a fallen-back pfifo leaf keeps the CAKE
  // parameters it was planned with, which the bakery's active state does not store, so a restart
  // would see an SQM change on every such leaf.
  for (auto& iface : plan.interfaces) {
    for (auto& queue : iface.queues) {
      for (auto& cls : queue.classes) {
        if (cls.leaf && cls.leaf->kind != plan::LeafKind::Cake) {
          cls.leaf->cake = plan::CakeParams{};
        }
        if (cls.leaf && cls.leaf->kind != plan::LeafKind::FqCodel) {
          cls.leaf->fqCodel = plan::FqCodelParams{};
        }
      }
    }
  }
  leafConfigured_ = std::string(tc::leafKindName(config.defaultLeaf.kind));
  leafActive_ = leafConfigured_;
  fallbackReason_.clear();
  if (report->replacedLeaves > 0) {
    std::string missing;
    for (const auto kind : report->missing) {
      missing += (missing.empty() ? "" : ", ") + std::string(tc::leafKindName(kind));
    }
    fallbackReason_ = fmt::format("kernel lacks {}; {} leaves use leaf_fallback = {}", missing,
                                  report->replacedLeaves, fallbackName);
    leafActive_ = fallbackName;
  }
  return {};
}

plan::PipelineResult Shaper::runPipeline(const model::InputPaths& paths) const {
  plan::PipelineOptions opts;
  opts.paths = paths;
  opts.txQueues = options_.txQueues;
  return plan::runPipeline(opts);
}

Result<void> Shaper::openDataplane() {
  const auto& config = active_->config;
  dataplane::DataplaneOptions opts;
  std::string pinName;
  for (const auto& ifname : shapingInterfaces(config)) {
    pinName += (pinName.empty() ? "" : "_") + ifname;
  }
  opts.pinDir = options_.pinDir.empty() ? "/sys/fs/bpf/sluice/" + pinName : options_.pinDir;
  if (config.singleInterface) {
    opts.onAStick = true;
    opts.internetIfindex = opts.networkIfindex = if_nametoindex(config.singleInterface->interface.c_str());
    opts.internetVlan = config.singleInterface->internetVlan;
    opts.networkVlan = config.singleInterface->networkVlan;
  } else {
    opts.internetIfindex = if_nametoindex(config.bridge->toInternet.c_str());
    opts.networkIfindex = if_nametoindex(config.bridge->toNetwork.c_str());
    opts.xdpBridge = config.bridge->useXdpBridge;
  }
  opts.xdpMetadata =
      config.sluice.xdpMetadataOff ? dataplane::XdpMetadata::Off : dataplane::XdpMetadata::Auto;
  if (opts.internetIfindex == 0 || opts.networkIfindex == 0) {
    return makeError(ENODEV, "shaping interfaces " + pinName + " not found");
  }
  auto dp = dataplane::Dataplane::open(opts);
  if (!dp) {
    return std::unexpected(dp.error());
  }
  dataplane_ = std::move(*dp);
  writer_ = std::make_unique<dataplane::BpfMapWriter>(dataplane_->lpmMapFd(),
                                                     dataplane_->epochMapFd());
  return {};
}

Result<void> Shaper::applyTree(const plan::QueuePlan& plan, bool adoptIfEqual) {
  for (const auto& tree : tc::treesByDevice(plan)) {
    auto live = tc::readLiveTree(applier_->socket(), tree.ifname);
    if (!live) {
      return std::unexpected(live.error());
    }
    const bool hasRoot = live->findQdisc(plan::TcHandle{plan::kMqMajor, 0}.raw()) != nullptr;
    if (hasRoot && adoptIfEqual) {
      const auto diffs = tc::compareTree(*live, tree);
      if (diffs.empty()) {
        spdlog::info("{}: live tree equals the plan; adopted without rebuilding", tree.ifname);
        adopted_ = true;
        continue;
      }
      spdlog::info("{}: live tree differs from the plan ({} differences, first: {}); replacing",
                   tree.ifname, diffs.size(), diffs.front());
    }
    auto done = hasRoot ? applier_->replace(tree) : applier_->create(tree);
    if (!done) {
      return done;
    }
  }
  return {};
}

Result<void> Shaper::publish(const plan::QueuePlan& plan) {
  dataplane::RuntimeConfig runtime;
  runtime.queueCpu = plan.queueCpu;
  if (auto ok = dataplane_->setRuntimeConfig(runtime); !ok) {
    return ok;
  }
  auto epoch = writer_->publish(plan.addresses);
  if (!epoch) {
    return std::unexpected(epoch.error());
  }
  spdlog::info("published {} address mappings (epoch {})", plan.addresses.size(), *epoch);
  return {};
}

Result<void> Shaper::startShaping(plan::QueuePlan full) {
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = bakery_->load();
  if (!loaded) {
    spdlog::warn("bakery active state unreadable ({}); building the tree",
                 loaded.error().message());
  }
  const plan::QueuePlan* active = loaded && *loaded ? bakery_->active() : nullptr;
  if (active && lazyMode_ != config::LazyQueues::No) {
    // Lazy queues: the circuits whose queues the previous run had created stay active.
    tracker_.setActive(lazy::activeIn(*active, lazyMode_), std::chrono::steady_clock::now());
    spdlog::info("lazy queues ({}): {} circuits active in the adopted state",
                 lazy::lazyModeName(lazyMode_), tracker_.active().size());
  }
  plan::QueuePlan desired = desiredPlan(std::move(full));
  bool ours = false;  // a tree with our HTB qdiscs is in the kernel
  if (active) {
    for (const auto& tree : tc::treesByDevice(*active)) {
      auto live = tc::readLiveTree(applier_->socket(), tree.ifname);
      if (!live) {
        return std::unexpected(live.error());
      }
      for (const auto& q : live->qdiscs) {
        ours = ours || q.kind == "htb";
      }
    }
  }
  if (active && ours) {
    // Mappings of the active state first (the pinned map may hold a killed apply's half), then
    // the kernel made equal to the active state, then the change since then applied as usual.
    auto diffs = runner_->liveDifferences(*active);
    if (!diffs) {
      return std::unexpected(diffs.error());
    }
    if (auto ok = publish(*active); !ok) {
      return ok;
    }
    reconciled_ = diffs->size();
    if (!diffs->empty() && bakery_->reloadRequired()) {
      // The previous run died mid-apply (the bakery's marker): the apply below reconciles the
      // live tree with the new plan directly, changing only what differs.
      spdlog::warn("live tree differs from the active state in {} places (first: {}); {}",
                   diffs->size(), diffs->front(), *bakery_->reloadRequired());
    } else if (!diffs->empty()) {
      spdlog::warn("live tree differs from the active state in {} places (first: {}); "
                   "reconciling only those",
                   diffs->size(), diffs->front());
      if (auto ok = runner_->reconcile(*active); !ok) {
        return ok;
      }
    } else {
      spdlog::info("live tree equals the active state; adopted without rebuilding");
    }
    adopted_ = true;
    bakery::ApplyReport adopt;
    adopt.mode = diffs->empty() ? "adopt" : "reconcile";
    adopt.reason = fmt::format("{} differences reconciled", diffs->size());
    adopt.durationMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    recordApply(adopt);
    auto applied = bakery_->apply(std::move(desired));
    if (!applied) {
      return std::unexpected(applied.error());
    }
    if (applied->mode != "noop") {
      recordApply(*applied);
    }
    return {};
  }
  // No active state or no tree of ours: build (adopting a live tree that equals the plan, as a
  // start after `sluice apply` would find), then take the plan as the active state. Mappings
  // first, then the tree: unknown classids fall to M:2 meanwhile.
  if (auto ok = publish(desired); !ok) {
    return ok;
  }
  if (auto ok = applyTree(desired, true); !ok) {
    return ok;
  }
  bakery::ApplyReport build;
  build.mode = adopted_ ? "adopt" : "build";
  build.tcOps = applier_->lastStats().messages;
  build.mapUpserts = desired.addresses.size();
  if (auto ok = bakery_->setActive(std::move(desired)); !ok) {
    spdlog::warn("{}", ok.error().message());
  }
  build.durationMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  recordApply(build);
  return {};
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

std::vector<std::string> Shaper::checkDrift() {
  std::lock_guard lock(mutex_);
  return checkDriftLocked();
}

std::vector<std::string> Shaper::checkDriftLocked() {
  if (!bakery_ || state_ != "ready" || queueMode_ != "shape") {
    return {};
  }
  DriftRecord rec;
  rec.time = std::chrono::system_clock::now();
  auto diffs = bakery_->checkDrift();
  if (!diffs) {
    rec.error = diffs.error().message();
    spdlog::warn("drift check: {}", rec.error);
  } else {
    rec.differences = std::move(*diffs);
    if (!rec.differences.empty()) {
      spdlog::warn("DRIFT: the kernel tree differs from the active state in {} places (first: {})",
                   rec.differences.size(), rec.differences.front());
    }
  }
  lastDrift_ = rec;
  return rec.differences;
}

void Shaper::driftLoop() {
  std::unique_lock lock(mutex_);
  while (!driftStop_) {
    if (options_.driftInterval.count() <= 0) {
      driftWake_.wait(lock, [this] { return driftStop_; });
      break;
    }
    if (driftWake_.wait_for(lock, options_.driftInterval, [this] { return driftStop_; })) {
      break;
    }
    checkDriftLocked();
  }
}

Result<void> Shaper::start() {
  std::lock_guard lock(mutex_);
  const auto t0 = std::chrono::steady_clock::now();
  auto run = runPipeline(model::InputPaths{options_.configPath, {}, {}});
  const std::string stateDir =
      options_.stateDir.empty() ? run.inputs.config.sluice.stateDirectory : options_.stateDir;
  store_.emplace(stateDir);
  bool fromLastGood = false;
  // Watch the operator's files even when starting from the last-good copies: fixing them must
  // trigger a reload.
  watched_ = inputFiles(options_.configPath, run.inputs);
  if (!run.ok()) {
    for (const auto& d : run.inputs.diagnostics.errors()) {
      spdlog::error("{}", d.toString());
    }
    if (!store_->hasLastGood()) {
      return makeError(EINVAL, "inputs are invalid and the state directory holds no last-good copy",
                       fmt::format("{} errors", run.inputs.diagnostics.errorCount()));
    }
    refused_ = Refusal{std::chrono::system_clock::now(), run.inputs.diagnostics};
    spdlog::warn("inputs refused; starting from the last good copy in {}", stateDir);
    run = runPipeline(store_->lastGoodPaths());
    fromLastGood = true;
    if (!run.ok()) {
      return makeError(EINVAL, "the last-good inputs in " + stateDir + " are invalid too");
    }
  }
  for (const auto& w : run.inputs.diagnostics.warnings()) {
    spdlog::warn("{}", w.toString());
  }
  auto caps = tc::probeLeafCapabilities();
  if (!caps) {
    return std::unexpected(caps.error());
  }
  caps_ = *caps;
  for (const auto& ifname : shapingInterfaces(run.inputs.config)) {
    txQueues_.emplace_back(ifname, plan::countTxQueues(ifname).value_or(0));
  }
  auto plan = std::move(*run.plan);
  if (auto ok = applyLeafFallback(plan, run.inputs.config); !ok) {
    return ok;
  }
  active_ = std::make_shared<const model::Inputs>(std::move(run.inputs));
  if (!fallbackReason_.empty()) {
    spdlog::warn("LEAF FALLBACK: {}", fallbackReason_);
  }
  notices_ = bridgeNotices(active_->config);
  for (const auto& notice : notices_) {
    spdlog::warn("{}", notice);
  }
  auto socket = netlink::Socket::open();
  if (!socket) {
    return std::unexpected(socket.error());
  }
  auto psched = tc::Psched::read();
  if (!psched) {
    return std::unexpected(psched.error());
  }
  applier_ = std::make_unique<tc::NetlinkApplier>(std::move(*socket), *psched);
  if (auto ok = openDataplane(); !ok) {
    return ok;
  }
  auto runnerSocket = netlink::Socket::open();
  if (!runnerSocket) {
    return std::unexpected(runnerSocket.error());
  }
  runner_ = std::make_unique<bakery::NetlinkOpRunner>(std::move(*runnerSocket), *psched);
  bakery_ = std::make_unique<bakery::Bakery>(*runner_, *writer_, stateDir);
  if (lazyOn(active_->config) && active_->config.queues.queueMode == config::QueueMode::Shape) {
    setLazyPlan(active_->config, std::move(plan));  // startShaping materializes from it
    plan = plan::QueuePlan{};
  } else {
    setLazyPlan(active_->config, lazyOn(active_->config) ? plan : plan::QueuePlan{});
  }
  if (active_->config.queues.queueMode == config::QueueMode::Observe) {
    // Observe: no tree, no mappings (a tree a killed shape-mode run left goes now).
    if (auto loaded = bakery_->load(); !loaded) {
      spdlog::warn("bakery active state unreadable ({}); treating it as absent",
                   loaded.error().message());
    }
    auto observed = bakery_->enterObserve(shapingInterfaces(active_->config));
    if (!observed) {
      return std::unexpected(observed.error());
    }
    recordApply(*observed);
    queueMode_ = "observe";
    if (auto ok = dataplane_->setRuntimeConfig(dataplane::RuntimeConfig{.queueCpu = plan.queueCpu}); !ok) {
      return ok;
    }
  } else {
    if (auto ok = startShaping(std::move(plan)); !ok) {
      return ok;
    }
  }
  const auto& config = active_->config;
  std::vector<std::string> ifaces = shapingInterfaces(config);
  for (const auto& ifname : ifaces) {
    const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    auto xdp = dataplane::XdpAttachment::attach(ifindex, dataplane_->xdpProgramFd());
    if (!xdp) {
      return std::unexpected(xdp.error());
    }
    xdp_.push_back(std::move(*xdp));
    auto tcf = dataplane::TcAttachment::attachEgress(ifindex, dataplane_->tcProgramFd());
    if (!tcf) {
      return std::unexpected(tcf.error());
    }
    tcFilters_.push_back(std::move(*tcf));
    if (dataplane_->options().xdpBridge) {
      auto fwd = dataplane::TcAttachment::attachIngress(ifindex, dataplane_->tcBridgeProgramFd());
      if (!fwd) {
        return std::unexpected(fwd.error());
      }
      tcFilters_.push_back(std::move(*fwd));
    }
  }
  plan_ = queueMode_ == "shape" ? bakery_->activeShared()
                                : std::make_shared<const plan::QueuePlan>(std::move(plan));
  ++planVersion_;
  if (!fromLastGood) {
    if (auto saved = store_->saveLastGood(resolvedPaths(options_.configPath, *active_));
        !saved) {
      spdlog::warn("could not save the last-good inputs: {}", saved.error().message());
    }
  }
  state_ = "ready";
  if (queueMode_ == "shape") {
    checkDriftLocked();
  }
  driftThread_ = std::thread([this] { driftLoop(); });
  lazyThread_ = std::thread([this] { lazyLoop(); });
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  record(ReloadTrigger::Startup, "applied", ms,
         queueMode_ == "observe" ? "queue_mode = observe: no tree"
         : adopted_ && reconciled_ > 0
             ? fmt::format("adopted the live tree left by the previous run ({} differences "
                           "reconciled)",
                           reconciled_)
         : adopted_ ? "adopted the live tree left by the previous run"
                    : "built the tree");
  spdlog::info("ready: {} circuits on {} queues in {:.0f} ms{}", plan_->circuits.size(),
               plan_->queueCount, ms, adopted_ ? " (adopted)" : "");
  return {};
}

api::Response Shaper::reload(ReloadTrigger trigger) {
  std::lock_guard lock(mutex_);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
        .count();
  };
  if (state_ != "ready") {
    return {503, {{"outcome", "failed"}, {"message", "sluiced is " + state_}}};
  }
  auto run = runPipeline(model::InputPaths{options_.configPath, {}, {}});
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
    refused_ = Refusal{std::chrono::system_clock::now(), inputs.diagnostics};
    record(trigger, "refused", elapsed(),
           fmt::format("{} errors; the running shaper is unchanged",
                       inputs.diagnostics.errorCount()));
    return {422, {{"outcome", "refused"}, {"errors", errorLines(inputs.diagnostics)}}};
  }
  refused_.reset();
  const bool wantObserve = inputs.config.queues.queueMode == config::QueueMode::Observe;
  bakery::ApplyReport report;
  if (wantObserve) {
    if (queueMode_ == "observe") {
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
  active_ = std::make_shared<const model::Inputs>(std::move(inputs));
  ++planVersion_;
  watched_ = inputFiles(options_.configPath, *active_);
  if (auto saved = store_->saveLastGood(resolvedPaths(options_.configPath, *active_));
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

void Shaper::stop() {
  {
    std::lock_guard lock(mutex_);
    driftStop_ = true;
  }
  driftWake_.notify_all();
  lazyWake_.notify_all();
  if (driftThread_.joinable()) {
    driftThread_.join();
  }
  if (lazyThread_.joinable()) {
    lazyThread_.join();
  }
  std::lock_guard lock(mutex_);
  if (stopped_) {
    return;
  }
  stopped_ = true;
  state_ = "stopping";
  if (options_.keepOnExit) {
    for (auto& a : xdp_) {
      a.persist();
    }
    for (auto& a : tcFilters_) {
      a.persist();
    }
    spdlog::info("stopping with --keep-on-exit: programs, maps and tree stay in place");
    return;
  }
  for (auto& a : xdp_) {
    if (auto ok = a.detach(); !ok) {
      spdlog::warn("detach XDP: {}", ok.error().message());
    }
  }
  for (auto& a : tcFilters_) {
    if (auto ok = a.detach(); !ok) {
      spdlog::warn("detach tc: {}", ok.error().message());
    }
  }
  xdp_.clear();
  tcFilters_.clear();
  if (applier_ && plan_ && queueMode_ == "shape") {
    for (const auto& tree : tc::treesByDevice(*plan_)) {
      if (auto ok = applier_->remove(tree.ifname); !ok) {
        spdlog::warn("remove tree on {}: {}", tree.ifname, ok.error().message());
      }
    }
  }
  if (dataplane_) {
    const auto pinDir = dataplane_->options().pinDir;
    writer_.reset();
    dataplane_.reset();
    std::error_code ec;
    if (!pinDir.empty()) {
      fs::remove_all(pinDir, ec);
    }
  }
  if (store_) {
    // The tree is gone: the next start builds instead of reconciling against a stale state.
    std::error_code ec;
    fs::remove(fs::path(store_->dir()) / "bakery" / "active.json", ec);
  }
  spdlog::info("stopped: programs detached, tree removed");
}

std::vector<std::string> Shaper::watchedFiles() const {
  std::lock_guard lock(mutex_);
  return watched_;
}

std::string Shaper::controlSocket() const {
  std::lock_guard lock(mutex_);
  return active_ ? active_->config.sluice.controlSocket : config::SluiceConfig{}.controlSocket;
}

std::string Shaper::stateDirectory() const {
  std::lock_guard lock(mutex_);
  return store_ ? store_->dir() : std::string();
}

void Shaper::record(ReloadTrigger trigger, std::string outcome, double ms, std::string message) {
  lastReload_ = ReloadRecord{std::chrono::system_clock::now(), trigger, std::move(outcome), ms,
                             std::move(message)};
}

nlohmann::json Shaper::statusJson() const {
  nlohmann::json j;
  j["state"] = state_;
  j["pid"] = getpid();
  j["version"] = "0.1.0";
  j["config"] = options_.configPath;
  if (active_) {
    const auto& config = active_->config;
    j["mode"] = config.onAStick() ? "on-a-stick" : "bridge";
    j["queue_mode"] = config.queues.queueMode == config::QueueMode::Shape ? "shape" : "observe";
    auto ifaces = nlohmann::json::array();
    for (size_t i = 0; i < txQueues_.size(); ++i) {
      std::string role = config.onAStick() ? "single" : (i == 0 ? "to_internet" : "to_network");
      std::string xdpMode = i < xdp_.size()
                                ? (xdp_[i].mode() == dataplane::XdpMode::Native ? "native" : "generic")
                                : "none";
      ifaces.push_back({{"name", txQueues_[i].first},
                        {"role", role},
                        {"tx_queues", txQueues_[i].second},
                        {"xdp_mode", xdpMode}});
    }
    j["interfaces"] = ifaces;
    j["nodes"] = active_->model.network.nodes.size();
    j["devices"] = active_->model.shaped.deviceCount();
  }
  if (plan_) {
    j["queues"] = plan_->queueCount;
    j["circuits"] = plan_->circuits.size();
    j["addresses"] = plan_->addresses.size();
  }
  j["leaf"] = {{"configured", leafConfigured_},
               {"active", leafActive_},
               {"fallback", !fallbackReason_.empty()},
               {"reason", fallbackReason_}};
  if (dataplane_) {
    const dataplane::DataplaneMode& mode = dataplane_->mode();
    j["dataplane"] = {{"xdp_metadata", mode.xdpMetadata},
                      {"classification", mode.xdpMetadata ? "xdp-metadata" : "tc-lookup"},
                      {"reason", mode.reason}};
  }
  j["adopted"] = adopted_;
  auto notices = nlohmann::json(notices_);
  auto applyJson = [](const ApplyRecord& a) {
    return nlohmann::json{{"time", isoTime(a.time)},
                          {"sequence", a.sequence},
                          {"mode", a.mode},
                          {"changes", a.counts},
                          {"tc_ops", a.tcOps},
                          {"map_upserts", a.mapUpserts},
                          {"map_removals", a.mapRemovals},
                          {"duration_ms", a.durationMs},
                          {"reason", a.reason}};
  };
  nlohmann::json bakeryJson;
  bakeryJson["queue_mode"] = queueMode_;
  bakeryJson["applies"] = applies_;
  bakeryJson["last_apply"] = lastApply_ ? applyJson(*lastApply_) : nlohmann::json();
  bakeryJson["last_transition"] = lastTransition_ ? applyJson(*lastTransition_) : nlohmann::json();
  bakeryJson["reconciled_at_start"] = reconciled_;
  const std::optional<std::string> required =
      bakery_ ? bakery_->reloadRequired() : std::optional<std::string>();
  bakeryJson["reload_required"] = required.has_value();
  bakeryJson["reload_required_cause"] = required.value_or("");
  if (required) {
    notices.push_back("reload required: " + *required);
  }
  if (lastDrift_) {
    bakeryJson["drift"] = {{"time", isoTime(lastDrift_->time)},
                           {"in_sync", lastDrift_->differences.empty() && lastDrift_->error.empty()},
                           {"differences", lastDrift_->differences.size()},
                           {"first", lastDrift_->differences.empty()
                                         ? std::string()
                                         : lastDrift_->differences.front()},
                           {"error", lastDrift_->error}};
    if (!lastDrift_->differences.empty()) {
      notices.push_back(fmt::format("drift: the kernel tree differs from the active state in {} "
                                    "places (first: {})",
                                    lastDrift_->differences.size(),
                                    lastDrift_->differences.front()));
    }
  } else {
    bakeryJson["drift"] = nullptr;
  }
  j["bakery"] = bakeryJson;
  j["lazy"] = lazyJson();
  j["notices"] = notices;
  if (lastReload_) {
    j["last_reload"] = {{"time", isoTime(lastReload_->time)},
                        {"trigger", triggerName(lastReload_->trigger)},
                        {"outcome", lastReload_->outcome},
                        {"duration_ms", lastReload_->durationMs},
                        {"message", lastReload_->message}};
  } else {
    j["last_reload"] = nullptr;
  }
  if (refused_) {
    j["refused"] = {{"time", isoTime(refused_->time)},
                    {"errors", errorLines(refused_->diagnostics)},
                    {"diagnostics", diagnosticsJson(refused_->diagnostics, Severity::Error)}};
  } else {
    j["refused"] = nullptr;
  }
  return j;
}

api::Response Shaper::status() {
  std::lock_guard lock(mutex_);
  return {200, statusJson()};
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

namespace sluice::daemon {

Shaper::Snapshot Shaper::snapshot() const {
  std::lock_guard lock(mutex_);
  if (!active_ || !plan_) {
    return {};
  }
  // Both are shared, never copied: they are replaced, not mutated.
  snapshotCache_.inputs = active_;
  snapshotCache_.plan = plan_;
  snapshotCache_.version = planVersion_;
  return snapshotCache_;
}

Shaper::MapFds Shaper::mapFds() const {
  std::lock_guard lock(mutex_);
  if (!dataplane_) {
    return {};
  }
  return MapFds{dataplane_->hostMapFd(), dataplane_->flowMapFd(), dataplane_->rttRingFd(),
                dataplane_->statsMapFd()};
}

}  // namespace sluice::daemon

namespace sluice::daemon {

plan::QueuePlan Shaper::desiredPlan(plan::QueuePlan full) {
  if (lazyMode_ == config::LazyQueues::No || !fullPlan_) {
    return full;
  }
  return lazy::materialize(*fullPlan_, tracker_.active(), lazyMode_);
}

void Shaper::setLazyPlan(const config::Config& config, lazy::FullPlan full) {
  const auto previous = lazyMode_;
  const auto now = std::chrono::steady_clock::now();
  lazyMode_ = config.queues.lazyQueues;
  tracker_.setOptions(lazy::TrackerOptions{lazyMode_,
                                           std::chrono::seconds(config.queues.lazyExpireSeconds),
                                           config.queues.lazyThresholdBytes});
  if (lazyMode_ == config::LazyQueues::No) {
    fullPlan_.reset();
    tracker_.setPlan(plan::QueuePlan{}, now);
    return;
  }
  fullPlan_ = std::move(full);
  tracker_.setPlan(fullPlan_->skeleton(), now);
  if (previous == config::LazyQueues::No && bakery_ && bakery_->active()) {
    // Lazy queues switched on by a reload: what exists stays until it idles out.
    tracker_.setActive(lazy::activeIn(*bakery_->active(), lazyMode_), now);
  }
}

void Shaper::lazyLoop() {
  std::unique_lock lock(mutex_);
  while (!driftStop_) {
    if (lazyWake_.wait_for(lock, std::chrono::seconds(1), [this] { return driftStop_; })) {
      break;
    }
    lock.unlock();
    lazyTick();
    lock.lock();
  }
}

void Shaper::lazyTick() {
  const auto enabled = [this] {
    return state_ == "ready" && queueMode_ == "shape" && lazyMode_ != config::LazyQueues::No &&
           fullPlan_ && dataplane_ && bakery_;
  };
  int hostsFd = -1;
  {
    std::lock_guard lock(mutex_);
    if (!enabled()) {
      return;
    }
    hostsFd = dataplane_->hostMapFd();  // valid until stop(), which joins this thread first
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto hosts = dataplane::readHostCounters(hostsFd);  // the walk runs without the mutex
  std::lock_guard lock(mutex_);
  if (!enabled()) {
    return;
  }
  const auto msSince = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  };
  if (!hosts) {
    lazyLastError_ = "reading host counters: " + hosts.error().message();
    spdlog::warn("lazy queues: {}", lazyLastError_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const lazy::TickDecision tick = tracker_.observe(*hosts, now);
  ++lazyTicks_;
  lazyLastHosts_ = tick.hosts;
  if (tick.changed()) {
    const auto ta = std::chrono::steady_clock::now();
    auto applied = bakery_->apply(lazy::materialize(*fullPlan_, tracker_.active(), lazyMode_));
    if (!applied) {
      tracker_.revert(tick, now);
      lazyLastError_ = applied.error().message();
      spdlog::warn("lazy queues: applying {} activations and {} expirations failed: {}",
                   tick.activated.size(), tick.expired.size(), lazyLastError_);
    } else {
      lazyActivations_ += tick.activated.size();
      lazyExpirations_ += tick.expired.size();
      lazyLastError_.clear();
      plan_ = bakery_->activeShared();
      ++planVersion_;
      lazyLastApplyMs_ = msSince(ta);
      spdlog::info("lazy queues: {} activated{}{}, {} expired ({} tc ops, {} map upserts) in "
                   "{:.1f} ms",
                   tick.activated.size(), tick.activated.empty() ? "" : " e.g. ",
                   tick.activated.empty() ? "" : tick.activated.front(), tick.expired.size(),
                   applied->tcOps, applied->mapUpserts, lazyLastApplyMs_);
    }
  }
  lazyLastTickMs_ = msSince(t0);
}

nlohmann::json Shaper::lazyJson() const {
  const auto& q = active_ ? active_->config.queues : config::QueuesConfig{};
  return {{"mode", lazy::lazyModeName(lazyMode_)},
          {"expire_seconds", q.lazyExpireSeconds},
          {"threshold_bytes", q.lazyThresholdBytes ? nlohmann::json(*q.lazyThresholdBytes)
                                                   : nlohmann::json()},
          {"active_circuits", lazyMode_ == config::LazyQueues::No
                                  ? (plan_ ? plan_->circuits.size() : 0)
                                  : tracker_.active().size()},
          {"total_circuits", plan_ ? plan_->circuits.size() : 0},
          {"activations", lazyActivations_},
          {"expirations", lazyExpirations_},
          {"ticks", lazyTicks_},
          {"hosts", lazyLastHosts_},
          {"last_tick_ms", lazyLastTickMs_},
          {"last_apply_ms", lazyLastApplyMs_},
          {"error", lazyLastError_}};
}

}  // namespace sluice::daemon
