// /api/urgent: what an operator should act on, gathered from the shaper's status (refused inputs,
// failed reloads, leaf fallback, data-plane mode, notices, drift), readiness (HA), the sync, the
// plan's use of kernel and data-plane capacities, input warnings, settings only a restart
// applies, and unknown addresses carrying traffic.

#include <set>

#include <fmt/format.h>

#include "config/ConfigLoader.h"
#include "daemon/HaService.h"
#include "daemon/OperatorServices.h"
#include "daemon/StormGuardService.h"
#include "daemon/SyncService.h"
#include "daemon/TreeGuardService.h"
#include "dataplane/Dataplane.h"

namespace sluice::daemon {
namespace {

using api::HttpRequest;
using api::HttpResponse;
using nlohmann::json;

/// Input warnings listed in /api/urgent at most (the rest are summarized in one issue).
constexpr size_t kMaxInputWarnings = 20;

}  // namespace

std::vector<CapacityUse> capacityLimits(const plan::QueuePlan& plan, const bakery::Limits& limits,
                                        std::optional<uint64_t> memoryAvailableBytes,
                                        double threshold) {
  std::vector<CapacityUse> out;
  const auto over = [&](uint64_t used, uint64_t limit) {
    return limit > 0 && static_cast<double>(used) > threshold * static_cast<double>(limit);
  };
  const auto pct = [](uint64_t used, uint64_t limit) {
    return 100.0 * static_cast<double>(used) / static_cast<double>(limit);
  };
  for (const plan::InterfacePlan& iface : plan.interfaces) {
    std::set<uint16_t> majors{plan::kMqMajor};
    if (plan::interfaceHolder(iface) != plan::HolderKind::None) {
      for (uint32_t t = 0; t < plan::kMaxHolderTxQueues; ++t) {
        majors.insert(plan::holderMajorOf(static_cast<uint16_t>(t)));
      }
    }
    for (const plan::HtbQueuePlan& q : iface.queues) {
      majors.insert(q.major);
      std::set<uint16_t> minors;
      for (const plan::HtbClassPlan& cls : q.classes) {
        minors.insert(cls.classid.minor);
        if (cls.leaf && cls.leaf->kind != plan::LeafKind::None) {
          majors.insert(cls.leaf->handleMajor);
        }
      }
      if (over(minors.size(), limits.maxMinorsPerQueue)) {
        out.push_back({"class-minors", minors.size(), limits.maxMinorsPerQueue,
                       fmt::format("HTB qdisc {:x}: on {} uses {} of {} class minors ({:.0f} %); "
                                   "spread circuits over more queues",
                                   q.major, iface.ifname, minors.size(), limits.maxMinorsPerQueue,
                                   pct(minors.size(), limits.maxMinorsPerQueue))});
      }
    }
    if (over(majors.size(), limits.maxQdiscsPerInterface)) {
      out.push_back({"qdiscs", majors.size(), limits.maxQdiscsPerInterface,
                     fmt::format("{} uses {} of {} qdisc handles ({:.0f} %)", iface.ifname,
                                 majors.size(), limits.maxQdiscsPerInterface,
                                 pct(majors.size(), limits.maxQdiscsPerInterface))});
    }
  }
  if (over(plan.addresses.size(), limits.lpmCapacity)) {
    out.push_back({"lpm-entries", plan.addresses.size(), limits.lpmCapacity,
                   fmt::format("the address map holds {} of {} entries ({:.0f} %)",
                               plan.addresses.size(), limits.lpmCapacity,
                               pct(plan.addresses.size(), limits.lpmCapacity))});
  }
  if (memoryAvailableBytes) {
    const uint64_t tree = bakery::estimateMemory(plan).bytes;
    const uint64_t usable = *memoryAvailableBytes > limits.memoryReserveBytes
                                ? *memoryAvailableBytes - limits.memoryReserveBytes
                                : 0;
    if (tree > 0 && (usable == 0 || over(tree, usable))) {
      out.push_back(
          {"kernel-memory", tree, usable,
           fmt::format("the shaping tree takes about {} MiB of kernel memory; a hitless rebuild "
                       "needs that again beside it, and {} MiB are available above the {} MiB "
                       "reserve ({:.0f} %)",
                       tree >> 20, usable >> 20, limits.memoryReserveBytes >> 20,
                       usable == 0 ? 100.0 : pct(tree, usable))});
    }
  }
  return out;
}

json OperatorServices::urgentJson() {
  const json status = shaper_.status().body;
  json issues = json::array();
  auto add = [&](const char* severity, const char* kind, std::string message) {
    issues.push_back({{"severity", severity}, {"kind", kind}, {"message", std::move(message)}});
  };
  if (status.contains("refused") && status["refused"].is_object()) {
    for (const json& d : status["refused"].value("diagnostics", json::array())) {
      add("error", "refused-input",
          fmt::format("{}:{}:{}: {} [{}]", d.value("file", ""), d.value("line", 0),
                      d.value("column", 0), d.value("message", ""), d.value("category", "")));
    }
  }
  if (status.contains("last_reload") && status["last_reload"].is_object() &&
      status["last_reload"].value("outcome", "") == "failed") {
    add("error", "reload-failed", status["last_reload"].value("message", "the last reload failed"));
  }
  if (status.contains("leaf") && status["leaf"].value("fallback", false)) {
    add("warning", "leaf-fallback",
        fmt::format("leaf qdisc {} is not available; using {}: {}",
                    status["leaf"].value("configured", ""), status["leaf"].value("active", ""),
                    status["leaf"].value("reason", "")));
  }
  for (const json& n : status.value("notices", json::array())) {
    const std::string text = n.is_string() ? n.get<std::string>() : n.dump();
    if (text.starts_with("reload required: ")) {
      // The bakery's state may not match the kernel until the next apply reconciles it.
      add("error", "reload-required", text);
    } else if (text.starts_with("drift: ")) {
      add("warning", "drift", text);
    } else {
      add("warning", "notice", text);
    }
  }
  if (status.contains("dataplane") && !status["dataplane"].value("xdp_metadata", true)) {
    add("warning", "dataplane-mode", status["dataplane"].value("reason", ""));
  }
  if (ha_ != nullptr) {
    // HA (daemon/HaService.h): an engaged fail mode, and (in an HA pair: a hook or a role
    // configured) a shaper the routers should avoid.
    const json ready = ha_->readiness();
    if (ready.contains("fail_engaged") && ready["fail_engaged"].is_string()) {
      add("error", "ha-fail-mode", ready["fail_engaged"].get<std::string>());
    } else if (!ready.value("ready", true) &&
               (ready["hook"].value("configured", false) || !ready.value("role", "").empty())) {
      add("warning", "ha-not-ready", "not ready for traffic: " + ready.value("reason", std::string()));
    }
  }
  if (sync_) {
    for (json& issue : sync_->urgentIssues()) {
      issues.push_back(std::move(issue));
    }
  }
  if (stormguard_) {
    for (json& issue : stormguard_->urgentIssues()) {
      issues.push_back(std::move(issue));
    }
  }
  if (treeguard_) {
    for (json& issue : treeguard_->urgentIssues()) {
      issues.push_back(std::move(issue));
    }
  }
  if (status.value("queue_mode", "") == "observe") {
    add("warning", "observe-mode", "queue_mode = \"observe\": traffic is counted but not shaped");
  }
  const Shaper::Snapshot snap = shaper_.snapshot();
  if (snap.plan) {
    // The shaper runs with the default bakery limits and data-plane LPM capacity.
    bakery::Limits limits;
    limits.lpmCapacity = dataplane::DataplaneOptions{}.lpmCapacity;
    const auto available = bakery::memoryAvailable(limits);
    for (const CapacityUse& use :
         capacityLimits(*snap.plan, limits,
                        available ? std::optional<uint64_t>(*available) : std::nullopt)) {
      add("warning", "capacity-limits", use.message);
    }
  }
  if (snap.inputs) {
    size_t listed = 0;
    const auto warnings = snap.inputs->diagnostics.warnings();
    for (const Diagnostic& d : warnings) {
      if (listed++ < kMaxInputWarnings) {
        add("warning", "input-warning", d.toString());
      }
    }
    if (warnings.size() > kMaxInputWarnings) {
      add("warning", "input-warning",
          fmt::format("{} more input warnings (see `sluice check`)",
                      warnings.size() - kMaxInputWarnings));
    }
    // Settings only a restart applies: the interfaces and the mode.
    Diagnostics ignored;
    if (auto disk = config::loadConfig(configPath_, ignored)) {
      const config::Config& run = snap.inputs->config;
      auto ports = [](const config::Config& c) {
        return c.bridge ? c.bridge->toInternet + "," + c.bridge->toNetwork
                        : (c.singleInterface ? c.singleInterface->interface : std::string());
      };
      if (disk->onAStick() != run.onAStick() || ports(*disk) != ports(run)) {
        add("warning", "restart-required",
            fmt::format("{} names other interfaces or another mode than the running shaper; "
                        "restart sluiced to apply them",
                        configPath_));
      }
    }
  }
  const json unknownBody = json::parse(cached("unknown"), nullptr, false);
  if (unknownBody.is_object()) {
    const size_t count = unknownBody.value("addresses", json::array()).size();
    if (count > 0) {
      add("warning", "unknown-addresses",
          fmt::format("{} address{} not in ShapedDevices.csv carry traffic (GET /api/unknown)",
                      count, count == 1 ? "" : "es"));
    }
  }
  return json{{"issues", issues}};
}

HttpResponse OperatorServices::urgent(const HttpRequest&, const std::string&) {
  return HttpResponse::json(200, urgentJson());
}

}  // namespace sluice::daemon
