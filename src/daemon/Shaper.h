#pragma once
// The running shaper: owns the active inputs, the plan, the data plane (programs, pinned maps,
// mapping writer) and the tc tree, and changes them only through start(), reload() and stop().
//
// Lifecycle (DESIGN §1, issue "sluiced and the lab"):
//   start():  load inputs (falling back to the state directory's last-good copies when the files
//             are invalid) → probe tx queues and leaf kinds → plan (with the modules'
//             persisted overlay entries laid over the inputs: setStartOverlay) → open the data
//             plane (reusing pinned maps) → attach XDP on both ingresses and tc on both egresses
//             → adopt the live tree when it equals the plan, else build it → publish the address
//             map → ready.
//   reload(): valid inputs → new plan → the bakery (bakery/Bakery.h) applies the difference to
//             the active state as the smallest ordered set of tc ops and map updates (one epoch
//             bump); invalid inputs are refused and nothing changes. A reload that switches
//             queue_mode runs the transition: observe clears the mappings, then removes the
//             tree; shape builds it again and republishes.
//   start() adopts through the bakery's active state (<stateDir>/bakery/active.json): when the
//             live tree equals it, nothing is rebuilt (handles and counters continue); when a
//             tree of ours is there but differs (a SIGKILL mid-apply), only the differences are
//             reconciled; with no tree (or no active state) the tree is built.
//   drift:    after each apply and every DaemonOptions::driftInterval the live tree is compared
//             with the active state (a thread of the shaper); real drift marks reload required.
//   lazy:     with [queues] lazy_queues = Htb | Full (lazy/Materialize.h) the bakery applies the
//             plan materialized for the active circuits only; a thread of the shaper reads the
//             host counters every second (lazy/LazyTracker.h), activates circuits with new
//             traffic and expires idle ones in one bakery apply per tick, under the same mutex as
//             reloads. The active set carries over reloads by circuit ID and is recovered from
//             the bakery's active plan on a restart.
//   stop():   detach programs, remove the tree and unpin maps, unless keepOnExit.
// A SIGKILL skips stop(): programs, pinned maps and the tree stay and keep shaping, and the next
// start() adopts them.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include "api/ControlApi.h"
#include "common/Diagnostics.h"
#include "common/Error.h"
#include "config/Config.h"
#include "daemon/StateStore.h"
#include "ha/Readiness.h"
#include "lazy/LazyTracker.h"
#include "model/Inputs.h"
#include "model/Overlay.h"
#include "planner/Pipeline.h"
#include "planner/QueuePlan.h"
#include "tc/Applier.h"

namespace sluice::bakery {
class Bakery;
class NetlinkOpRunner;
struct ApplyReport;
}  // namespace sluice::bakery

namespace sluice::dataplane {
class Dataplane;
class BpfMapWriter;
class XdpAttachment;
class TcAttachment;
}  // namespace sluice::dataplane

namespace sluice::daemon {

struct DaemonOptions {
  std::string configPath;
  std::string stateDir;    ///< "" = [sluice] state_directory
  std::string pinDir;      ///< "" = /sys/fs/bpf/sluice/<interfaces>
  bool keepOnExit = false;
  std::optional<uint32_t> txQueues;  ///< override the probed tx queue count (tests)
  std::chrono::seconds driftInterval{60};  ///< periodic drift check; 0 = after applies only
};

/// What started an apply: the operator's files (startup, SIGHUP, API, inotify, an integration
/// sync) or an overlay change of one of sluiced's modules (model/Overlay.h).
enum class ReloadTrigger : uint8_t { Startup, Sighup, Api, Inotify, Sync, Radius, StormGuard, TreeGuard };

class Shaper final : public api::ControlHandler {
 public:
  explicit Shaper(DaemonOptions options);
  ~Shaper() override;

  /// What a module's persisted overlay entries are checked against at start: the inputs start()
  /// loaded (the operator's files, or the state directory's last-good copies), without any
  /// overlay, their plan (before the leaf fallback), and the state directory in use.
  struct StartContext {
    const model::Inputs& inputs;
    const plan::QueuePlan& plan;
    std::string stateDirectory;
  };
  /// Adds the modules' persisted entries to `overlay` (each module its own fields).
  using StartOverlay = std::function<void(const StartContext&, model::Overlay&)>;
  /// Call before start(): the modules' persisted overlay entries (model/Overlay.h: RADIUS
  /// sessions, StormGuard adjustments, TreeGuard state) go into the FIRST plan start() applies,
  /// so a restart never shapes without them for a moment (docs/daemon.md, "The overlay").
  /// start() calls `load` once, after the inputs loaded and planned without errors and before
  /// anything touches the kernel; when it added entries, the inputs are planned again with them
  /// laid over (as changeOverlay plans), and overlay() holds them once started. `load` must not
  /// call the Shaper. An exception from `load`, or an overlay the planner refuses (each error
  /// logged), starts the shaper without any overlay: the modules find their entries missing from
  /// overlay() and put them through changeOverlay as they would without this step.
  void setStartOverlay(StartOverlay load) { startOverlay_ = std::move(load); }

  /// Brings the shaper up (see the header comment). Errors: invalid inputs with no last-good
  /// copy (every diagnostic is logged), a configured leaf kind the kernel lacks without
  /// [sluice] leaf_fallback, or the failing kernel operation. On error nothing is left attached.
  Result<void> start();

  /// Re-reads the inputs and applies them. Thread-safe (serialized with status()).
  api::Response reload(ReloadTrigger trigger);

  /// Changes the overlay (model/Overlay.h) with `edit` and applies the result through the bakery:
  /// the inputs in force (kept in memory; the files are not re-read) with the edited overlay laid
  /// over them are planned and the bakery applies the difference, which for a rate or leaf kind
  /// is one class or qdisc change and for a dynamic circuit its classes, leaves and address map
  /// entries. Batch many entries into one edit (one plan and one apply for all). Thread-safe
  /// (serialized with reload()). The answer is reload()'s: 200 applied/unchanged, 422 refused
  /// (the planner refused the overlaid inputs), 500 failed, 503 not ready; on any answer but 200
  /// the overlay and the kernel stay exactly as they were. Entries that do not fit the inputs
  /// are skipped with an "overlay-skipped" warning (listed under "skipped" in the answer) and
  /// stay in the overlay. Operator reloads lay the current overlay over the files they read.
  api::Response changeOverlay(const std::function<void(model::Overlay&)>& edit,
                              ReloadTrigger trigger);
  /// The overlay in force (a copy).
  model::Overlay overlay() const;

  /// Orderly shutdown (see the header comment). Idempotent.
  void stop();

  /// The operator's input files to watch for changes (config and the resolved network/devices
  /// paths), also when the shaper runs on the state directory's last-good copies.
  std::vector<std::string> watchedFiles() const;

  /// The control socket path ([sluice] control_socket of the active config).
  std::string controlSocket() const;

  /// The state directory in use (DaemonOptions::stateDir, else [sluice] state_directory); "" before
  /// start().
  std::string stateDirectory() const;

  /// What the running shaper implements, shared read-only with telemetry and the operator API.
  /// Replaced (never mutated) whenever a start or reload applies new inputs; `version` counts
  /// those. Both pointers are null before the first successful start.
  struct Snapshot {
    std::shared_ptr<const model::Inputs> inputs;
    std::shared_ptr<const plan::QueuePlan> plan;
    uint64_t version = 0;
  };
  Snapshot snapshot() const;

  /// File descriptors of the data plane's telemetry maps (owned by the shaper, valid until
  /// stop()); all -1 before start.
  struct MapFds {
    int hosts = -1;    ///< host counters (dataplane::readHostCounters)
    int flows = -1;    ///< flow table (dataplane::readFlows)
    int rttRing = -1;  ///< RTT ring buffer (dataplane::RttConsumer)
    int stats = -1;    ///< per-CPU statistics (dataplane::readStats)
  };
  MapFds mapFds() const;

  /// Compares the live tree with the active state now (also run after each apply and every
  /// driftInterval by the shaper's own thread). Real drift is logged, shown in status (drift,
  /// notices) and marks reload required. Returns the differences (empty = in sync).
  std::vector<std::string> checkDrift();

  // HA (ShaperHealth.cpp): the facts readiness is decided from and the fail-mode actions; the
  // rules are ha/Readiness.h, their owner daemon/HaService.h.

  /// Reads now, from the kernel and the shaper's records: phase, queue mode, whether our XDP
  /// program and tc classifiers are still attached on each shaping interface, whether the pin
  /// directory holds the maps, the bypass flag, the last drift check, the last reload's outcome
  /// and the newest input file's mtime. `urgent` and `now` are left for the caller.
  ha::HealthSnapshot healthSnapshot() const;
  /// Sets (fail-open) or clears the data plane's SLUICE_CFG_BYPASS flag: XDP and tc pass every
  /// packet unclassified. Errors: ENODEV before start; else the config map's errno.
  Result<void> setBypass(bool on);
  /// Fail-closed: sets every shaping interface administratively down, so nothing forwards and
  /// the routers see the links go. Errors: netlink, naming the interface.
  Result<void> setInterfacesDown();
  /// What this shaper contributes to its HA identity (ha/Parity.h): "version", "node_name",
  /// "queue_mode", "leaf", "queues", "interfaces" (role, name, speed_mbps from sysfs or null,
  /// tx_queues), "inputs" (SHA-256 of the active network.json, ShapedDevices.csv and overrides
  /// file as they are on disk now; "" when unreadable) and "plan_sha256" (ha::planFingerprint of
  /// the active plan). Hashes the files outside the shaper's mutex.
  nlohmann::json haIdentity() const;

  api::Response status() override;
  api::Response reload() override { return reload(ReloadTrigger::Api); }
  api::Response check() override;

 private:
  struct ReloadRecord {
    std::chrono::system_clock::time_point time;
    ReloadTrigger trigger = ReloadTrigger::Startup;
    std::string outcome;  ///< applied | unchanged | refused | failed
    double durationMs = 0;
    std::string message;
  };
  struct Refusal {
    std::chrono::system_clock::time_point time;
    Diagnostics diagnostics;
  };

  /// The inputs of a run as loaded, before the overlay and the planner added to them.
  struct BaseCapture {
    /// A copy of the loaded inputs, taken only when an overlay was laid over them (null: the
    /// run's inputs minus its later diagnostics are the base).
    std::shared_ptr<const model::Inputs> inputs;
    size_t diagnostics = 0;  ///< diagnostics before the overlay and the planner
  };
  /// Loads, validates and plans `paths` with this daemon's queue override, laying `overlay` (if
  /// any) over the inputs before planning; fills `base` when given.
  plan::PipelineResult runPipeline(const model::InputPaths& paths,
                                   const model::Overlay* overlay = nullptr,
                                   BaseCapture* base = nullptr) const;
  /// reload()'s apply, for a run of the pipeline or of an overlay change (mutex_ held): checks
  /// the plan, applies it through the bakery and, on success, makes `run` the inputs in force
  /// with `overlay` and `base`. `recordRefusal`: a refused run is the operator's refusal
  /// (urgent, status), which an overlay change's is not.
  api::Response applyRun(ReloadTrigger trigger, plan::PipelineResult run, model::Overlay overlay,
                         BaseCapture base, bool recordRefusal,
                         std::chrono::steady_clock::time_point t0);
  /// Replaces leaves of kinds the kernel lacks by [sluice] leaf_fallback (recording why), or
  /// fails with EOPNOTSUPP naming the kind and class when no fallback is configured.
  Result<void> applyLeafFallback(plan::QueuePlan& plan, const config::Config& config);
  Result<void> openDataplane();
  Result<void> applyTree(const plan::QueuePlan& plan, bool adoptIfEqual);
  Result<void> publish(const plan::QueuePlan& plan);
  void record(ReloadTrigger trigger, std::string outcome, double ms, std::string message);
  nlohmann::json statusJson() const;
  /// start()'s step for setStartOverlay (mutex_ held): calls the loader with `run` (which must
  /// have a plan) and, when it added entries, replaces `run` by the inputs planned with them
  /// and makes them the overlay in force. Logs and leaves `run` as it is on any failure.
  void layStartOverlay(plan::PipelineResult& run, const std::string& stateDir);
  /// Start in shape mode through the bakery: adopt, reconcile or build (see the header comment).
  Result<void> startShaping(plan::QueuePlan full);
  /// checkDrift() with mutex_ held.
  std::vector<std::string> checkDriftLocked();
  void driftLoop();

  // Lazy queues.
  /// The plan the bakery applies for the planner's `full` plan: materialized for the tracker's
  /// active circuits with lazy queues on, else `full` itself.
  plan::QueuePlan desiredPlan(plan::QueuePlan full);
  /// Takes the lazy settings of `config` and the new full plan (start, reload).
  /// `full` is kept only with lazy queues on (pass an empty plan otherwise).
  void setLazyPlan(const config::Config& config, lazy::FullPlan full);
  void lazyLoop();
  /// One tracker tick: reads the host counters (without the mutex), then decides and applies.
  void lazyTick();
  nlohmann::json lazyJson() const;

  DaemonOptions options_;
  mutable std::mutex mutex_;
  std::string state_ = "starting";
  std::optional<StateStore> store_;
  /// The inputs the running shaper implements (shared with snapshot() readers, never mutated).
  std::shared_ptr<const model::Inputs> active_;
  /// The overlay in force and the inputs it was laid over (base_.inputs null: active_ is the
  /// base, with its first base_.diagnostics diagnostics), to plan an overlay change without
  /// reading the files again. The tx queues and CPUs of the last plan, for the same reason.
  model::Overlay overlay_;
  BaseCapture base_;
  StartOverlay startOverlay_;  ///< setStartOverlay()'s loader (null: start without an overlay)
  plan::TxQueueProbe probe_;
  uint32_t cpus_ = 1;
  /// What the kernel implements: the bakery's active plan (stabilized classids, circuit indices
  /// of the address map; with lazy queues, idle circuits have no class: classid 0:0). Shared
  /// with snapshot() readers, never mutated.
  std::shared_ptr<const plan::QueuePlan> plan_;
  uint64_t planVersion_ = 0;             ///< bumped whenever active_/plan_ change
  mutable Snapshot snapshotCache_;       ///< active_/plan_ at snapshotCache_.version
  std::optional<tc::LeafCapabilities> caps_;
  std::string leafConfigured_;
  std::string leafActive_;
  std::string fallbackReason_;
  std::string holderFallback_;  ///< why queue_holder = "tbf" is off ("" = as configured)
  std::vector<std::pair<std::string, uint32_t>> txQueues_;  ///< interface -> tx queues
  bool adopted_ = false;
  std::vector<std::string> notices_;
  std::vector<std::string> watched_;  ///< the operator's input files (never the last-good copies)  ///< operator-visible problems that do not stop shaping
  std::optional<ReloadRecord> lastReload_;
  std::optional<Refusal> refused_;

  /// What the bakery did last (start or reload) and the last queue_mode transition.
  struct ApplyRecord {
    std::chrono::system_clock::time_point time;
    std::string mode;  ///< bakery::ApplyReport::mode, "observe", or "adopt"/"reconcile" at start
    std::map<std::string, size_t> counts;  ///< change kind name -> count
    size_t tcOps = 0;
    size_t mapUpserts = 0;
    size_t mapRemovals = 0;
    double durationMs = 0;
    std::string reason;
    uint64_t sequence = 0;  ///< applies_ at the time (tests wait for a given apply)
  };
  struct DriftRecord {
    std::chrono::system_clock::time_point time;
    std::vector<std::string> differences;
    std::string error;  ///< the live tree could not be read
  };
  void recordApply(const bakery::ApplyReport& report);

  std::string queueMode_ = "shape";  ///< the mode the kernel implements: shape | observe
  uint64_t applies_ = 0;  ///< applies recorded since start (noops are not)
  std::optional<ApplyRecord> lastApply_;
  std::optional<ApplyRecord> lastTransition_;  ///< last shape <-> observe switch
  std::optional<DriftRecord> lastDrift_;
  size_t reconciled_ = 0;  ///< differences fixed at start (SIGKILL mid-apply)

  std::unique_ptr<tc::NetlinkApplier> applier_;
  std::unique_ptr<bakery::NetlinkOpRunner> runner_;
  std::unique_ptr<bakery::Bakery> bakery_;
  std::thread driftThread_;
  std::condition_variable driftWake_;
  bool driftStop_ = false;
  config::LazyQueues lazyMode_ = config::LazyQueues::No;
  std::optional<lazy::FullPlan> fullPlan_;  ///< the planner's plan (lazy modes only)
  lazy::LazyTracker tracker_;
  uint64_t lazyActivations_ = 0;
  uint64_t lazyExpirations_ = 0;
  uint64_t lazyTicks_ = 0;
  double lazyLastTickMs_ = 0;   ///< read + decide + apply of the last tick
  double lazyLastApplyMs_ = 0;  ///< the last tick that changed something: its bakery apply
  size_t lazyLastHosts_ = 0;
  std::string lazyLastError_;
  std::thread lazyThread_;
  std::condition_variable lazyWake_;
  std::unique_ptr<dataplane::Dataplane> dataplane_;
  std::unique_ptr<dataplane::BpfMapWriter> writer_;
  std::vector<dataplane::XdpAttachment> xdp_;
  std::vector<dataplane::TcAttachment> tcFilters_;
  bool stopped_ = false;
};

}  // namespace sluice::daemon
