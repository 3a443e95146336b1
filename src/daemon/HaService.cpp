#include "daemon/HaService.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/AtomicFile.h"
#include "netlink/Link.h"

namespace sluice::daemon {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kEventsFile = "ha-events.json";
constexpr const char* kFailClosedFile = "ha-fail-closed";

std::string isoNow() {
  return fmt::format(
      "{:%Y-%m-%dT%H:%M:%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

ha::HookOptions hookOptions(const config::HaConfig& c) {
  ha::HookOptions o;
  o.drain = c.drainCommand;
  o.restore = c.restoreCommand;
  o.timeout = std::chrono::seconds(c.hookTimeoutSeconds);
  o.holdDown = std::chrono::seconds(c.holdDownSeconds);
  o.startGrace = std::chrono::seconds(c.startGraceSeconds);
  return o;
}

/// The data plane is broken (not merely bypassed): a program detached or the pins gone.
std::string brokenDataplane(const ha::HealthSnapshot& s) {
  std::string why;
  for (const ha::InterfaceHealth& i : s.interfaces) {
    if (!i.xdpAttached || !i.tcAttached) {
      why += fmt::format("{}{}: {}{}", why.empty() ? "" : "; ", i.name,
                         i.xdpAttached ? "" : "XDP detached ",
                         i.tcAttached ? "" : "tc classifier detached");
    }
  }
  if (!s.pinnedMapsPresent) {
    why += std::string(why.empty() ? "" : "; ") + "pinned maps missing";
  }
  return why;
}

}  // namespace

HaService::HaService(Shaper& shaper, config::HaConfig config, std::string stateDir,
                     std::chrono::milliseconds tick)
    : shaper_(shaper),
      config_(std::move(config)),
      stateDir_(std::move(stateDir)),
      tickInterval_(tick),
      started_(Clock::now()),
      hook_(hookOptions(config_), Clock::now()) {
  std::ifstream in(fs::path(stateDir_) / kEventsFile);
  const nlohmann::json events = nlohmann::json::parse(in, nullptr, false);
  if (events.is_object()) {
    if (events.contains("last_drain") && events["last_drain"].is_string()) {
      lastDrain_ = events["last_drain"].get<std::string>();
    }
    if (events.contains("last_restore") && events["last_restore"].is_string()) {
      lastRestore_ = events["last_restore"].get<std::string>();
    }
  }
}

HaService::~HaService() {
  stop();
}

void HaService::start() {
  const fs::path marker = fs::path(stateDir_) / kFailClosedFile;
  if (fs::exists(marker)) {
    // A fail-closed run set the interfaces down; this start re-attached everything.
    std::ifstream in(marker);
    std::string ifname;
    auto socket = netlink::Socket::open();
    while (socket && in >> ifname) {
      if (auto up = netlink::setLinkUp(*socket, ifname); !up) {
        spdlog::error("ha: cannot set {} up again after fail-closed: {}", ifname,
                      up.error().message());
      } else {
        spdlog::warn("ha: {} set up again (a fail-closed run had set it down)", ifname);
      }
    }
    std::error_code ec;
    fs::remove(marker, ec);
    // Carrier comes a moment after the admin state: wait for it rather than see a down link.
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline) {
      bool up = true;
      for (const ha::InterfaceHealth& i : shaper_.healthSnapshot().interfaces) {
        up = up && i.linkUp;
      }
      if (up) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  tick();
  thread_ = std::thread([this] { loop(); });
  spdlog::info(
      "ha: readiness checked every {} ms; fail_mode {}; routing hook {}", tickInterval_.count(),
      config_.failMode == config::FailMode::Open ? "open" : "closed",
      hook_.configured() ? fmt::format("configured (hold-down {} s)", config_.holdDownSeconds)
                         : "not configured");
}

void HaService::stop() {
  {
    std::lock_guard lock(wakeMutex_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  if (!config_.drainCommand.empty() && hook_.state() != ha::RouteState::Drained) {
    spdlog::info("ha: orderly stop: running the drain command before the tree goes");
    const ha::HookRun run = hook_.run(ha::HookAction::Drain, Clock::now());
    recordRun(run);
  }
}

void HaService::loop() {
  std::unique_lock lock(wakeMutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, tickInterval_, [this] { return stopping_; })) {
      break;
    }
    lock.unlock();
    tick();
    lock.lock();
  }
}

void HaService::tick() {
  ha::HealthSnapshot snapshot = shaper_.healthSnapshot();
  snapshot.now = std::chrono::system_clock::now();
  std::string engaged;
  {
    std::lock_guard lock(mutex_);
    engaged = failEngaged_;
  }
  if (!engaged.empty()) {
    snapshot.urgent.push_back(engaged);
    if (config_.failMode == config::FailMode::Open && !snapshot.bypass) {
      if (auto on = shaper_.setBypass(true); on) {
        snapshot.bypass = true;  // a reload had cleared it
      }
    }
  }
  ha::ReadinessRules rules;
  rules.maxInputAge = std::chrono::seconds(config_.maxInputAgeSeconds);
  ha::Readiness verdict = ha::evaluateReadiness(snapshot, rules);
  if (engaged.empty() && snapshot.phase == ha::Phase::Running) {
    if (const std::string broken = brokenDataplane(snapshot); !broken.empty()) {
      engageFailMode(verdict);
      std::lock_guard lock(mutex_);
      snapshot.urgent.push_back(failEngaged_);
      verdict = ha::evaluateReadiness(snapshot, rules);
    }
  }
  const Clock::time_point now = Clock::now();
  // "Starting" for the hook: this sluiced has not been ready yet (its start grace applies), so a
  // restart that adopts a running data plane, or ports coming up, moves no traffic.
  everReady_ = everReady_ || verdict.ready;
  const bool starting = snapshot.phase == ha::Phase::Starting || !everReady_;
  if (auto run = hook_.update(verdict.ready, starting, now)) {
    recordRun(*run);
  }
  std::lock_guard lock(mutex_);
  if (verdict.ready != last_.ready || lastAt_ == Clock::time_point{}) {
    spdlog::log(verdict.ready ? spdlog::level::info : spdlog::level::warn, "ha: {}: {}",
                verdict.ready ? "ready" : "NOT READY", verdict.reason());
  }
  last_ = std::move(verdict);
  lastAt_ = now;
  hookJson_ = hook_.toJson(now);
}

void HaService::engageFailMode(const ha::Readiness& verdict) {
  const std::string broken = brokenDataplane(shaper_.healthSnapshot());
  std::string message;
  if (config_.failMode == config::FailMode::Open) {
    auto on = shaper_.setBypass(true);
    message = fmt::format(
        "fail-open: the data plane is broken ({}): traffic passes unshaped{}; "
        "readiness dropped; restart sluiced to re-attach",
        broken, on ? "" : " (setting the bypass flag failed: " + on.error().message() + ")");
  } else {
    auto down = shaper_.setInterfacesDown();
    std::ofstream marker(fs::path(stateDir_) / kFailClosedFile);
    for (const ha::InterfaceHealth& i : shaper_.healthSnapshot().interfaces) {
      marker << i.name << "\n";
    }
    message = fmt::format(
        "fail-closed: the data plane is broken ({}): shaping interfaces set "
        "down{}; restart sluiced to re-attach",
        broken, down ? "" : " (failed: " + down.error().message() + ")");
  }
  spdlog::error("ha: {} (was: {})", message, verdict.reason());
  std::lock_guard lock(mutex_);
  failEngaged_ = message;
}

void HaService::recordRun(const ha::HookRun& run) {
  const char* action = ha::hookActionName(run.action);
  if (run.ok) {
    spdlog::warn("ha: routing hook {} ran ({:.0f} ms): {}", action, run.durationMs, run.detail);
  } else {
    spdlog::error("ha: routing hook {} FAILED ({:.0f} ms): {}; retrying", action, run.durationMs,
                  run.detail);
  }
  if (!run.ok) {
    return;
  }
  nlohmann::json events;
  {
    std::lock_guard lock(mutex_);
    (run.action == ha::HookAction::Drain ? lastDrain_ : lastRestore_) = isoNow();
    events = {{"last_drain", lastDrain_ ? nlohmann::json(*lastDrain_) : nlohmann::json()},
              {"last_restore", lastRestore_ ? nlohmann::json(*lastRestore_) : nlohmann::json()}};
  }
  if (auto saved =
          writeFileAtomically((fs::path(stateDir_) / kEventsFile).string(), events.dump(2) + "\n");
      !saved) {
    spdlog::warn("ha: {}", saved.error().message());
  }
}

nlohmann::json HaService::liveness() const {
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_);
  std::lock_guard lock(mutex_);
  return {
      {"status", "alive"}, {"pid", getpid()}, {"ready", last_.ready}, {"uptime_s", uptime.count()}};
}

nlohmann::json HaService::readiness() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = last_.toJson();
  out["role"] = config_.role;
  out["fail_mode"] = config_.failMode == config::FailMode::Open ? "open" : "closed";
  out["fail_engaged"] = failEngaged_.empty() ? nlohmann::json() : nlohmann::json(failEngaged_);
  out["hook"] = hookJson_;
  out["checked_ms_ago"] = std::chrono::duration<double, std::milli>(Clock::now() - lastAt_).count();
  return out;
}

bool HaService::ready() const {
  std::lock_guard lock(mutex_);
  return last_.ready;
}

nlohmann::json HaService::identity() const {
  nlohmann::json out = shaper_.haIdentity();
  const std::string drillPath = config_.drillRecord.empty()
                                    ? (fs::path(stateDir_) / "ha-drill.json").string()
                                    : config_.drillRecord;
  std::ifstream in(drillPath);
  const nlohmann::json drill = nlohmann::json::parse(in, nullptr, false);
  std::lock_guard lock(mutex_);
  out["role"] = config_.role;
  out["peer"] = config_.peer;
  out["fail_mode"] = config_.failMode == config::FailMode::Open ? "open" : "closed";
  out["ready"] = last_.toJson();
  out["hook"] = hookJson_;
  out["last_failover"] = lastDrain_ ? nlohmann::json(*lastDrain_) : nlohmann::json();
  out["last_drill"] =
      drill.is_object() && drill.contains("time") ? drill["time"] : nlohmann::json();
  return out;
}

}  // namespace sluice::daemon
