#pragma once
// The daemon's side of the integrations sync (integrations/Sync.h): one SyncRunner whose host is
// the Shaper (inputs in force, reload with trigger "sync"), its scheduler thread, the routes
// GET /api/integration, POST /api/integration/run[?dry_run=1], POST /api/integration/approve,
// and the urgent issues of a failed or held sync. OperatorServices owns it.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/Http.h"
#include "daemon/Shaper.h"
#include "integrations/Sync.h"
#include "integrations/SyncScheduler.h"

namespace sluice::daemon {

class SyncService {
 public:
  /// `shaper` must be started and outlive this object; `stateDirectory` holds sync/.
  SyncService(Shaper& shaper, std::string configPath, std::string stateDirectory);
  ~SyncService();

  /// Starts the scheduler (a no-op schedule in manual mode). Idempotent.
  void start();
  /// Stops the scheduler; a sync in progress finishes first. Idempotent.
  void stop();

  api::HttpResponse status(const api::HttpRequest&);
  /// 200 with the outcome for applied/unchanged/dry-run, 409 held, 502 failed.
  api::HttpResponse run(const api::HttpRequest&);
  api::HttpResponse approve(const api::HttpRequest&);

  /// {severity, kind, message} entries for /api/urgent: the last sync failed ("sync-failed"),
  /// or a sync waits for approval ("sync-held").
  nlohmann::json urgentIssues() const;
  /// The operating mode for status and ownership ("manual", "integration", "custom") and the
  /// integration's name ("" when none).
  std::pair<std::string, std::string> mode() const;
  /// Where circuit `id` of `inputs` comes from: "overrides" (the devices overrides file, where
  /// live API edits persist across syncs), the integration's name ("uisp", ...), "custom" (the
  /// custom pipeline), "radius" (a dynamic circuit of RADIUS accounting, daemon/RadiusService.h)
  /// or "file" (hand-written ShapedDevices.csv); "" for an unknown circuit.
  static std::string owner(const model::Inputs& inputs, const std::string& id,
                           const std::pair<std::string, std::string>& mode);

 private:
  static api::HttpResponse answer(const integrations::SyncOutcome& outcome);

  integrations::SyncRunner runner_;
  integrations::SyncScheduler scheduler_;
};

}  // namespace sluice::daemon
