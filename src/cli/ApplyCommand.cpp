// sluice apply: plan the inputs and put the tree into the kernel once through the netlink
// Applier (no daemon; the tree stays in place), or take it away with --remove.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/Commands.h"
#include "config/ConfigLoader.h"
#include "netlink/Socket.h"
#include "planner/Pipeline.h"
#include "tc/Applier.h"
#include "tc/LiveTree.h"
#include "tc/Verify.h"

namespace sluice::cli {
namespace {

struct ApplyOptions {
  plan::PipelineOptions pipeline;
  bool remove = false;
  bool verify = true;
  std::string netns;
  uint32_t queues = 0;
  uint32_t cpus = 0;
};

void fail(const Error& e) {
  fmt::print(stderr, "error: {}\n", e.message());
  setExitCode(1);
}

/// The smallest tx-queue count of the shaping interfaces as seen through `socket` (its namespace).
Result<uint32_t> txQueuesOf(netlink::Socket& socket, const config::Config& config) {
  std::vector<std::string> names;
  if (config.bridge) {
    names = {config.bridge->toInternet, config.bridge->toNetwork};
  } else if (config.singleInterface) {
    names = {config.singleInterface->interface};
  }
  uint32_t queues = 0;
  for (const auto& name : names) {
    auto info = socket.linkInfo(name);
    if (!info) {
      return std::unexpected(info.error());
    }
    queues = queues == 0 ? info->txQueues : std::min(queues, info->txQueues);
  }
  return queues == 0 ? 1 : queues;
}

void run(ApplyOptions& options) {
  const std::string nsPath = options.netns.empty() ? "" : "/var/run/netns/" + options.netns;
  auto socket = netlink::Socket::open(nsPath);
  if (!socket) {
    return fail(socket.error());
  }
  if (options.queues > 0) {
    options.pipeline.txQueues = options.queues;
  } else if (!nsPath.empty()) {
    // sysfs shows this process's namespace, not the target one: ask netlink there instead.
    Diagnostics diags;
    if (auto config = config::loadConfig(options.pipeline.paths.config, diags)) {
      auto queues = txQueuesOf(*socket, *config);
      if (!queues) {
        return fail(queues.error());
      }
      options.pipeline.txQueues = *queues;
    }
  }
  if (options.cpus > 0) {
    options.pipeline.cpus = options.cpus;
  }
  plan::PipelineResult result = plan::runPipeline(options.pipeline);
  for (const Diagnostic& d : result.inputs.diagnostics.all()) {
    std::fputs((d.toString() + "\n").c_str(), stderr);
  }
  if (!result.ok()) {
    fmt::print(stderr, "no plan: {} error(s); the kernel was not touched\n",
               result.inputs.diagnostics.errorCount());
    setExitCode(1);
    return;
  }
  plan::QueuePlan& queuePlan = *result.plan;
  auto clock = tc::Psched::read();
  if (!clock) {
    return fail(clock.error());
  }
  tc::NetlinkApplier applier(std::move(*socket), *clock);
  const auto t0 = std::chrono::steady_clock::now();
  if (options.remove) {
    if (auto r = tc::applyPlan(applier, queuePlan, tc::ApplyMode::Remove); !r) {
      return fail(r.error());
    }
    fmt::print("removed the queue tree from {} interface(s)\n", queuePlan.interfaces.size());
    setExitCode(0);
    return;
  }
  auto caps = tc::probeLeafCapabilities();
  if (!caps) {
    return fail(caps.error());
  }
  const std::string& fallbackName = result.inputs.config.sluice.leafFallback;
  const auto fallback = fallbackName.empty() ? std::nullopt : tc::parseLeafKind(fallbackName);
  auto report = tc::applyLeafFallback(queuePlan, *caps, fallback);
  if (!report) {
    return fail(report.error());
  }
  if (report->replacedLeaves > 0) {
    std::string kinds;
    for (auto k : report->missing) {
      kinds += fmt::format("{}{}", kinds.empty() ? "" : ", ", tc::leafKindName(k));
    }
    fmt::print(stderr,
               "WARNING: LEAF FALLBACK ACTIVE: this kernel lacks {}; {} leaves use {} instead "
               "([sluice] leaf_fallback). Queues are NOT managed as configured.\n",
               kinds, report->replacedLeaves, fallbackName);
  }
  if (!report->holderDropped.empty()) {
    fmt::print(stderr, "WARNING: HOLDER FALLBACK: {}\n", report->holderDropped);
  }
  if (auto r = tc::applyPlan(applier, queuePlan, tc::ApplyMode::Replace); !r) {
    return fail(r.error());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t classes = 0;
  for (const auto& iface : queuePlan.interfaces) {
    for (const auto& q : iface.queues) {
      classes += q.classes.size();
    }
  }
  fmt::print("applied {} classes on {} interface(s) in {:.3f} s ({})\n", classes,
             queuePlan.interfaces.size(), seconds, result.queueSource);
  if (options.verify) {
    size_t problems = 0;
    for (const auto& tree : tc::treesByDevice(queuePlan)) {
      auto live = tc::readLiveTree(applier.socket(), tree.ifname);
      if (!live) {
        return fail(live.error());
      }
      for (const auto& line : tc::compareTree(*live, tree)) {
        fmt::print(stderr, "verify: {}\n", line);
        ++problems;
      }
    }
    if (problems > 0) {
      fmt::print(stderr, "verify: {} difference(s) between the kernel and the plan\n", problems);
      setExitCode(1);
      return;
    }
    fmt::print("verified: the kernel's tree equals the plan\n");
  }
  setExitCode(0);
}

}  // namespace

void addApplyCommand(CLI::App& app) {
  auto options = std::make_shared<ApplyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "apply", "Build the planned queue tree in the kernel once (netlink), or remove it");
  cmd->add_option("--config", options->pipeline.paths.config, "lqos.conf")->required();
  cmd->add_option("--network", options->pipeline.paths.network,
                  "network.json (default: from the config)");
  cmd->add_option("--devices", options->pipeline.paths.devices,
                  "ShapedDevices.csv (default: from the config)");
  cmd->add_flag("--remove", options->remove, "Delete the tree (the interfaces' root qdiscs)");
  cmd->add_flag("!--no-verify", options->verify, "Skip reading the tree back and comparing");
  cmd->add_option("--netns", options->netns,
                  "Apply inside network namespace NAME (/var/run/netns/NAME)");
  cmd->add_option("--queues", options->queues, "Available tx queues (default: probed)")
      ->check(CLI::Range(1, 0x7FFE));
  cmd->add_option("--cpus", options->cpus, "Shaping CPUs (default: all online CPUs)")
      ->check(CLI::Range(1, 65536));
  cmd->callback([options] { run(*options); });
}

}  // namespace sluice::cli
