// OperatorServices: the operator-facing services' lifecycle (telemetry, the web server, sync,
// RADIUS, HA, StormGuard, TreeGuard, captures, flow export), the 1 s telemetry tick and the
// rendered-body cache. Its HTTP and WebSocket routes: OperatorRoutes.cpp (reads, channels, HA)
// and OperatorWrites.cpp (circuit and lqos.conf changes); /api/urgent: OperatorUrgent.cpp.

#include "daemon/OperatorServices.h"

#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/WebServer.h"
#include "auth/Authenticator.h"
#include "config/ConfigLoader.h"
#include "daemon/CaptureService.h"
#include "daemon/HaService.h"
#include "daemon/PersistedOverlay.h"
#include "daemon/RadiusService.h"
#include "daemon/StormGuardService.h"
#include "daemon/SyncService.h"
#include "daemon/TreeGuardService.h"
#include "dataplane/Dataplane.h"
#include "flowexport/Exporter.h"
#include "netlink/Socket.h"
#include "telemetry/Collector.h"
#include "telemetry/MapRead.h"

#ifndef SLUICE_DEFAULT_WEB_ROOT
#define SLUICE_DEFAULT_WEB_ROOT ""
#endif

namespace sluice::daemon {

namespace {

using nlohmann::json;

constexpr auto kTickInterval = std::chrono::seconds(1);
/// Longest wait for RTT samples in one drainRtt call (bounds how long stop() waits).
constexpr int kRttWaitMs = 200;

std::string webRootFor(const config::Config& config) {
  if (!config.sluice.webRoot.empty()) {
    return config.sluice.webRoot;
  }
  // The build's web/ serves a sluiced run from that build tree; an installed sluiced (the .deb)
  // serves the installed copy, even on a machine that still holds the build tree.
  std::error_code ec;
  const std::string built = SLUICE_DEFAULT_WEB_ROOT;
  const std::string buildTree = std::filesystem::path(built).parent_path().string() + "/";
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (!built.empty() && !ec && self.starts_with(buildTree) &&
      std::filesystem::is_regular_file(built + "/index.html", ec)) {
    return built;
  }
  return "/usr/share/sluice/web";
}

std::string historyPathFor(const config::Config& config) {
  if (!config.sluice.historyDb.empty()) {
    return config.sluice.historyDb;
  }
  return config.sluice.stateDirectory + "/history.sqlite";
}

}  // namespace

OperatorServices::OperatorServices(Shaper& shaper, std::string configPath)
    : shaper_(shaper), configPath_(std::move(configPath)) {}

OperatorServices::~OperatorServices() { stop(); }

Result<void> OperatorServices::start() {
  const Shaper::Snapshot snap = shaper_.snapshot();
  const config::Config config = snap.inputs ? snap.inputs->config : config::Config{};

  telemetry::Options topts;
  topts.historyDbPath = historyPathFor(config);
  topts.historyMaxBytes = config.sluice.historyMaxBytes;
  topts.perCircuitMetrics = config.sluice.metricsPerCircuit;
  auto collector = telemetry::Collector::create(topts);
  if (!collector) {
    spdlog::warn("telemetry history disabled: {}", collector.error().message());
    topts.historyDbPath.clear();
    collector = telemetry::Collector::create(topts);
    if (!collector) {
      return std::unexpected(collector.error());
    }
  }
  collector_ = std::move(*collector);
  // NetFlow/IPFIX export ([flows], docs/flows.md), fed by the tick thread; off on bad settings.
  if (auto flows = flowexport::FlowExporter::fromConfig(config, configPath_); !flows) {
    spdlog::error("flow export off: {}", flows.error().message());
  } else {
    flowExport_ = std::move(*flows);
  }

  const bool tls = !config.sluice.tlsCertificate.empty() && !config.sluice.tlsPrivateKey.empty();
  auth::AuthOptions aopts;
  aopts.usersFile = auth::usersFilePath(config);
  aopts.secureCookie = tls;
  auth_ = std::make_unique<auth::Authenticator>(aopts);
  if (auto opened = auth_->open(); !opened) {
    spdlog::error("operator API users file: {} (TCP API answers 503 until fixed and restarted)",
                  opened.error().message());
    auth_.reset();
  } else if (!auth_->hasUsers()) {
    spdlog::warn("{}", auth::firstRunMessage(auth_->usersFile(), configPath_));
  }

  api::OperatorApiOptions options;
  options.webRoot = webRootFor(config);
  api_ = std::make_unique<api::OperatorApi>(*this, auth_.get(), options);
  treeguard_ = std::make_unique<TreeGuardService>(treeGuardHost(shaper_, *collector_));
  if (persisted_ != nullptr) {
    treeguard_->adopt(persisted_->takeTreeGuard());
  }
  treeguard_->start();

  tickThread_ = std::thread([this] { tickLoop(); });
  sync_ = std::make_unique<SyncService>(shaper_, configPath_, shaper_.stateDirectory());
  sync_->start();
  capture_ = std::make_unique<CaptureService>(shaper_);
  capture_->start();
  // StormGuard: node signals from the collector's node rollups, changes through the overlay.
  stormguard_ = std::make_unique<StormGuardService>(shaper_, shaper_.stateDirectory(), [this] {
    return StormGuardService::signalsFromTree(collector_->tree());
  });
  if (persisted_ != nullptr) {
    stormguard_->adopt(persisted_->takeStormGuard());
  }
  stormguard_->start();
  // RADIUS dynamic circuits ([radius]): a bad section or a port in use is the operator's to fix;
  // shaping goes on without it (the error is in status and GET /api/radius).
  radius_ = std::make_unique<RadiusService>(shaper_, configPath_, shaper_.stateDirectory());
  if (persisted_ != nullptr) {
    radius_->adopt(persisted_->takeRadius());
  }
  if (auto started = radius_->start(); !started) {
    spdlog::error("radius: not started: {}", started.error().message());
  }

  if (!config.sluice.webserverListen.empty()) {
    api::WebServerOptions wopts;
    wopts.listen = config.sluice.webserverListen;
    wopts.tlsCertificate = config.sluice.tlsCertificate;
    wopts.tlsPrivateKey = config.sluice.tlsPrivateKey;
    auto web = api::WebServer::start(wopts, *api_);
    if (!web) {
      // Shaping does not depend on the operator UI: keep running, say why it is not there.
      spdlog::error("operator API not served on TCP: {}", web.error().message());
      return {};
    }
    web_ = std::move(*web);
    spdlog::info("operator API on {}://{} (web UI from {})", tls ? "https" : "http",
                 wopts.listen, options.webRoot);
  }
  return {};
}

void OperatorServices::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (web_) {
    web_->stop();
  }
  if (radius_) {
    radius_->stop();
  }
  if (sync_) {
    sync_->stop();
  }
  if (capture_) {
    capture_->stop();
  }
  if (stormguard_) {
    stormguard_->stop();
  }
  if (treeguard_) {
    treeguard_->stop();
  }
  {
    std::lock_guard lock(tickMutex_);
    stopping_ = true;
  }
  tickWake_.notify_all();
  if (tickThread_.joinable()) {
    tickThread_.join();
  }
  if (flowExport_) {
    flowExport_->stop();  // exports what is pending
  }
  if (collector_) {
    if (auto r = collector_->flush(); !r) {
      spdlog::warn("telemetry history flush: {}", r.error().message());
    }
  }
}

void OperatorServices::tickLoop() {
  std::optional<netlink::Socket> tcSocket;
  if (auto s = netlink::Socket::open(); s) {
    tcSocket.emplace(std::move(*s));
  } else {
    spdlog::warn("telemetry: no tc statistics: {}", s.error().message());
  }
  uint64_t version = 0;
  std::string lastWarning;
  std::vector<sluice_flow_key> flowKeys;  // the flow exporter's reading, reused
  std::vector<sluice_flow> flowValues;
  auto next = std::chrono::steady_clock::now();
  while (true) {
    {
      std::lock_guard lock(tickMutex_);
      if (stopping_) {
        return;
      }
    }
    next += kTickInterval;
    const Shaper::Snapshot snap = shaper_.snapshot();
    if (snap.inputs && snap.plan && snap.version != version) {
      collector_->setPlan(snap.inputs, snap.plan);
      version = snap.version;
    }
    const Shaper::MapFds fds = shaper_.mapFds();
    telemetry::Sources sources{fds.hosts, fds.flows, fds.rttRing, fds.stats,
                               tcSocket ? &*tcSocket : nullptr};
    if (version != 0) {
      auto report = collector_->tick(sources);
      std::string warning = !report ? report.error().message()
                            : report->warnings.empty() ? std::string()
                                                       : report->warnings.front();
      if (warning != lastWarning && !warning.empty()) {
        spdlog::warn("telemetry tick: {}", warning);
      }
      lastWarning = std::move(warning);
      ++tickCount_;
      renderCache();
      if (flowExport_ && fds.flows >= 0) {
        if (auto read = telemetry::readFlowTable(fds.flows, flowKeys, flowValues); read) {
          flowExport_->tick(flowKeys, flowValues, flowexport::ExportClock::now());
        }
      }
    }
    // Until the next tick: collect RTT samples (the ring is small), or just wait.
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          next - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        break;
      }
      if (version != 0 && fds.rttRing >= 0) {
        const int wait = static_cast<int>(std::min<int64_t>(left.count(), kRttWaitMs));
        if (!collector_->drainRtt(sources, wait)) {
          std::unique_lock lock(tickMutex_);
          tickWake_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stopping_; });
        }
      } else {
        std::unique_lock lock(tickMutex_);
        tickWake_.wait_for(lock, left, [this] { return stopping_; });
      }
      std::lock_guard lock(tickMutex_);
      if (stopping_) {
        return;
      }
    }
    if (std::chrono::steady_clock::now() - next > 5 * kTickInterval) {
      next = std::chrono::steady_clock::now();  // fell far behind (suspend, overload): resync
    }
  }
}

std::string OperatorServices::render(const std::string& key) const {
  json body = key == "summary" ? collector_->summary()
              : key == "tree"  ? collector_->tree()
                               : collector_->unknown();
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void OperatorServices::renderCache() {
  const uint64_t tick = tickCount_.load();
  for (const char* key : {"summary", "tree", "unknown"}) {
    auto text = std::make_shared<const std::string>(render(key));
    std::lock_guard lock(cacheMutex_);
    cache_[key] = CacheEntry{tick, std::move(text)};
  }
}

std::string OperatorServices::cached(const std::string& key) {
  std::shared_ptr<const std::string> text;
  {
    std::lock_guard lock(cacheMutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      text = it->second.text;
    }
  }
  if (!text) {
    text = std::make_shared<const std::string>(render(key));
    std::lock_guard lock(cacheMutex_);
    cache_.try_emplace(key, CacheEntry{tickCount_.load(), text});
  }
  return *text;
}

}  // namespace sluice::daemon
