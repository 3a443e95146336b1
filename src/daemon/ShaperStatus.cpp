// The Shaper (daemon/Shaper.h): status, the read-only snapshot and the paths others ask for.

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
    j["queue_holder"] = plan::holderKindName(plan_->holder);  // lqos.conf [sluice] queue_holder
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
  if (!holderFallback_.empty()) {
    notices.push_back(holderFallback_);
  }
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

}  // namespace sluice::daemon
