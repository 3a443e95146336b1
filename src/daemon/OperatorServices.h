#pragma once
// The daemon side of the operator API and telemetry (docs/api.md): one object that owns
//  - the telemetry Collector and its 1 s tick thread (fed Shaper::snapshot() whenever its
//    version changes, and Shaper::mapFds()),
//  - the Authenticator of the TCP listener (users file),
//  - the OperatorApi pipeline (api/OperatorApi.h) and the TCP WebServer, and serves the same
//    pipeline (trusted, no auth) on the control socket through handler(),
//  - the route implementations: status/reload/check from the Shaper, telemetry JSON from the
//    Collector (cached per tick), live circuit changes (api/LiveChanges.h: validate, write
//    ShapedDevices.csv atomically, reload), config get/validate/update, queue mode, urgent issues
//    (OperatorUrgent.cpp).
// main.cpp creates it after the Shaper started and stops it before the Shaper stops.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "api/OperatorApi.h"
#include "bakery/Bakery.h"
#include "common/Error.h"
#include "daemon/Shaper.h"

namespace sluice::api {
class WebServer;
}
namespace sluice::auth {
class Authenticator;
}
namespace sluice::telemetry {
class Collector;
}
namespace sluice::flowexport {
class FlowExporter;
}

namespace sluice::daemon {

class SyncService;
class CaptureService;
class StormGuardService;
class HaService;
class TreeGuardService;
class RadiusService;
class PersistedOverlay;

/// One kernel or data-plane capacity that a plan uses more than `threshold` of.
struct CapacityUse {
  std::string what;   ///< "qdiscs", "class-minors", "lpm-entries", "kernel-memory"
  uint64_t used = 0;  ///< objects, or bytes for kernel-memory
  uint64_t limit = 0;
  std::string message;  ///< for the operator, with both numbers and the percentage
};

/// The "capacity limits" urgent issues: every capacity of `plan` above `threshold` (0..1) of
/// its limit, counted as bakery::preflight counts them for one tree:
///  - qdiscs per interface (mq, HTB qdiscs, leaf qdiscs) vs Limits::maxQdiscsPerInterface,
///  - class minors per HTB qdisc vs Limits::maxMinorsPerQueue,
///  - address map entries vs Limits::lpmCapacity (skipped when 0),
///  - kernel memory: bakery::estimateMemory(plan) is what a hitless rebuild allocates again beside
///    the running tree, against `memoryAvailableBytes` minus Limits::memoryReserveBytes (skipped
///    when nullopt).
/// Preflight refuses a plan at 100 %; this warns before an operator gets there.
std::vector<CapacityUse> capacityLimits(const plan::QueuePlan& plan, const bakery::Limits& limits,
                                        std::optional<uint64_t> memoryAvailableBytes,
                                        double threshold = 0.8);

class OperatorServices final : public api::OperatorBackend {
 public:
  /// `configPath` is the lqos.conf sluiced runs on (live changes and config updates write the
  /// files it names). `shaper` must be started and outlive this object.
  OperatorServices(Shaper& shaper, std::string configPath);
  ~OperatorServices() override;

  /// Opens the history database and the users file, starts the tick thread and, unless
  /// [sluice] webserver_listen is empty, the TCP listener. Problems of telemetry history or of
  /// the users file are logged and degrade (no history; TCP answers 503 except static files),
  /// and so is a TCP listener that cannot bind (shaping does not depend on the UI). Errors: the
  /// telemetry Collector cannot be created even without history.
  Result<void> start();
  /// Stops the TCP listener and the tick thread, flushes the history. Idempotent.
  void stop();

  /// The request pipeline for the control socket (ControlServer::start(path, handler())).
  api::RequestHandler& handler() { return *api_; }

  // api::OperatorBackend
  api::HttpResponse status(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse reload(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse check(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse summary(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse tree(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse circuits(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse circuit(const api::HttpRequest&, const std::string& id) override;
  api::HttpResponse addCircuit(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse patchCircuit(const api::HttpRequest&, const std::string& id) override;
  api::HttpResponse deleteCircuit(const api::HttpRequest&, const std::string& id) override;
  api::HttpResponse top(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse unknown(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse urgent(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse config(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse validateConfig(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse putConfig(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse queueMode(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse metrics(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse integration(const api::HttpRequest&, const std::string&) override;
  /// The HA owner whose answers GET /health, /ready and /api/ha serve (main.cpp sets it before
  /// start(); null: those routes answer 404). Must outlive this object.
  void setHa(HaService* ha) { ha_ = ha; }
  /// What the modules prepared for the shaper's first plan (daemon/PersistedOverlay.h; main.cpp
  /// sets it before start(), which hands each service its part; null: the services read their
  /// state files themselves).
  void setPersisted(PersistedOverlay* persisted) { persisted_ = persisted; }
  api::HttpResponse health(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse ready(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse ha(const api::HttpRequest&, const std::string&) override;

  /// GET /api/radius (daemon/RadiusService.h); 404 when [radius] is not enabled.
  api::HttpResponse radius(const api::HttpRequest&, const std::string&) override;

  /// GET /api/treeguard (daemon/TreeGuardService.h).
  api::HttpResponse treeguard(const api::HttpRequest&, const std::string&) override;

  /// GET /api/stormguard[?history=1] (daemon/StormGuardService.h).
  api::HttpResponse stormguard(const api::HttpRequest&, const std::string&) override;

  /// POST /api/capture, GET /api/capture, GET /api/capture/{id}[/status]
  /// (daemon/CaptureService.h).
  api::HttpResponse captureStart(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse captureList(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse captureGet(const api::HttpRequest&, const std::string& id) override;

  api::HttpResponse integrationRun(const api::HttpRequest&, const std::string&) override;
  api::HttpResponse integrationApprove(const api::HttpRequest&, const std::string&) override;
  std::pair<bool, std::string> channel(const std::string& name) override;

 private:
  void tickLoop();
  /// The dumped JSON of `key` ("summary", "tree", "unknown") as of the last tick. The tick
  /// thread renders them right after each tick (renderCache), so requests only copy text and
  /// never wait for a rollup or each other; before the first tick a request renders it.
  std::string cached(const std::string& key);
  std::string render(const std::string& key) const;
  void renderCache();
  nlohmann::json urgentJson();
  /// Writes `text` to `path` atomically and reloads; the response of a live change.
  api::HttpResponse persistAndReload(const std::string& path, const std::string& text);
  api::HttpResponse change(int kind, const std::string& id, const api::HttpRequest& req);

  Shaper& shaper_;
  std::string configPath_;
  std::unique_ptr<telemetry::Collector> collector_;
  std::unique_ptr<auth::Authenticator> auth_;
  std::unique_ptr<api::OperatorApi> api_;
  std::unique_ptr<api::WebServer> web_;
  std::unique_ptr<SyncService> sync_;
  std::unique_ptr<CaptureService> capture_;
  std::unique_ptr<StormGuardService> stormguard_;  ///< stopped before the Collector it reads
  std::unique_ptr<TreeGuardService> treeguard_;  ///< stopped before the Collector it reads
  std::unique_ptr<RadiusService> radius_;
  std::unique_ptr<flowexport::FlowExporter> flowExport_;  ///< [flows]; null when off
  HaService* ha_ = nullptr;
  PersistedOverlay* persisted_ = nullptr;

  std::mutex changeMutex_;  ///< serializes live changes, config writes and queue mode

  std::thread tickThread_;
  std::mutex tickMutex_;
  std::condition_variable tickWake_;
  bool stopping_ = false;
  std::atomic<uint64_t> tickCount_{0};

  std::mutex cacheMutex_;
  struct CacheEntry {
    uint64_t tick = 0;
    std::shared_ptr<const std::string> text;
  };
  std::unordered_map<std::string, CacheEntry> cache_;
  bool stopped_ = false;
};

}  // namespace sluice::daemon
