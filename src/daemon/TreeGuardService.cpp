#include "daemon/TreeGuardService.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/AtomicFile.h"
#include "daemon/Shaper.h"
#include "telemetry/Collector.h"

namespace sluice::daemon {
namespace {

using nlohmann::json;

std::string statePath(const std::string& dir) {
  return dir + "/treeguard/state.json";
}

/// The reason of a changeOverlay answer other than 200, for the activity ring and the log.
std::string failureText(const api::Response& r) {
  std::string why = r.body.value("message", std::string());
  for (const json& e : r.body.value("errors", json::array())) {
    why += (why.empty() ? "" : "; ") + (e.is_string() ? e.get<std::string>() : e.dump());
  }
  return fmt::format("failed: {} {}{}", r.status, r.body.value("outcome", std::string("?")),
                     why.empty() ? "" : ": " + why);
}

}  // namespace

TreeGuardHost treeGuardHost(Shaper& shaper, telemetry::Collector& collector) {
  TreeGuardHost host;
  host.snapshot = [&shaper] {
    const Shaper::Snapshot s = shaper.snapshot();
    return std::tuple{s.inputs, s.plan, s.version};
  };
  host.overlay = [&shaper] { return shaper.overlay(); };
  host.changeOverlay = [&shaper](const std::function<void(model::Overlay&)>& edit) {
    return shaper.changeOverlay(edit, ReloadTrigger::TreeGuard);
  };
  host.circuits = [&collector] {
    auto body = collector.circuits("", 0, SIZE_MAX, "name");
    return body ? *body : json::object();
  };
  host.tree = [&collector] { return collector.tree(); };
  host.stateDirectory = shaper.stateDirectory();
  if (const char* file = std::getenv("SLUICE_TREEGUARD_TEST_CPU_FILE"); file != nullptr) {
    host.testCpuFile = file;
  }
  return host;
}

treeguard::Signals signalsFromTelemetry(const json& circuits, const json& tree) {
  treeguard::Signals out;
  for (const json& c : circuits.value("circuits", json::array())) {
    const double down = c.value("down_bps", 0.0) / 1e6;
    const double up = c.value("up_bps", 0.0) / 1e6;
    if (down > 0 || up > 0) {  // absent circuits count as silent
      out.circuits[c.value("id", std::string())] = treeguard::CircuitSignal{{down, up}, {}};
    }
  }
  auto walk = [&](auto& self, const json& nodes) -> void {
    for (const json& n : nodes) {
      treeguard::NodeSignal s;
      s.downMbps = n.value("down_bps", 0.0) / 1e6;
      s.upMbps = n.value("up_bps", 0.0) / 1e6;
      s.rttSeen = n.contains("rtt_p50_ms") && n["rtt_p50_ms"].is_number();
      out.nodes[n.value("name", std::string())] = s;
      self(self, n.value("children", json::array()));
    }
  };
  walk(walk, tree.value("nodes", json::array()));
  return out;
}

TreeGuardService::TreeGuardService(TreeGuardHost host) : host_(std::move(host)) {}

TreeGuardService::Restored TreeGuardService::restore(const model::Inputs& inputs,
                                                     const plan::QueuePlan& plan,
                                                     const std::string& stateDirectory,
                                                     model::Overlay& overlay) {
  Restored out;
  auto settings = treeguard::readSettings(inputs.config);
  if (!settings || !settings->enabled || settings->dryRun || stateDirectory.empty()) {
    return out;  // the first tick reports invalid settings
  }
  out.read = true;
  std::ifstream in(statePath(stateDirectory));
  if (!in) {
    return out;
  }
  std::stringstream text;
  text << in.rdbuf();
  out.settings = *settings;
  out.controller = std::make_unique<treeguard::Controller>(*settings);
  out.controller->setInputs(inputs, plan, {}, 0);
  size_t skipped = 0;
  auto replay = out.controller->restoreFrom(json::parse(text.str(), nullptr, false), &skipped);
  if (!replay) {
    spdlog::error("treeguard: {} ignored: {}", statePath(stateDirectory), replay.error().message());
    out.controller.reset();
    return out;
  }
  out.decisions = std::move(*replay);
  out.controller->layOver(out.decisions, out.fields);
  overlay.circuitSqm = out.fields.circuitSqm;
  overlay.virtualNodes = out.fields.virtualNodes;
  spdlog::info(
      "treeguard: {} circuit directions and {} nodes from {} in the first plan ({} "
      "entries no longer fit)",
      out.decisions.circuits.size(), out.decisions.nodes.size(), statePath(stateDirectory),
      skipped);
  return out;
}

void TreeGuardService::adopt(Restored restored) {
  std::lock_guard ticking(tickMutex_);
  std::lock_guard lock(mutex_);
  if (!restored.read) {
    return;  // the first tick does what a start without restore() does
  }
  restored_ = true;  // the state file was read once
  if (!restored.controller) {
    return;
  }
  const model::Overlay inForce = host_.overlay();
  const bool sameSqm = std::ranges::equal(
      inForce.circuitSqm, restored.fields.circuitSqm, [](const auto& a, const auto& b) {
        return a.first == b.first && a.second.down == b.second.down && a.second.up == b.second.up;
      });
  if (!sameSqm || inForce.virtualNodes != restored.fields.virtualNodes) {
    spdlog::warn("treeguard: the first plan lacks the restored state; applying it now");
    restored_ = false;  // the first tick replays the state file through changeOverlay
    return;
  }
  settings_ = restored.settings;
  controller_ = std::move(restored.controller);
  const int64_t unixMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  controller_->reportApplied(restored.decisions, true, "applied", 0, unixMs);
}

TreeGuardService::~TreeGuardService() {
  stop();
}

void TreeGuardService::start() {
  if (thread_.joinable()) {
    return;
  }
  if (!host_.testCpuFile.empty()) {
    spdlog::warn("treeguard: TEST MODE: CPU load read from {} (SLUICE_TREEGUARD_TEST_CPU_FILE)",
                 host_.testCpuFile);
  }
  thread_ = std::thread([this] { loop(); });
}

void TreeGuardService::stop() {
  {
    std::lock_guard lock(wakeMutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void TreeGuardService::loop() {
  const auto t0 = std::chrono::steady_clock::now();
  while (true) {
    uint32_t tickSeconds = 1;
    {
      std::lock_guard lock(mutex_);
      tickSeconds = settings_ ? settings_->tickSeconds : 1;
    }
    {
      std::unique_lock lock(wakeMutex_);
      if (wake_.wait_for(lock, std::chrono::seconds(tickSeconds), [&] { return stopping_; })) {
        return;
      }
    }
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int64_t unixMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    tickOnce(now, unixMs);
  }
}

std::optional<double> TreeGuardService::readCpu() {
  if (!host_.testCpuFile.empty()) {
    std::ifstream in(host_.testCpuFile);
    double pct = 0;
    if (in >> pct) {
      return pct;
    }
    return std::nullopt;
  }
  auto now = telemetry::readCpuTimes(host_.procStatPath);
  if (!now) {
    spdlog::warn("treeguard: {}", now.error().message());
    return std::nullopt;
  }
  std::optional<double> busiest;
  if (lastCpu_) {
    for (uint32_t cpu = 0; cpu < now->cpus.size(); ++cpu) {
      if (auto pct = telemetry::cpuBusyPct(*lastCpu_, *now, cpu)) {
        busiest = std::max(busiest.value_or(0.0), *pct);
      }
    }
  }
  lastCpu_ = std::move(*now);
  return busiest;
}

void TreeGuardService::follow(double nowSeconds, int64_t unixMs) {
  auto [inputs, plan, version] = host_.snapshot();
  if (!inputs || !plan || (controller_ && version == version_)) {
    return;
  }
  version_ = version;
  auto settings = treeguard::readSettings(inputs->config);
  if (!settings) {
    // The config loader refuses what readSettings refuses, so this is a config built elsewhere;
    // keep what runs.
    settingsError_ = settings.error().message();
    spdlog::error("treeguard: {}", settingsError_);
    if (!controller_) {
      return;
    }
  } else if (!settings_ || *settings_ != *settings) {
    const bool restart = controller_ != nullptr;
    settings_ = *settings;
    settingsError_.clear();
    controller_ = std::make_unique<treeguard::Controller>(*settings_);
    if (restart) {
      // A changed [treeguard]: every circuit back to its base, every node restored.
      spdlog::info("treeguard: [treeguard] changed; TreeGuard restarts with no state");
      restored_ = true;
      const model::Overlay overlay = host_.overlay();
      if (!overlay.circuitSqm.empty() || !overlay.virtualNodes.empty()) {
        const api::Response r = host_.changeOverlay([](model::Overlay& o) {
          o.circuitSqm.clear();
          o.virtualNodes.clear();
        });
        lastFailure_ = r.status == 200 ? "" : failureText(r);
      }
      save();
      std::tie(inputs, plan, version_) = host_.snapshot();
    }
  }
  std::set<std::string> dynamic;
  for (const auto& [id, circuit] : host_.overlay().circuits) {
    dynamic.insert(id);
  }
  controller_->setInputs(*inputs, *plan, dynamic, nowSeconds);
  (void)unixMs;
}

void TreeGuardService::tickOnce(double nowSeconds, int64_t unixMs) {
  std::lock_guard ticking(tickMutex_);
  std::unique_lock lock(mutex_);
  follow(nowSeconds, unixMs);
  if (!controller_) {
    return;
  }
  lastTickSeconds_ = nowSeconds;
  cpuMaxPct_ = readCpu();
  if (!restored_) {
    restored_ = true;
    if (!host_.stateDirectory.empty() && settings_->enabled && !settings_->dryRun) {
      std::ifstream in(statePath(host_.stateDirectory));
      if (in) {
        std::stringstream text;
        text << in.rdbuf();
        const json saved = json::parse(text.str(), nullptr, false);
        size_t skipped = 0;
        auto replay = controller_->restoreFrom(saved, &skipped);
        if (!replay) {
          spdlog::error("treeguard: {} ignored: {}", statePath(host_.stateDirectory),
                        replay.error().message());
        } else {
          spdlog::info(
              "treeguard: replaying {} circuit directions and {} nodes from {} ({} "
              "entries no longer fit)",
              replay->circuits.size(), replay->nodes.size(), statePath(host_.stateDirectory),
              skipped);
          if (!replay->empty()) {
            apply(*replay, nowSeconds, unixMs, lock);
          }
        }
      }
    }
  }
  treeguard::Signals signals = signalsFromTelemetry(host_.circuits(), host_.tree());
  signals.cpuMaxPct = cpuMaxPct_;
  const treeguard::Decisions decisions = controller_->tick(signals, nowSeconds);
  lastTick_ = json{{"time_ms", unixMs},
                   {"cpu_max_pct", cpuMaxPct_ ? json(*cpuMaxPct_) : json(nullptr)},
                   {"circuit_changes", decisions.circuits.size()},
                   {"node_changes", decisions.nodes.size()},
                   {"deferred", decisions.deferred}};
  if (!decisions.empty()) {
    apply(decisions, nowSeconds, unixMs, lock);
  }
}

void TreeGuardService::apply(const treeguard::Decisions& decisions, double nowSeconds,
                             int64_t unixMs, std::unique_lock<std::mutex>& lock) {
  const bool dryRun = settings_->dryRun && !decisions.restore;
  if (dryRun) {
    controller_->reportApplied(decisions, true, "dry-run", nowSeconds, unixMs);
  } else {
    // TreeGuard's two overlay fields as they are once the decisions apply; only this thread
    // changes the controller, so they stay right while the lock is released.
    model::Overlay fields;
    controller_->layOver(decisions, fields);
    lock.unlock();
    const api::Response r = host_.changeOverlay([&](model::Overlay& overlay) {
      overlay.circuitSqm = fields.circuitSqm;
      overlay.virtualNodes = fields.virtualNodes;
    });
    lock.lock();
    const bool ok = r.status == 200;
    lastFailure_ = ok ? "" : failureText(r);
    controller_->reportApplied(decisions, ok, ok ? "applied" : lastFailure_, nowSeconds, unixMs);
    lastApply_ = {{"time_ms", unixMs},
                  {"status", r.status},
                  {"circuit_changes", decisions.circuits.size()},
                  {"node_changes", decisions.nodes.size()},
                  {"outcome", r.body.value("outcome", std::string())},
                  {"apply_mode", r.body.value("apply_mode", std::string())},
                  {"tc_ops", r.body.value("tc_ops", 0)},
                  {"changes", r.body.value("changes", json::object())},
                  {"duration_ms", r.body.value("duration_ms", 0.0)},
                  {"skipped", r.body.value("skipped", json::array())}};
    if (ok) {
      save();
    }
  }
  const std::string how =
      dryRun ? "dry run, not applied" : (lastFailure_.empty() ? "applied" : lastFailure_);
  for (const treeguard::SqmChange& c : decisions.circuits) {
    spdlog::info("treeguard: circuit {} {} -> {} ({}): {}", c.circuitId,
                 treeguard::directionName(c.direction), treeguard::sqmName(c.to), c.why, how);
  }
  for (const treeguard::NodeChange& c : decisions.nodes) {
    spdlog::info("treeguard: node {} {} ({}): {}", c.nodeId,
                 c.toVirtual ? "virtualised" : "restored", c.why, how);
  }
}

void TreeGuardService::save() {
  if (host_.stateDirectory.empty() || !controller_) {
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(host_.stateDirectory + "/treeguard", ec);
  if (auto r = writeFileAtomically(statePath(host_.stateDirectory),
                                   controller_->saveJson().dump(2) + "\n");
      !r) {
    spdlog::warn("treeguard: state not saved: {}", r.error().message());
  }
}

}  // namespace sluice::daemon
