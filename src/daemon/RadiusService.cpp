#include "daemon/RadiusService.h"

#include <chrono>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "radius/CircuitMapping.h"
#include "radius/SessionStore.h"

namespace sluice::daemon {

namespace {

using nlohmann::json;

/// How long a failed overlay change waits before the next try.
constexpr auto kRetry = std::chrono::seconds(3);
/// How often the apply thread checks whether the inputs in force changed (operator reloads).
constexpr auto kInputsCheck = std::chrono::seconds(1);
constexpr size_t kRefusalsKept = 20;

bool sameCircuit(const model::Circuit& a, const model::Circuit& b) {
  const auto sameDevices = [&] {
    if (a.devices.size() != b.devices.size()) {
      return false;
    }
    for (size_t i = 0; i < a.devices.size(); ++i) {
      const auto& x = a.devices[i];
      const auto& y = b.devices[i];
      if (x.ipv4 != y.ipv4 || x.ipv6 != y.ipv6 || x.mac != y.mac || x.name != y.name) {
        return false;
      }
    }
    return true;
  };
  return a.name == b.name && a.parentNode == b.parentNode &&
         a.downloadMinMbps == b.downloadMinMbps && a.uploadMinMbps == b.uploadMinMbps &&
         a.downloadMaxMbps == b.downloadMaxMbps && a.uploadMaxMbps == b.uploadMaxMbps &&
         a.sqm.down == b.sqm.down && a.sqm.up == b.sqm.up && sameDevices();
}

std::string nowText() {
  return fmt::format("{:%FT%TZ}",
                     std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

/// The circuit ID in an "overlay-skipped" message ("radius circuit <id> not applied: <why>").
std::pair<std::string, std::string> skippedEntry(const std::string& message) {
  constexpr std::string_view kPrefix = "radius circuit ";
  constexpr std::string_view kMid = " not applied: ";
  const size_t mid = message.find(kMid);
  if (!message.starts_with(kPrefix) || mid == std::string::npos) {
    return {};
  }
  return {message.substr(kPrefix.size(), mid - kPrefix.size()), message.substr(mid + kMid.size())};
}

}  // namespace

RadiusService::RadiusService(Shaper& shaper, std::string configPath, std::string stateDirectory)
    : shaper_(shaper),
      configPath_(std::move(configPath)),
      stateDirectory_(std::move(stateDirectory)) {}

RadiusService::~RadiusService() {
  stop();
}

bool RadiusService::owns(const model::Circuit& c) {
  return c.where.file == radius::kRadiusSource;
}

void RadiusService::adopt(Restored restored) {
  restored_ = std::move(restored);
}

radius::ClockPair RadiusService::clocks() {
  using namespace std::chrono;
  return {duration_cast<seconds>(steady_clock::now().time_since_epoch()).count(),
          duration_cast<seconds>(system_clock::now().time_since_epoch()).count()};
}

Result<void> RadiusService::start() {
  auto started = startListeners();
  startError_ = started ? "" : started.error().message();
  restored_.reset();
  if (!started) {
    // Nothing would expire or change the circuits of the sessions restored into the first plan:
    // they go, as they would not have come back without the listeners.
    size_t ours = 0;
    for (const auto& [id, c] : shaper_.overlay().circuits) {
      ours += owns(c) ? 1 : 0;
    }
    if (ours > 0) {
      const api::Response r = shaper_.changeOverlay(
          [](model::Overlay& o) {
            std::erase_if(o.circuits, [](const auto& e) { return owns(e.second); });
          },
          ReloadTrigger::Radius);
      spdlog::warn("radius: not running; the {} circuits of its saved sessions removed ({})", ours,
                   r.status == 200 ? "applied" : r.body.dump());
    }
  }
  return started;
}

Result<void> RadiusService::startListeners() {
  const auto inputs = shaper_.snapshot().inputs;
  if (!inputs) {
    return makeError(EAGAIN, "radius", "the shaper has no inputs yet");
  }
  auto settings = radius::readRadiusSettings(inputs->config, configPath_);
  if (!settings) {
    return std::unexpected(settings.error());
  }
  settings_ = std::move(*settings);
  if (!settings_.enabled) {
    return {};
  }
  std::vector<radius::Client> clients;
  for (const auto& c : settings_.clients) {
    auto client = radius::loadClient(c);
    if (!client) {
      return std::unexpected(client.error());
    }
    clients.push_back(std::move(*client));
  }
  sessionsFile_ = settings_.sessionsFile.empty() ? stateDirectory_ + "/radius/sessions.json"
                                                 : settings_.sessionsFile;
  std::optional<Restored> restored = std::exchange(restored_, std::nullopt);
  Result<std::vector<radius::Session>> saved = std::vector<radius::Session>{};
  if (restored && restored->read) {
    saved = std::move(restored->sessions);  // read before the first plan (restore())
  } else {
    restored.reset();
    saved = radius::loadSessions(sessionsFile_, clocks());
    if (!saved) {
      // The saved sessions are a cache of what the NASes will say again at their next interim.
      spdlog::warn("radius: saved sessions not restored: {}", saved.error().message());
    }
  }
  auto server = radius::Server::start(settings_.server, std::move(clients),
                                      [this](const auto& events) { onEvents(events); });
  if (!server) {
    return std::unexpected(server.error());
  }
  server_ = std::move(*server);
  if (saved && !saved->empty()) {
    spdlog::info("radius: {} saved sessions restored from {}", saved->size(), sessionsFile_);
    server_->dispatcher().restore(std::move(*saved));
  }
  // The circuits restore() put in the first plan count as applied when the overlay in force
  // holds them all (the first batch then changes nothing); else the first batch applies them.
  bool inForce = restored && !restored->circuits.empty();
  if (inForce) {
    const model::Overlay overlay = shaper_.overlay();
    for (const auto& [id, c] : restored->circuits) {
      const auto it = overlay.circuits.find(id);
      inForce = inForce && it != overlay.circuits.end() && sameCircuit(it->second, c);
    }
  }
  // The sessions as status shows them, until the first batch maps them again.
  Mapped mapped = inForce ? mapAll(server_->dispatcher().sessions()) : Mapped{};
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    dirty_ = true;  // the first batch applies the restored sessions (or clears stale entries)
    if (inForce) {
      pending_ = std::move(mapped.pending);
      sessionsJson_ = std::move(mapped.sessions);
      applied_ = restored->circuits;
      ++batches_;
      circuitsAdded_ += applied_.size();
      lastApplyOutcome_ = "applied";
      lastApplyTime_ = nowText();
      lastBatchChanges_ = applied_.size();
    }
  }
  applyThread_ = std::thread([this] { applyLoop(); });
  spdlog::info("radius: accounting on {}:{}, CoA {}", settings_.server.bindAddress,
               server_->accountingPort(),
               settings_.server.coaEnabled ? fmt::format("on port {}", server_->coaPort())
                                           : std::string("disabled"));
  return {};
}

void RadiusService::stop() {
  if (!server_) {
    return;
  }
  server_->stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (applyThread_.joinable()) {
    applyThread_.join();
  }
  save(server_->dispatcher().sessions());
  server_.reset();
}

void RadiusService::onEvents(const std::vector<radius::SessionEvent>& events) {
  std::lock_guard lock(mutex_);
  for (const auto& e : events) {
    if (e.kind == radius::EventKind::Refused) {
      refusals_.push_back({{"time", nowText()},
                           {"nas", e.session.nas},
                           {"acct_session_id", e.session.acctSessionId},
                           {"reason", e.reason}});
      if (refusals_.size() > kRefusalsKept) {
        refusals_.pop_front();
      }
    }
  }
  dirty_ = true;
  wake_.notify_all();
}

void RadiusService::applyLoop() {
  auto retryAt = std::chrono::steady_clock::time_point::max();
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kInputsCheck, [this] { return dirty_ || stopping_; });
      if (stopping_) {
        return;
      }
      const bool retry = std::chrono::steady_clock::now() >= retryAt;
      const uint64_t seen = inputsVersion_;
      // Never ask the shaper while holding mutex_: it may be planning (its mutex held), and the
      // listener threads need mutex_ to report events meanwhile.
      lock.unlock();
      const bool inputsChanged = shaper_.snapshot().version != seen;
      lock.lock();
      if (!dirty_ && !retry && !inputsChanged) {
        continue;
      }
      if (dirty_) {
        // The rest of a burst: collect for the batch window, then take everything at once.
        wake_.wait_for(lock, std::chrono::milliseconds(settings_.batchWindowMs),
                       [this] { return stopping_; });
        if (stopping_) {
          return;
        }
      }
      dirty_ = false;
    }
    applyOnce();
    std::lock_guard lock(mutex_);
    retryAt = lastApplyOutcome_ == "failed" ? std::chrono::steady_clock::now() + kRetry
                                            : std::chrono::steady_clock::time_point::max();
  }
}

void RadiusService::applyOnce() {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<radius::Session> sessions = server_->dispatcher().sessions();
  const uint64_t version = shaper_.snapshot().version;
  Mapped mapped = mapAll(sessions);

  size_t added = 0;
  size_t removed = 0;
  size_t changed = 0;
  std::map<std::string, model::Circuit> previous;
  {
    std::lock_guard lock(mutex_);
    previous = applied_;
  }
  for (const auto& [id, c] : mapped.circuits) {
    auto it = previous.find(id);
    if (it == previous.end()) {
      ++added;
    } else if (!sameCircuit(it->second, c)) {
      ++changed;
    }
  }
  for (const auto& [id, c] : previous) {
    removed += mapped.circuits.contains(id) ? 0 : 1;
  }
  // The overlay may hold RADIUS entries this service did not put there in this run (the first
  // plan's, when start() did not count them as applied), so the edit replaces every RADIUS-owned
  // entry.
  const bool overlayDiffers = [&] {
    const model::Overlay overlay = shaper_.overlay();
    size_t ours = 0;
    for (const auto& [id, c] : overlay.circuits) {
      ours += owns(c) ? 1 : 0;
    }
    return ours != mapped.circuits.size();
  }();

  json skipped = json::array();
  std::string outcome = "unchanged";
  std::string error;
  if (added + removed + changed > 0 || overlayDiffers) {
    const api::Response r = shaper_.changeOverlay(
        [&](model::Overlay& overlay) {
          std::erase_if(overlay.circuits, [](const auto& e) { return owns(e.second); });
          for (const auto& [id, c] : mapped.circuits) {
            overlay.circuits.insert_or_assign(id, c);
          }
        },
        ReloadTrigger::Radius);
    outcome = r.status == 200 ? r.body.value("outcome", "applied") : "failed";
    if (r.status != 200) {
      error = r.body.value("message", "");
      for (const auto& e : r.body.value("errors", json::array())) {
        error += (error.empty() ? "" : "; ") + (e.is_string() ? e.get<std::string>() : e.dump());
      }
      spdlog::error("radius: overlay change refused or failed (HTTP {}): {}", r.status, error);
    }
    skipped = r.body.value("skipped", json::array());
  } else if (const auto inputs = shaper_.snapshot().inputs) {
    // Nothing to change: the inputs in force carry the overlay's skips (e.g. the first plan's).
    for (const auto& d : inputs->diagnostics.warnings()) {
      if (d.category == "overlay-skipped") {
        skipped.push_back(d.message);
      }
    }
  }
  // Entries the overlay skipped are pending with its reason.
  for (const auto& message : skipped) {
    const auto [id, why] = skippedEntry(message.get<std::string>());
    if (id.empty() || !mapped.circuits.contains(id)) {
      continue;
    }
    for (json& s : mapped.sessions) {
      if (s["circuit_id"] == id) {
        s.erase("circuit");
        s["pending"] = "conflict";
        s["detail"] = why;
        mapped.pending.push_back(s);
      }
    }
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t versionAfter = shaper_.snapshot().version;
  {
    std::lock_guard lock(mutex_);
    if (outcome != "failed") {
      applied_ = mapped.circuits;
      circuitsAdded_ += added;
      circuitsRemoved_ += removed;
      circuitsChanged_ += changed;
      inputsVersion_ = versionAfter;
    } else {
      ++applyFailures_;
      inputsVersion_ = version;
    }
    if (outcome != "unchanged" || lastApplyOutcome_.empty()) {
      ++batches_;
      lastApplyMs_ = ms;
      lastApplyOutcome_ = outcome;
      lastApplyError_ = error;
      lastApplyTime_ = nowText();
      lastBatchChanges_ = added + removed + changed;
    }
    pending_ = std::move(mapped.pending);
    sessionsJson_ = std::move(mapped.sessions);
  }
  if (outcome != "unchanged") {
    spdlog::info("radius: batch {}: +{} -{} ~{} circuits in {:.1f} ms ({} sessions)", outcome,
                 added, removed, changed, ms, sessions.size());
  }
  save(sessions);
}

void RadiusService::save(const std::vector<radius::Session>& sessions) {
  if (auto ok = radius::saveSessions(sessionsFile_, sessions, clocks()); !ok) {
    spdlog::warn("radius: sessions not saved: {}", ok.error().message());
  }
}

}  // namespace sluice::daemon
