// The Shaper (daemon/Shaper.h), part 1: construction, start and adoption of a running data
// plane and tree. Reload: ShaperReload.cpp; data-plane lifecycle, drift and stop:
// ShaperDataplane.cpp; status: ShaperStatus.cpp; lazy queues: ShaperLazy.cpp.

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
#include "planner/QueueProbe.h"
#include "planner/TcBatch.h"
#include "tc/LiveTree.h"
#include "tc/Verify.h"

namespace sluice::daemon {

namespace fs = std::filesystem;
using namespace detail;

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
  holderFallback_.clear();
  if (!report->holderDropped.empty()) {
    holderFallback_ = "HOLDER FALLBACK: " + report->holderDropped;
    spdlog::warn("{}", holderFallback_);
  }
  return {};
}

plan::PipelineResult Shaper::runPipeline(const model::InputPaths& paths,
                                         const model::Overlay* overlay, BaseCapture* base) const {
  plan::PipelineOptions opts;
  opts.paths = paths;
  opts.txQueues = options_.txQueues;
  opts.beforePlan = [&](model::Inputs& inputs) {
    if (base != nullptr) {
      base->diagnostics = inputs.diagnostics.all().size();
      base->inputs.reset();
    }
    if (overlay == nullptr || overlay->empty()) {
      return;
    }
    if (base != nullptr) {
      base->inputs = std::make_shared<const model::Inputs>(inputs);
    }
    model::applyOverlay(*overlay, inputs);
  };
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

Result<void> Shaper::start() {
  std::lock_guard lock(mutex_);
  const auto t0 = std::chrono::steady_clock::now();
  auto run = runPipeline(model::InputPaths{options_.configPath, {}, {}}, nullptr, &base_);
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
    run = runPipeline(store_->lastGoodPaths(), nullptr, &base_);
    fromLastGood = true;
    if (!run.ok()) {
      return makeError(EINVAL, "the last-good inputs in " + stateDir + " are invalid too");
    }
  }
  if (startOverlay_) {
    layStartOverlay(run, stateDir);
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
  probe_ = run.probe;
  cpus_ = run.cpus;
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
  spdlog::info("ready: {} circuits on {} queues in {:.0f} ms{}{}", plan_->circuits.size(),
               plan_->queueCount, ms, adopted_ ? " (adopted)" : "",
               overlay_.empty()
                   ? ""
                   : fmt::format("; overlay: {} dynamic circuits, {} node rates, {} circuit "
                                 "leaf kinds, {} virtual nodes",
                                 overlay_.circuits.size(), overlay_.nodeRates.size(),
                                 overlay_.circuitSqm.size(), overlay_.virtualNodes.size()));
  return {};
}

}  // namespace sluice::daemon
