// TreeGuardService's status, urgent entries and metrics (TreeGuardService.h).

#include <fmt/format.h>

#include "daemon/TreeGuardService.h"

namespace sluice::daemon {
namespace {

using nlohmann::json;

/// Activities newer than this show in /api/urgent.
constexpr int64_t kUrgentWindowMs = 10 * 60 * 1000;
constexpr size_t kUrgentActivities = 5;

}  // namespace

json TreeGuardService::statusJson() const {
  std::lock_guard lock(mutex_);
  json body{{"running", controller_ != nullptr},
            {"settings_error", settingsError_.empty() ? json(nullptr) : json(settingsError_)},
            {"last_tick", lastTick_},
            {"last_apply", lastApply_},
            {"last_failure", lastFailure_.empty() ? json(nullptr) : json(lastFailure_)}};
  if (settings_) {
    const treeguard::Settings& s = *settings_;
    body["enabled"] = s.enabled;
    body["dry_run"] = s.dryRun;
    body["tick_seconds"] = s.tickSeconds;
    body["circuits_enabled"] = s.enabled && s.circuits.enabled && s.circuits.switchingEnabled;
    body["links_enabled"] = s.enabled && s.links.enabled;
    body["cpu"] = {
        {"max_pct", cpuMaxPct_ ? json(*cpuMaxPct_) : json(nullptr)},
        {"source", host_.testCpuFile.empty() ? "proc-stat" : "test-file"},
        {"mode", s.cpu.mode == treeguard::CpuMode::CpuAware ? "cpu_aware" : "traffic_rtt_only"},
        {"high_pct", s.cpu.cpuHighPct},
        {"low_pct", s.cpu.cpuLowPct}};
  }
  if (controller_) {
    body.update(controller_->statusJson(lastTickSeconds_));
  }
  return body;
}

api::HttpResponse TreeGuardService::status(const api::HttpRequest&) const {
  return api::HttpResponse::json(200, statusJson());
}

json TreeGuardService::urgentIssues() const {
  std::lock_guard lock(mutex_);
  json out = json::array();
  if (!controller_) {
    return out;
  }
  if (!lastFailure_.empty()) {
    out.push_back({{"severity", "warning"},
                   {"kind", "treeguard-failed"},
                   {"message", "TreeGuard could not apply its last change (retried next tick): " +
                                   lastFailure_}});
  }
  const auto counts = controller_->counts();
  if (counts.fqCodelDirections > 0 || counts.virtualNodes > 0) {
    out.push_back(
        {{"severity", "info"},
         {"kind", "treeguard"},
         {"message",
          fmt::format("TreeGuard{} holds {} circuit direction{} on fq_codel and {} node{} "
                      "virtual (GET /api/treeguard)",
                      settings_->dryRun ? " (dry run)" : "", counts.fqCodelDirections,
                      counts.fqCodelDirections == 1 ? "" : "s", counts.virtualNodes,
                      counts.virtualNodes == 1 ? "" : "s")}});
  }
  const auto& activity = controller_->activity();
  size_t listed = 0;
  const int64_t newest = activity.empty() ? 0 : activity.back().unixMs;
  for (auto it = activity.rbegin(); it != activity.rend() && listed < kUrgentActivities; ++it) {
    if (newest - it->unixMs > kUrgentWindowMs) {
      break;
    }
    ++listed;
    out.push_back({{"severity", it->outcome.starts_with("failed") ? "warning" : "info"},
                   {"kind", "treeguard-change"},
                   {"time_ms", it->unixMs},
                   {"message", fmt::format("TreeGuard: {} {} {} ({}): {}", it->kind, it->id,
                                           it->change, it->why, it->outcome)}});
  }
  return out;
}

std::string TreeGuardService::prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto gauge = [&](const char* name, const char* help, double value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, value);
  };
  gauge("sluice_treeguard_enabled", "TreeGuard is enabled ([treeguard] enabled).",
        settings_ && settings_->enabled ? 1 : 0);
  gauge("sluice_treeguard_dry_run", "TreeGuard decides but does not apply ([treeguard] dry_run).",
        settings_ && settings_->dryRun ? 1 : 0);
  if (cpuMaxPct_) {
    gauge("sluice_treeguard_cpu_max_pct", "Busy percentage of the busiest core at the last tick.",
          *cpuMaxPct_);
  }
  if (!controller_) {
    return out;
  }
  const auto c = controller_->counts();
  gauge("sluice_treeguard_circuits_enrolled", "Circuits TreeGuard watches.",
        static_cast<double>(c.circuits));
  gauge("sluice_treeguard_circuit_directions_fq_codel",
        "Circuit directions TreeGuard moved from CAKE to fq_codel.",
        static_cast<double>(c.fqCodelDirections));
  gauge("sluice_treeguard_nodes_enrolled", "Nodes TreeGuard watches.",
        static_cast<double>(c.nodes));
  gauge("sluice_treeguard_nodes_virtual", "Nodes TreeGuard made virtual.",
        static_cast<double>(c.virtualNodes));
  gauge("sluice_treeguard_deferred_changes",
        "Circuit changes the last tick left for later (per-tick budget).",
        lastTick_.is_object() ? lastTick_.value("deferred", 0.0) : 0.0);
  out +=
      "# HELP sluice_treeguard_changes_total TreeGuard changes since sluiced started.\n"
      "# TYPE sluice_treeguard_changes_total counter\n";
  for (const auto& [key, n] : c.changes) {
    const size_t space = key.find(' ');
    out += fmt::format("sluice_treeguard_changes_total{{kind=\"{}\",outcome=\"{}\"}} {}\n",
                       key.substr(0, space), key.substr(space + 1), n);
  }
  return out;
}

}  // namespace sluice::daemon
