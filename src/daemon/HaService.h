#pragma once
// sluiced's HA owner (docs/ha.md): a thread that twice a second reads the shaper's health facts
// (Shaper::healthSnapshot), decides readiness (ha/Readiness.h), engages the fail mode when the
// data plane is broken, and drives the routing hook (ha/RoutingHook.h). The operator API serves
// its answers: GET /health (liveness), GET /ready (readiness, 200 or 503), GET /api/ha (the HA
// identity, ha/Parity.h).
//
// Fail mode ([ha] fail_mode), engaged once, when the shaper is running and a shaping interface
// lost our XDP program or tc classifier, or the pinned maps are gone:
//   open    sets the data plane's bypass flag (traffic passes unshaped; re-asserted every tick,
//           a reload would clear it), raises an urgent issue; readiness drops (the dataplane
//           rule), so the hook moves traffic to the peer.
//   closed  sets the shaping interfaces down (nothing forwards, the routers see the links go),
//           records that in <state_dir>/ha-fail-closed, raises an urgent issue. The next start
//           sets them up again.
// Either stays engaged until sluiced restarts (the restart re-attaches and adopts the tree).
//
// The routing hook treats this sluiced as starting (its [ha] start_grace_seconds apply) until it
// has been ready once: a restart that adopts a running data plane moves no traffic, while a start
// that stays unready drains after the grace.
//
// Orderly stop (SIGTERM): the drain command runs before the shaper removes its tree, so
// maintenance moves traffic first. A SIGKILL runs nothing: the pinned data plane keeps shaping.
// Hook runs are recorded in <state_dir>/ha-events.json (last drain, last restore).
//
// Thread rules: start/stop from main; the accessors from the API threads (mutex-protected,
// never waiting for a tick or a hook command).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/Config.h"
#include "daemon/Shaper.h"
#include "ha/Readiness.h"
#include "ha/RoutingHook.h"

namespace sluice::daemon {

class HaService {
 public:
  /// `shaper` must be started and outlive this object. `stateDir`: where ha-events.json and the
  /// fail-closed marker live.
  HaService(Shaper& shaper, config::HaConfig config, std::string stateDir,
            std::chrono::milliseconds tick = std::chrono::milliseconds(500));
  ~HaService();
  HaService(const HaService&) = delete;
  HaService& operator=(const HaService&) = delete;

  /// Brings up interfaces a fail-closed run left down, evaluates once and starts the thread.
  void start();
  /// Stops the thread; then, with a drain command configured and the routes not drained, runs
  /// it (bounded by the hook timeout). Idempotent.
  void stop();

  /// GET /health: {"status": "alive", "pid", "state", "uptime_s"}.
  nlohmann::json liveness() const;
  /// GET /ready: the last verdict ({"ready", "reason", "checks"}) plus "role", "fail_mode",
  /// "fail_engaged" (null or why), "hook" (RoutingHook::toJson), "checked_ms_ago".
  nlohmann::json readiness() const;
  /// The last verdict's ready flag.
  bool ready() const;
  /// GET /api/ha: the HA identity (ha/Parity.h) without "peak" (OperatorServices adds it from
  /// telemetry).
  nlohmann::json identity() const;

 private:
  void loop();
  void tick();
  void engageFailMode(const ha::Readiness& verdict);
  void recordRun(const ha::HookRun& run);

  Shaper& shaper_;
  config::HaConfig config_;
  std::string stateDir_;
  std::chrono::milliseconds tickInterval_;
  std::chrono::steady_clock::time_point started_;

  /// Used by the tick thread only (and by stop() after joining it): hook commands never run
  /// under mutex_.
  ha::RoutingHook hook_;
  bool everReady_ = false;  ///< readiness was seen since this sluiced started

  mutable std::mutex mutex_;  ///< guards everything below
  nlohmann::json hookJson_;   ///< hook_.toJson() after the last tick
  ha::Readiness last_;
  std::chrono::steady_clock::time_point lastAt_{};
  std::string failEngaged_;                 ///< "" = not engaged
  std::optional<std::string> lastDrain_;    ///< ISO time
  std::optional<std::string> lastRestore_;  ///< ISO time

  std::mutex wakeMutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace sluice::daemon
