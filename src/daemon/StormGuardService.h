#pragma once
// The daemon's side of StormGuard (stormguard/Engine.h, docs/stormguard.md): a 1 s tick thread
// that reads the watched nodes' signals from the telemetry collector, runs the engine, and puts
// its decisions in force through Shaper::changeOverlay (ReloadTrigger::StormGuard: one HTB class
// change per node direction, plus the circuits whose ceil the new rate caps); the adjustments
// persisted in <state dir>/stormguard/adjustments.json and replayed into the first plan of a
// start (restore() for Shaper::setStartOverlay, then adopt()); the route
// GET /api/stormguard, its Prometheus families, and its entries in /api/urgent. OperatorServices
// owns it. In a dry run (the default) it logs and shows what it would do and changes nothing.
//
// Settings are re-read from the config in force after every reload; leaving live mode (disabled
// or dry_run) returns every node to its plan and clears the state file.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/Http.h"
#include "daemon/Shaper.h"
#include "stormguard/ActivePinger.h"
#include "stormguard/Engine.h"

namespace sluice::daemon {

class StormGuardService {
 public:
  /// The watched nodes' signals now (node name -> signals); called once per tick.
  using SignalSource = std::function<std::map<std::string, stormguard::NodeSignals>()>;

  /// `shaper` must be started and outlive this object; `stateDirectory` holds stormguard/.
  StormGuardService(Shaper& shaper, std::string stateDirectory, SignalSource signals);
  ~StormGuardService();

  /// What restore() prepared for the first plan of a start.
  struct Restored {
    bool read = false;  ///< live mode: the state file was read (or found unreadable)
    std::optional<stormguard::Engine> engine;  ///< the watched set with the replayed adjustments
    std::vector<std::string> missing;          ///< targets not watched, with why
    std::vector<std::string> discarded;        ///< "node: why" of each adjustment not replayed
    std::string error;                         ///< the state file could not be read
  };
  /// The adjustments of the last run, for Shaper::setStartOverlay: reads [stormguard] from
  /// `inputs.config` and, in live mode, <stateDirectory>/stormguard/adjustments.json; replays
  /// them on the watched set of `inputs` and `plan` (the start's, without an overlay) with the
  /// same rules as a replay after start (stormguard::Engine::replay: same plan and network.json
  /// rates, else discarded) and sets `overlay.nodeRates` to the replayed rates. An unreadable
  /// state file is logged and set in `error` (nothing replayed); invalid settings, a dry run or
  /// a disabled StormGuard replay nothing (the service reports them as without this step).
  static Restored restore(const model::Inputs& inputs, const plan::QueuePlan& plan,
                          const std::string& stateDirectory, model::Overlay& overlay);
  /// Before start(): continues from `restored` (the engine, the discards as events, the state
  /// file's error as an event). When the overlay in force lacks the replayed rates (the shaper
  /// started without them), the first tick puts them through changeOverlay as without restore().
  void adopt(Restored restored);

  /// Starts the tick thread. Idempotent.
  void start();
  /// Stops the tick thread (adjustments stay in force and persisted, for the next start).
  void stop();

  /// One tick now (the thread calls it every second; tests call it directly). `now`: monotonic
  /// seconds; `wallSeconds`: UNIX time.
  void tick(double now, double wallSeconds);

  /// GET /api/stormguard[?history=1]: {"enabled", "dry_run", "live", "strategy", "phase",
  /// "error", "missing", "nodes": [...] (Engine::status), "events": [...] (newest last)}.
  api::HttpResponse status(const api::HttpRequest& req);
  /// {severity, kind, message} for /api/urgent: every node held below its plan (info), recent
  /// discarded adjustments (warning), a failing apply or settings error (error).
  nlohmann::json urgentIssues() const;
  /// Prometheus families sluice_stormguard_* (docs/stormguard.md).
  std::string prometheus() const;

  /// The signals of every node of a GET /api/tree body (telemetry::Collector::tree()): down_bps,
  /// up_bps, rtt_p90_ms (else rtt_p50_ms), retransmit_pct.
  static std::map<std::string, stormguard::NodeSignals> signalsFromTree(const nlohmann::json& tree);

 private:
  void loop();
  /// After a new snapshot version (mutex_ held): settings, watched set, replay, overlay sync.
  void resync(const Shaper::Snapshot& snap, double wallSeconds);
  /// Puts engine_.overrides(pending) in force (live only). True when applied.
  bool applyOverrides(const std::vector<stormguard::NodeDecision>& pending, double wallSeconds,
                      const std::string& why);
  void persist();
  void event(double wallSeconds, std::string node, std::string what, bool applied);

  Shaper& shaper_;
  std::string statePath_;
  SignalSource signals_;

  mutable std::mutex mutex_;
  std::optional<stormguard::Engine> engine_;
  std::string error_;                  ///< settings or apply error ("" = none)
  std::vector<std::string> missing_;   ///< targets not watched, with why
  uint64_t seenVersion_ = 0;           ///< the snapshot version resync() last saw
  uint64_t ownVersion_ = 0;            ///< the version our last apply produced
  bool replayed_ = false;              ///< the state file was read (first resync)
  struct Event {
    double at = 0;
    std::string node;
    std::string what;
    bool applied = false;
  };
  std::deque<Event> events_;           ///< the last kEvents changes, discards and failures
  static constexpr size_t kEvents = 100;

  std::thread thread_;
  std::condition_variable wake_;
  bool stopping_ = false;
  /// delay_probe_active's ICMP probe (off under the other strategies); its own lock.
  stormguard::ActivePinger pinger_;
};

}  // namespace sluice::daemon
