#pragma once
// The daemon's side of RADIUS (docs/radius.md): the listeners (radius::Server) when [radius] (or
// LibreQoS's [radius_accounting]) is enabled, and one apply thread that turns the session table
// into dynamic circuits of the Shaper's overlay (model/Overlay.h):
//
//   listener threads ──events──► dirty flag ──► apply thread: wait batch_window_ms (the rest of a
//   burst arrives), map every session (radius/CircuitMapping.h) against the inputs in force,
//   diff with what the overlay holds, one Shaper::changeOverlay(ReloadTrigger::Radius) for all
//   of it, save the sessions (radius/SessionStore.h).
//
// One plan per batch, however many sessions changed: a burst of 10,000 Starts costs a handful of
// plans. A CoA's new rate is one class change in the bakery; a Disconnect, Stop or TTL expiry
// removes the circuit's classes and map entries. Entries the overlay skips (their address or ID
// is in ShapedDevices.csv: the operator wins) are pending with the overlay's reason. A failed
// change is retried every few seconds. At a start of sluiced the saved sessions still alive
// (TTL, stale grace) are mapped before the shaper's first plan (restore() for
// Shaper::setStartOverlay) and their circuits are in that plan; start() puts the sessions back in
// the table (adopt()). Without that step, the first batch applies them. The apply thread also
// re-maps when the inputs in force change (an operator reload may add the ShapedDevices row a
// session matches).
// OperatorServices owns it; GET /api/radius, the status "radius" object and /metrics read it.

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "daemon/Shaper.h"
#include "radius/Server.h"
#include "radius/SessionStore.h"
#include "radius/Settings.h"

namespace sluice::daemon {

class RadiusService {
 public:
  /// `shaper` must be started and outlive this object; `stateDirectory` holds radius/.
  RadiusService(Shaper& shaper, std::string configPath, std::string stateDirectory);
  ~RadiusService();
  RadiusService(const RadiusService&) = delete;
  RadiusService& operator=(const RadiusService&) = delete;

  /// What restore() prepared for the first plan of a start.
  struct Restored {
    bool read = false;  ///< [radius] enabled: the sessions file was read (or found unreadable)
    std::vector<radius::Session> sessions;           ///< saved sessions still alive
    std::map<std::string, model::Circuit> circuits;  ///< the dynamic circuits they map to
    size_t expired = 0;  ///< saved sessions whose TTL or stale grace ran out meanwhile
    std::string error;   ///< the sessions file could not be read
  };
  /// The saved sessions, for Shaper::setStartOverlay: reads the settings from `inputs.config`
  /// (nothing when invalid or disabled: start() reports that), loads the sessions file (the
  /// settings' sessions_file, else <stateDirectory>/radius/sessions.json), drops the sessions
  /// the table's expiry would drop now (radius::SessionTable::expire: TTL, stale grace), maps
  /// the rest against `inputs` as a batch does (radius/CircuitMapping.h) and adds their circuits
  /// to `overlay.circuits`. An unreadable file is logged and restores nothing.
  static Restored restore(const model::Inputs& inputs, const std::string& configPath,
                          const std::string& stateDirectory, model::Overlay& overlay);
  /// Before start(): start() takes the sessions from `restored` instead of reading the file, and
  /// counts their circuits as applied when the overlay in force holds them (the first batch then
  /// finds nothing to change); else the first batch applies them as without restore().
  void adopt(Restored restored);

  /// Reads the settings from the config in force; when enabled loads the clients' secrets,
  /// restores the saved sessions, binds the listeners and starts the apply thread. Disabled: a
  /// no-op. Errors: invalid settings (radius::readRadiusSettings), an unreadable secret file,
  /// the listeners' bind errors. Nothing is left running on error, and the circuits restore()
  /// put in the first plan are removed from the overlay (nothing would expire them).
  Result<void> start();
  /// Stops the listeners and the apply thread (a batch in progress finishes) and saves the
  /// sessions. The dynamic circuits stay in the overlay and the kernel. Idempotent.
  void stop();

  bool running() const { return server_ != nullptr; }
  /// Why start() failed ("" when it did not): shown in status so the operator sees it.
  const std::string& startError() const { return startError_; }

  /// GET /api/radius: {"enabled", "listen", "counters" {...}, "sessions" [...], "pending" [...],
  /// "circuits", "apply" {...}, "recent_refusals" [...]}.
  nlohmann::json status() const;
  /// The one-line summary for /api/status: {"enabled", "listen", "sessions", "circuits",
  /// "pending", "rejected", "last_apply"}.
  nlohmann::json summary() const;
  /// Prometheus text of the counters (requests by type, rejected by reason, sessions by state,
  /// applies), appended to /metrics.
  std::string metrics() const;

  /// True when circuit `c` is a dynamic circuit of RADIUS (model::Circuit::where).
  static bool owns(const model::Circuit& c);

 private:
  struct Mapped {
    std::map<std::string, model::Circuit> circuits;  ///< by circuit ID
    nlohmann::json pending = nlohmann::json::array();
    nlohmann::json sessions = nlohmann::json::array();
  };
  Result<void> startListeners();
  void onEvents(const std::vector<radius::SessionEvent>& events);
  void applyLoop();
  /// Maps the table against the inputs in force and applies the difference (apply thread).
  void applyOnce();
  Mapped mapAll(const std::vector<radius::Session>& sessions) const;
  static Mapped mapSessions(const std::vector<radius::Session>& sessions,
                            const radius::RadiusSettings& settings, const model::Inputs& inputs);
  void save(const std::vector<radius::Session>& sessions);
  /// The table's monotonic seconds and Unix seconds now (radius/SessionStore.h).
  static radius::ClockPair clocks();

  Shaper& shaper_;
  std::string configPath_;
  std::string stateDirectory_;
  radius::RadiusSettings settings_;
  std::string sessionsFile_;
  std::unique_ptr<radius::Server> server_;
  std::string startError_;
  std::optional<Restored> restored_;  ///< adopt()'s, until start() takes it

  std::thread applyThread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool dirty_ = false;
  bool stopping_ = false;

  // Apply thread state (read by status() under mutex_).
  std::map<std::string, model::Circuit> applied_;  ///< what the overlay holds for RADIUS
  nlohmann::json pending_ = nlohmann::json::array();
  nlohmann::json sessionsJson_ = nlohmann::json::array();
  uint64_t inputsVersion_ = 0;
  uint64_t batches_ = 0, applyFailures_ = 0, circuitsAdded_ = 0, circuitsRemoved_ = 0,
           circuitsChanged_ = 0;
  double lastApplyMs_ = 0;
  std::string lastApplyOutcome_, lastApplyError_, lastApplyTime_;
  size_t lastBatchChanges_ = 0;
  std::deque<nlohmann::json> refusals_;  ///< the last few refused requests, newest last
};

}  // namespace sluice::daemon
