#include "daemon/StormGuardService.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/NetworkJson.h"

namespace sluice::daemon {

using nlohmann::json;
using stormguard::NodeDecision;

namespace {

const char* directionName(stormguard::Direction d) {
  return d == stormguard::kDown ? "download" : "upload";
}

/// The settings a new engine runs with, for the log.
void logSettings(const stormguard::Settings& settings) {
  if (!settings.enabled) {
    spdlog::info("stormguard: disabled");
    return;
  }
  spdlog::info("stormguard: {} ({}), strategy {}", settings.live() ? "live" : "dry run",
               settings.allSites ? "all sites" : fmt::format("{} targets", settings.targets.size()),
               settings.strategy);
  if (settings.strategy == "legacy_score") {
    spdlog::warn(
        "stormguard: strategy legacy_score is not implemented; delay_probe (passive TCP RTT) "
        "runs instead");
  }
}

}  // namespace

StormGuardService::StormGuardService(Shaper& shaper, std::string stateDirectory,
                                     SignalSource signals)
    : shaper_(shaper),
      statePath_(std::filesystem::path(stateDirectory) / "stormguard" / "adjustments.json"),
      signals_(std::move(signals)) {}

StormGuardService::~StormGuardService() {
  stop();
}

StormGuardService::Restored StormGuardService::restore(const model::Inputs& inputs,
                                                       const plan::QueuePlan& plan,
                                                       const std::string& stateDirectory,
                                                       model::Overlay& overlay) {
  Restored out;
  const auto settings = stormguard::readSettings(inputs.config);
  if (!settings || !settings->live()) {
    return out;  // the first resync reports a settings error; a dry run replays nothing
  }
  out.read = true;
  const std::string path =
      (std::filesystem::path(stateDirectory) / "stormguard" / "adjustments.json").string();
  std::vector<stormguard::Adjustment> carry;
  if (auto loaded = stormguard::loadAdjustments(path); !loaded) {
    out.error = loaded.error().message();
    spdlog::error("stormguard: {} (starting from the plan)", out.error);
  } else {
    carry = std::move(*loaded);
  }
  out.engine.emplace(*settings);
  auto selection = stormguard::selectTargets(*settings, inputs.model.network, plan);
  out.missing = selection.missing;
  out.engine->setWatched(selection);
  out.discarded = out.engine->replay(carry);
  overlay.nodeRates = out.engine->overrides();
  if (!overlay.nodeRates.empty()) {
    spdlog::info("stormguard: {} adjustments replayed into the first plan ({} discarded)",
                 overlay.nodeRates.size(), out.discarded.size());
  }
  return out;
}

void StormGuardService::adopt(Restored restored) {
  std::lock_guard lock(mutex_);
  if (!restored.read) {
    return;
  }
  replayed_ = true;
  const double wall =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (!restored.error.empty()) {
    event(wall, "(all)",
          "state file unreadable, persisted adjustments discarded: " + restored.error, false);
  }
  for (const std::string& d : restored.discarded) {
    spdlog::warn("stormguard: {}", d);
    event(wall, d.substr(0, d.find(':')), d, false);
  }
  missing_ = std::move(restored.missing);
  if (restored.engine) {
    logSettings(restored.engine->settings());
  }
  // The next resync (a new snapshot version) re-reads the watched set from the plan in force,
  // which carries the replayed rates, as after any operator reload.
  engine_ = std::move(restored.engine);
}

void StormGuardService::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void StormGuardService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void StormGuardService::loop() {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto next = t0;
  while (true) {
    next += std::chrono::seconds(1);
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, next, [this] { return stopping_; })) {
        return;
      }
    }
    const double now = std::chrono::duration<double>(clock::now() - t0).count();
    const double wall =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    tick(now, wall);
    if (clock::now() - next > std::chrono::seconds(5)) {
      next = clock::now();  // fell far behind: skip the missed ticks (as LibreQoS does)
    }
  }
}

std::map<std::string, stormguard::NodeSignals> StormGuardService::signalsFromTree(
    const json& tree) {
  std::map<std::string, stormguard::NodeSignals> out;
  auto walk = [&](auto& self, const json& nodes) -> void {
    for (const json& n : nodes) {
      stormguard::NodeSignals s;
      s.downMbps = n.value("down_bps", 0.0) / 1e6;
      s.upMbps = n.value("up_bps", 0.0) / 1e6;
      for (const char* key : {"rtt_p90_ms", "rtt_p50_ms"}) {
        if (n.contains(key) && n[key].is_number()) {
          s.rttMs = n[key].get<double>();
          break;
        }
      }
      s.retransmitFraction = n.value("retransmit_pct", 0.0) / 100;
      out[n.value("name", "")] = s;
      if (n.contains("children")) {
        self(self, n["children"]);
      }
    }
  };
  if (tree.contains("nodes")) {
    walk(walk, tree["nodes"]);
  }
  return out;
}

void StormGuardService::tick(double now, double wallSeconds) {
  const Shaper::Snapshot snap = shaper_.snapshot();
  if (!snap.inputs || !snap.plan) {
    return;
  }
  auto signals = signals_ ? signals_() : std::map<std::string, stormguard::NodeSignals>{};
  std::lock_guard lock(mutex_);
  if (snap.version != seenVersion_ || !engine_) {
    resync(snap, wallSeconds);
  }
  if (!engine_ || !engine_->settings().enabled) {
    return;
  }
  if (engine_->settings().strategy == "delay_probe_active") {
    stormguard::blendActive(signals, pinger_.latestMs(), engine_->settings().activePingWeight);
  }
  auto decisions = engine_->tick(signals, now, wallSeconds);
  if (decisions.empty()) {
    return;
  }
  std::string what;
  for (const NodeDecision& d : decisions) {
    what += fmt::format("{}{} {} {} -> {} Mbit/s ({}: {})", what.empty() ? "" : "; ", d.node,
                        directionName(d.direction), d.fromMbps, d.decision.targetMbps,
                        stormguard::actionName(d.decision.action), d.decision.why);
  }
  if (!engine_->settings().live()) {
    spdlog::info("stormguard: DRY RUN, would set {}", what);
    engine_->reportApplied(decisions, true, now);
    event(wallSeconds, decisions.front().node, "dry run: " + what, false);
    return;
  }
  const bool ok = applyOverrides(decisions, wallSeconds, what);
  engine_->reportApplied(decisions, ok, now);
  if (ok) {
    persist();
  }
}

bool StormGuardService::applyOverrides(const std::vector<NodeDecision>& pending, double wallSeconds,
                                       const std::string& why) {
  const auto rates = engine_->overrides(pending);
  const api::Response r = shaper_.changeOverlay([&](model::Overlay& o) { o.nodeRates = rates; },
                                                ReloadTrigger::StormGuard);
  const std::string node = pending.empty() ? std::string("(all)") : pending.front().node;
  if (r.status != 200) {
    error_ = fmt::format("apply failed ({}): {}", r.status, r.body.dump());
    spdlog::error("stormguard: {} not applied: {}", why, error_);
    event(wallSeconds, node, why + " -- not applied: " + r.body.dump(), false);
    return false;
  }
  error_.clear();
  ownVersion_ = shaper_.snapshot().version;
  seenVersion_ = ownVersion_;
  const std::string ops = fmt::format("{} tc ops in {:.1f} ms", r.body.value("tc_ops", 0),
                                      r.body.value("apply_ms", 0.0));
  spdlog::info("stormguard: set {} ({})", why, ops);
  event(wallSeconds, node, fmt::format("{} ({})", why, ops), true);
  return true;
}

void StormGuardService::resync(const Shaper::Snapshot& snap, double wallSeconds) {
  const bool ours = snap.version == ownVersion_;
  seenVersion_ = snap.version;
  auto settings = stormguard::readSettings(snap.inputs->config);
  if (!settings) {
    error_ = settings.error().message();
    spdlog::error("stormguard: {}", error_);
    settings = stormguard::Settings{};  // disabled until the config is fixed
  } else if (error_.starts_with("lqos.conf")) {
    error_.clear();
  }
  pinger_.configure(*settings);  // idempotent; starts or stops delay_probe_active's probe
  const bool wasLive = engine_ && engine_->settings().live();
  if (!engine_ || engine_->settings() != *settings) {
    // At start the adjustments of the last run are replayed; a change of [stormguard] itself
    // starts every node over from its plan (the plan in force carries the old adjustments, so
    // they cannot be checked against it).
    std::vector<stormguard::Adjustment> carry;
    if (!replayed_ && settings->live()) {
      auto loaded = stormguard::loadAdjustments(statePath_);
      if (!loaded) {
        spdlog::error("stormguard: {} (starting from the plan)", loaded.error().message());
      } else {
        carry = std::move(*loaded);
      }
    }
    replayed_ = true;
    engine_.emplace(*settings);
    logSettings(*settings);
    auto selection = stormguard::selectTargets(*settings, snap.inputs->model.network, *snap.plan);
    missing_ = selection.missing;
    engine_->setWatched(selection);
    for (const std::string& d : engine_->replay(carry)) {
      spdlog::warn("stormguard: {}", d);
      event(wallSeconds, d.substr(0, d.find(':')), d, false);
    }
    if (wasLive && !settings->live()) {
      spdlog::info("stormguard: left live mode; every node returns to its plan");
    }
  } else if (!ours) {
    auto selection = stormguard::selectTargets(*settings, snap.inputs->model.network, *snap.plan);
    missing_ = selection.missing;
    if (!shaper_.overlay().nodeRates.empty() && !snap.inputs->resolvedNetwork.empty()) {
      // The snapshot's network carries our rates: compare with network.json as written.
      Diagnostics diags;
      const model::Network file = model::loadNetworkJson(snap.inputs->resolvedNetwork, diags);
      if (!diags.hasErrors()) {
        stormguard::setOperatorRates(selection, file);
      }
    }
    for (const std::string& d : engine_->setWatched(selection)) {
      spdlog::warn("stormguard: {}", d);
      event(wallSeconds, d.substr(0, d.find(':')), d, false);
    }
  }
  // The overlay in force must be the engine's (live) or empty (dry run, disabled).
  const auto want =
      settings->live() ? engine_->overrides() : std::map<std::string, model::NodeRateOverride>{};
  if (shaper_.overlay().nodeRates != want) {
    if (applyOverrides({}, wallSeconds,
                       want.empty() ? "every node back to its plan" : "adjustments replayed")) {
      persist();
    }
  } else if (settings->live()) {
    persist();
  }
  if (!settings->live() && std::filesystem::exists(statePath_)) {
    std::error_code ec;
    std::filesystem::remove(statePath_, ec);
  }
}

void StormGuardService::persist() {
  if (!engine_ || !engine_->settings().live()) {
    return;
  }
  if (auto r = stormguard::saveAdjustments(statePath_, engine_->adjustments()); !r) {
    error_ = "persist: " + r.error().message();
    spdlog::error("stormguard: {}", error_);
  }
}

void StormGuardService::event(double wallSeconds, std::string node, std::string what,
                              bool applied) {
  events_.push_back({wallSeconds, std::move(node), std::move(what), applied});
  if (events_.size() > kEvents) {
    events_.pop_front();
  }
}

api::HttpResponse StormGuardService::status(const api::HttpRequest& req) {
  const bool history = req.queryOr("history") == "1";
  std::lock_guard lock(mutex_);
  json body = engine_ ? engine_->status(history) : json{{"nodes", json::array()}};
  const stormguard::Settings s = engine_ ? engine_->settings() : stormguard::Settings{};
  body["enabled"] = s.enabled;
  body["dry_run"] = s.dryRun;
  body["live"] = s.live();
  body["strategy"] = s.strategy;
  body["phase"] = !error_.empty() ? "degraded"
                  : !s.enabled    ? "disabled"
                  : s.live()      ? "live"
                                  : "dry_run";
  body["error"] = error_.empty() ? json(nullptr) : json(error_);
  body["missing"] = missing_;
  body["changes"] = engine_ ? engine_->changes() : 0;
  body["active_probe"] = pinger_.status();
  json events = json::array();
  for (const Event& e : events_) {
    events.push_back({{"at", e.at}, {"node", e.node}, {"what", e.what}, {"applied", e.applied}});
  }
  body["events"] = std::move(events);
  return api::HttpResponse::json(200, body);
}

json StormGuardService::urgentIssues() const {
  std::lock_guard lock(mutex_);
  json issues = json::array();
  if (!error_.empty()) {
    issues.push_back({{"severity", "error"}, {"kind", "stormguard"}, {"message", error_}});
  }
  if (!engine_ || !engine_->settings().live()) {
    return issues;
  }
  for (const stormguard::Adjustment& a : engine_->adjustments()) {
    std::string rates;
    if (a.downMbps) {
      rates += fmt::format("download {} of {} Mbit/s", *a.downMbps, a.plannedDownMbps);
    }
    if (a.upMbps) {
      rates += fmt::format("{}upload {} of {} Mbit/s", rates.empty() ? "" : ", ", *a.upMbps,
                           a.plannedUpMbps);
    }
    issues.push_back({{"severity", "info"},
                      {"kind", "stormguard-adjusted"},
                      {"message", fmt::format("StormGuard holds {} at {} (its backhaul delays "
                                              "traffic at the planned rate)",
                                              a.node, rates)}});
  }
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const Event& e : events_) {
    if (!e.applied && now - e.at < 600 && e.what.find("discarded") != std::string::npos) {
      issues.push_back({{"severity", "warning"},
                        {"kind", "stormguard-discarded"},
                        {"message", "StormGuard: " + e.what}});
    }
  }
  return issues;
}

std::string StormGuardService::prometheus() const {
  std::lock_guard lock(mutex_);
  if (!engine_ || !engine_->settings().enabled) {
    return {};
  }
  std::string out = engine_->prometheus();
  out +=
      "# HELP sluice_stormguard_live Whether StormGuard changes rates (0: dry run)\n"
      "# TYPE sluice_stormguard_live gauge\n";
  out += fmt::format("sluice_stormguard_live {}\n", engine_->settings().live() ? 1 : 0);
  return out;
}

}  // namespace sluice::daemon
