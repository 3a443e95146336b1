#pragma once
// The daemon's side of TreeGuard (docs/treeguard.md): a thread that every [treeguard]
// tick_seconds reads the signals, runs treeguard::Controller and applies what it decided as ONE
// overlay change (Shaper::changeOverlay with ReloadTrigger::TreeGuard: circuitSqm for
// CAKE <-> fq_codel, virtualNodes for node virtualisation), the state file
// <state dir>/treeguard/state.json (written after every applied change; at a start of sluiced
// replayed into the shaper's first plan: restore() for Shaper::setStartOverlay, then adopt();
// without that step, by the first tick), the
// route GET /api/treeguard, the entries of /api/urgent and the Prometheus lines.
// OperatorServices owns it (created after the telemetry Collector, stopped before it).
//
// Signals: per circuit and node Mbit/s from the telemetry Collector's last tick (circuits() and
// tree(): the same numbers as /api/circuits and /api/tree), an RTT seen on a node when its
// rtt_p50_ms is set, no QoO score (Sluice does not compute one yet: the QoO rules never fire),
// and the busiest core's busy % between two readings of /proc/stat.
//
// TEST ONLY: when sluiced runs with the environment variable SLUICE_TREEGUARD_TEST_CPU_FILE set
// to a path, the busiest core's % is read from that file (one number) instead of /proc/stat on
// every tick; an unreadable or empty file means "unknown" (no CPU-driven change). The guest lab
// (tools/guest/treeguard.sh) drives the switch with it. Status shows "cpu_source": "test-file".
//
// [treeguard] is read from the config in force on start and after every reload whose
// [treeguard] differs: a changed section restarts TreeGuard with no state (every circuit back to
// its base and every node restored, in one overlay change), as a changed dry_run or enabled must.
// Thread rules: status(), urgentIssues() and prometheus() may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/ControlApi.h"
#include "api/Http.h"
#include "model/Overlay.h"
#include "telemetry/CpuStat.h"
#include "treeguard/Controller.h"

namespace sluice::telemetry {
class Collector;
}

namespace sluice::daemon {

/// What the service needs of the running daemon (the Shaper and the telemetry Collector in
/// sluiced; fakes in tests/unit/daemon).
struct TreeGuardHost {
  /// The inputs and plan in force, and a version that changes with every apply (Shaper::
  /// snapshot()). Null inputs: the shaper is not up; the tick waits.
  std::function<std::tuple<std::shared_ptr<const model::Inputs>,
                           std::shared_ptr<const plan::QueuePlan>, uint64_t>()>
      snapshot;
  /// The overlay in force (Shaper::overlay()).
  std::function<model::Overlay()> overlay;
  /// Shaper::changeOverlay(edit, ReloadTrigger::TreeGuard).
  std::function<api::Response(const std::function<void(model::Overlay&)>&)> changeOverlay;
  /// The Collector's /api/circuits body (all circuits) and /api/tree body, as of its last tick.
  std::function<nlohmann::json()> circuits;
  std::function<nlohmann::json()> tree;
  std::string stateDirectory;  ///< holds treeguard/state.json ("" = no persistence)
  std::string procStatPath = "/proc/stat";
  std::string testCpuFile;  ///< SLUICE_TREEGUARD_TEST_CPU_FILE ("" = read procStatPath)
};

class Shaper;

/// The host of sluiced: `shaper` (started) and `collector` must outlive the service; the state
/// directory is the shaper's; testCpuFile from SLUICE_TREEGUARD_TEST_CPU_FILE.
TreeGuardHost treeGuardHost(Shaper& shaper, telemetry::Collector& collector);

/// Turns the Collector's JSON into the controller's signals (Mbit/s = bps / 1e6).
treeguard::Signals signalsFromTelemetry(const nlohmann::json& circuits, const nlohmann::json& tree);

class TreeGuardService {
 public:
  explicit TreeGuardService(TreeGuardHost host);
  ~TreeGuardService();

  /// What restore() prepared for the first plan of a start.
  struct Restored {
    bool read = false;  ///< enabled and live with a state directory: the state file was looked at
    std::optional<treeguard::Settings> settings;
    std::unique_ptr<treeguard::Controller> controller;  ///< enrolled on the start's inputs
    treeguard::Decisions decisions;                     ///< what the state file brings back
    model::Overlay fields;  ///< TreeGuard's overlay fields with `decisions` applied
  };
  /// The state of the last run, for Shaper::setStartOverlay: reads [treeguard] from
  /// `inputs.config`; when enabled and not a dry run, enrols `inputs` and `plan` (the start's,
  /// without an overlay) as the first tick would, reads <stateDirectory>/treeguard/state.json,
  /// keeps what still fits (treeguard::Controller::restoreFrom) and sets
  /// `overlay.circuitSqm` and `overlay.virtualNodes` to it. A missing file restores nothing; an
  /// unreadable or invalid one is logged (as the first tick logs it) and restores nothing.
  static Restored restore(const model::Inputs& inputs, const plan::QueuePlan& plan,
                          const std::string& stateDirectory, model::Overlay& overlay);
  /// Before the first tick: continues from `restored` when the overlay in force holds its
  /// fields (the shaper planned them); else the first tick replays the state file through
  /// changeOverlay as without restore().
  void adopt(Restored restored);

  /// Starts the tick thread. Idempotent.
  void start();
  /// Stops the tick thread (a tick in progress finishes). Idempotent.
  void stop();

  /// One tick now, with the tick clock at `nowSeconds` (monotonic seconds) and the wall clock
  /// at `unixMs`: follows a changed snapshot or [treeguard], replays the state file once, reads
  /// the signals, decides and applies. The thread calls it every tick_seconds; tests call it
  /// directly (without start()).
  void tickOnce(double nowSeconds, int64_t unixMs);

  /// GET /api/treeguard (docs/api.md): settings, CPU, the last tick, per circuit and node state,
  /// the activity ring (newest first).
  nlohmann::json statusJson() const;
  api::HttpResponse status(const api::HttpRequest&) const;
  /// {severity, kind, message} entries for /api/urgent: "treeguard-failed" (warning) while the
  /// last apply failed, "treeguard" (info) summarising what TreeGuard holds changed when it
  /// holds anything, and the changes of the last 10 minutes (at most 5).
  nlohmann::json urgentIssues() const;
  /// Prometheus text: sluice_treeguard_{enabled,dry_run,cpu_max_pct,circuits_enrolled,
  /// circuit_directions_fq_codel,nodes_enrolled,nodes_virtual,deferred_changes,
  /// changes_total{kind,outcome}}.
  std::string prometheus() const;

 private:
  void loop();
  /// The busiest core's % since the previous reading (nullopt on the first or a failed read).
  std::optional<double> readCpu();
  /// Re-reads [treeguard] and re-enrols when the snapshot changed (mutex_ held).
  void follow(double nowSeconds, int64_t unixMs);
  /// Applies `decisions` (`lock` holds mutex_): one changeOverlay, made without mutex_ so that
  /// status readers never wait for the kernel, the outcome reported, the state saved.
  void apply(const treeguard::Decisions& decisions, double nowSeconds, int64_t unixMs,
             std::unique_lock<std::mutex>& lock);
  void save();

  TreeGuardHost host_;
  std::mutex tickMutex_;      ///< one tick at a time (the thread, or a test calling tickOnce)
  mutable std::mutex mutex_;  ///< the state below; not held while the shaper applies
  std::optional<treeguard::Settings> settings_;
  std::string settingsError_;
  std::unique_ptr<treeguard::Controller> controller_;
  uint64_t version_ = 0;
  bool restored_ = false;
  std::optional<telemetry::CpuTimes> lastCpu_;
  std::optional<double> cpuMaxPct_;
  nlohmann::json lastTick_ = nullptr;
  nlohmann::json lastApply_ = nullptr;  ///< the last changeOverlay's answer (tc ops, changes)
  std::string lastFailure_;             ///< the last apply's failure ("" after a success)
  double lastTickSeconds_ = 0;

  std::thread thread_;
  std::mutex wakeMutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace sluice::daemon
