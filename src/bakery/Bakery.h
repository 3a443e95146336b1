#pragma once
// The bakery: turns every change of plan into the smallest safe set of kernel operations
// (issue 6; LibreQoS's "Bakery" is the model, with hitless rebuilds it does not have).
//
//   desired plan (planner) ──stabilizeHandles──▶ same classids/leaf handles as the active plan
//                          ──preflight────────▶ refused with the limit and the count, or
//                          ──diff─────────────▶ ChangeSet: add phase, map ops, delete phase
//                          ──run──────────────▶ tc ops (netlink), one epoch bump, tc deletes
//                          ──save─────────────▶ <stateDir>/bakery/active.json (the new active)
//
// Ordering rules (what makes a change safe):
//   1. add phase: HTB qdiscs, then classes parents before children, then new/rotated leaves;
//      in-place class changes (rate/ceil/prio/quantum) and leaf changes of the same kind;
//   2. address map: upserts and removals, then exactly one epoch bump, so no mapping ever points
//      at a class that does not exist yet;
//   3. delete phase: replaced leaves, then classes children before parents, then HTB qdiscs;
//      no mapping points at them any more.
// When the change cannot be made in place (interfaces, on-a-stick, r2q or default class changed;
// minors of a queue exhausted) the bakery rebuilds hitlessly: when the devices have a free tx
// queue, each queue of the new tree is built in a fresh HTB qdisc on a free tx queue, its
// circuits switch, and the old HTB qdisc goes in one message (bakery/SpareRebuild.h); otherwise
// the new tree is built beside the old one in other minors of the same HTB qdiscs, mappings
// switch with one epoch bump, the old leaves drain, the old classes go. Only when two trees do
// not fit (minors, qdisc handles, memory) does it rebuild with classification bypass, and says so.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"
#include "planner/QueuePlan.h"

namespace sluice::dataplane {
class MapWriter;
}
namespace sluice::netlink {
class Socket;
}

namespace sluice::bakery {

namespace detail {
struct PlanPatch;  // bakery/FastPatch.h
}

/// One kernel operation on one device.
struct TcOp {
  enum class Kind : uint8_t {
    AddRoot,         ///< mq root 7FFF: on `ifname`, with a `queue.holder` on every tx queue
    AddHtbQdisc,     ///< HTB qdisc `queue.major`: under plan::queueParentOf(queue)
    AddClass,        ///< `cls` under cls.parent
    ChangeClass,     ///< `cls` in place (same classid and parent; rate/ceil/quantum/prio)
    AddLeaf,         ///< `leaf` (handle leaf.handleMajor:) under `cls.classid`
    ChangeLeaf,      ///< `leaf` in place (same handle and kind, other parameters)
    DeleteLeaf,      ///< leaf `leaf.handleMajor:` under `cls.classid`
    DeleteClass,     ///< `cls.classid`
    DeleteHtbQdisc,  ///< HTB qdisc `queue.major`:
    DeleteRoot,      ///< the mq root of `ifname` (and so everything below it)
  };
  Kind kind = Kind::AddClass;
  std::string ifname;
  plan::HtbQueuePlan queue;  ///< AddHtbQdisc/DeleteHtbQdisc: major, txQueue, r2q, default (classes empty)
  plan::HtbClassPlan cls;    ///< class and leaf ops (cls.leaf is not used; see `leaf`)
  plan::LeafSpec leaf;       ///< leaf ops
};

/// The queue's settings without its classes (what TcOp::queue holds). Copies no class: a TcOp per
/// class that copied its whole queue cost gigabytes in a 30k-circuit build.
plan::HtbQueuePlan queueHeader(const plan::HtbQueuePlan& queue);

/// A class operation on `cls` of queue `q`: the class without its leaf in TcOp::cls, its leaf
/// (when it has one) in TcOp::leaf.
TcOp classOp(TcOp::Kind kind, const std::string& ifname, const plan::HtbQueuePlan& q,
             const plan::HtbClassPlan& cls);

/// "add class 1:5 parent 1:3 on eth1" (logs, test failure messages).
std::string describe(const TcOp& op);

/// The change classes of issue 6, counted per apply.
enum class ChangeKind : uint8_t {
  AddressAdded,
  AddressRemoved,
  AddressMoved,     ///< same prefix, other circuit/class
  CircuitAdded,
  CircuitRemoved,
  SpeedChange,      ///< circuit rate/ceil: HTB class change in place
  SqmChange,        ///< circuit leaf: changed in place, or a new leaf with a rotated handle
  ParentMove,       ///< circuit or node under another parent: staged add, remap, delete
  NodeAdded,
  NodeRemoved,
  NodeSpeedChange,
};
const char* changeKindName(ChangeKind kind);  ///< "address_added", "speed_change", ...

/// What one apply does, in order.
struct ChangeSet {
  std::vector<TcOp> addPhase;
  std::vector<plan::AddressMapping> upserts;  ///< map writes (new and changed prefixes)
  std::vector<IpNet> removals;                ///< map deletes (prefixes no longer mapped)
  bool bumpEpoch = false;                     ///< true when upserts or removals are non-empty
  std::vector<TcOp> deletePhase;
  std::map<ChangeKind, size_t> counts;
  /// Set when the change cannot be made in place; apply() then rebuilds (hitless when it fits).
  std::optional<std::string> rebuildReason;

  bool empty() const;
  size_t tcOpCount() const { return addPhase.size() + deletePhase.size(); }
};

/// Gives `desired` the classids and leaf handles `active` uses for the same circuits (by circuit
/// ID) and nodes (by name) on the same queue, so that adding one circuit never renumbers another
/// and a restart diffs against the kernel as it is. New circuits and nodes get free minors and
/// leaf handle majors not used by `active` (freed ones are reused only after they are deleted).
/// Address mappings of `desired` are rewritten to the stabilized classids.
/// Errors: ENOSPC when a queue runs out of minors (u16) or an interface out of qdisc handles,
/// naming the queue/interface and the count.
Result<void> stabilizeHandles(plan::QueuePlan& desired, const plan::QueuePlan& active);

/// The ordered operations that turn `active` into `desired` (both stabilized). Pure: no kernel.
/// An identical plan gives an empty ChangeSet (no-op detection).
ChangeSet diff(const plan::QueuePlan& active, const plan::QueuePlan& desired);

/// The fast path's result: the stabilized desired plan and its ChangeSet.
struct FastDiff {
  plan::QueuePlan stabilized;
  ChangeSet changes;
};
/// When `input` (a planner plan) has the same structure as `last` (the planner plan `active` was
/// stabilized from: same interfaces, queues, classes in the same places, circuits, nodes), only
/// class parameters, leaf parameters and address mappings differ; returns what stabilizeHandles +
/// diff would, from one linear walk (no maps). nullopt when the structure differs.
std::optional<FastDiff> fastDiff(const plan::QueuePlan& last, const plan::QueuePlan& active,
                                 const plan::QueuePlan& input);

/// Runs tc operations. NetlinkOpRunner (bakery/NetlinkOpRunner.h) talks to the kernel;
/// ModelOpRunner (bakery/ModelOpRunner.h) is a kernel model for tests.
///
/// Semantics every implementation follows (the kernel's, sch_api.c/sch_htb.c):
///   AddClass creates the class or, when that classid exists already, changes it in place (so a
///   retry after a partial failure converges); AddLeaf grafts `leaf` under the class with its
///   explicit handle, replacing (and destroying) whatever leaf the class had; AddHtbQdisc grafts
///   the HTB qdisc under its mq class (the default qdisc there is replaced); DeleteClass also
///   destroys the class's leaf; a class with children cannot be deleted (EBUSY).
class OpRunner {
 public:
  virtual ~OpRunner() = default;
  /// Runs `ops` in order (batched where the implementation can). Stops at the first failure;
  /// the error names the failing operation (describe()) and the kernel's ext-ack text.
  virtual Result<void> run(const std::vector<TcOp>& ops) = 0;

  /// Every difference between the live tree of each device of `plan` and `plan` (one line each,
  /// tc::compareTree wording; empty = equal): drift detection. Default: ENOTSUP.
  virtual Result<std::vector<std::string>> liveDifferences(const plan::QueuePlan& plan);

  /// Makes the live tree equal `plan` from whatever is there (read the live tree, change/add/
  /// delete what differs; tc::NetlinkApplier::replace). Not hitless: the recovery path after a
  /// failed apply or real drift. Default: ENOTSUP.
  virtual Result<void> reconcile(const plan::QueuePlan& plan);

  /// Packets queued in the leaves of `classids` on `ifname` (sum of their qlen), to wait for old
  /// leaves to drain in a hitless rebuild. Classes that do not exist count 0. Default: ENOTSUP.
  virtual Result<uint64_t> backlogPackets(const std::string& ifname,
                                          const std::vector<plan::TcHandle>& classids);

  /// Transmit queues of `ifname` (IFLA_NUM_TX_QUEUES): the mq classes 7FFF:1..n a rebuild may
  /// use beyond the plan's. Default: ENOTSUP (rebuilds then stay on the plan's tx queues).
  virtual Result<uint32_t> txQueueCount(const std::string& ifname);

  /// Packets queued in the leaves of HTB qdisc `major`: on `ifname`, except the leaf of class
  /// major:`skipMinor` (the default class, which unknown addresses keep filling): whether the
  /// circuits of an HTB qdisc that nothing maps to any more have drained. 0 when the qdisc does
  /// not exist. Default: ENOTSUP (not waited for).
  virtual Result<uint64_t> htbBacklogPackets(const std::string& ifname, uint16_t major,
                                             uint16_t skipMinor);

  /// Kernel messages sent so far (for reports and benchmarks: "O(1) ops per speed change").
  virtual uint64_t messagesSent() const { return 0; }
};

/// Limits the preflight checks a desired plan against (DESIGN; kernel facts measured here).
struct Limits {
  uint32_t maxQdiscsPerInterface = 65'534;  ///< u16 handle majors minus 0 and FFFF
  uint32_t maxMinorsPerQueue = 65'533;      ///< u16 minors minus 0, link, FFFF
  uint64_t lpmCapacity = 0;                 ///< address map max_entries (0 = unchecked)
  uint64_t memoryAvailableBytes = 0;        ///< 0 = read /proc/meminfo MemAvailable
  /// Memory that must stay free after an apply (the rest of the system needs some too).
  uint64_t memoryReserveBytes = 256ull << 20;
  /// Add-phase operations per chunk; free memory is re-checked between chunks.
  size_t chunkOps = 4096;
  /// Hitless rebuild: longest wait for the old leaves to drain before deleting them.
  std::chrono::milliseconds drainTimeout{2000};
  /// Write active.json on a background thread (off the apply's latency path; writing the state of
  /// a 10k-circuit tree takes ~100 ms). An "applying" marker is written synchronously before any
  /// kernel change and removed once the state that covers it is on disk, so a process killed in
  /// between is noticed by load() (reloadRequired: the next apply reconciles with the live tree).
  bool persistInBackground = true;
};

/// Free memory now: Limits::memoryAvailableBytes when set, else MemAvailable of /proc/meminfo.
/// Errors: /proc/meminfo unreadable or without MemAvailable.
Result<uint64_t> memoryAvailable(const Limits& limits);

/// Memory one kernel object costs, per kind (see the .cpp for where each figure comes from).
struct MemoryEstimate {
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> perKindBytes;  ///< "htb_class", "cake", "fq_codel", "pfifo", ...
};
MemoryEstimate estimateMemory(const plan::QueuePlan& plan);

/// Kernel memory one object takes, in bytes: "htb_qdisc", "htb_class", "pfifo", "bfifo" measured
/// on this machine's kernel (docs/bakery.md, bench/bakery memory), "cake" 512 KiB and
/// "fq_codel" 64 KiB from LibreQoS until measured in the guest kernel; 0 for unknown kinds.
uint64_t objectMemoryBytes(std::string_view kind);  ///< kind as tc::leafKindName spells it

/// Refuses a plan that cannot fit: the error names the limit and the count ("interface eth1 needs
/// 70,001 qdiscs; the kernel allows 65,534"). Checks the plan alone and, when `twoTrees`, the
/// plan plus the active tree side by side (a hitless rebuild).
Result<void> preflight(const plan::QueuePlan& desired, const Limits& limits,
                       const plan::QueuePlan* active = nullptr, bool twoTrees = false);

/// The outcome of one Bakery::apply.
struct ApplyReport {
  /// "noop" | "incremental" | "spare-queue-rebuild" (hitless, new tree on free tx queues) |
  /// "hitless-rebuild" (hitless, new tree beside the old one in the same HTB qdiscs; `reason`
  /// says why not on spare tx queues) | "bypass-rebuild" | "build"
  std::string mode;
  std::map<ChangeKind, size_t> counts;
  size_t tcOps = 0;
  size_t mapUpserts = 0;
  size_t mapRemovals = 0;
  double durationMs = 0;  ///< the whole apply
  double planMs = 0;      ///< stabilize + preflight + diff (user space, O(tree))
  double kernelMs = 0;    ///< tc operations (netlink round trips)
  double mapMs = 0;       ///< address map writes and the epoch bump
  double persistMs = 0;   ///< writing active.json
  std::string reason;  ///< why a rebuild happened (empty otherwise)
};

/// Persisted active state: what Sluice applied, in <stateDir>/bakery/active.json (atomic write).
struct ActiveState {
  plan::QueuePlan plan;
  uint32_t generation = 0;  ///< minor range of the live tree (alternates on hitless rebuild)
};
Result<std::optional<ActiveState>> loadActiveState(const std::string& stateDir);
Result<void> saveActiveState(const std::string& stateDir, const ActiveState& state);

/// The bakery of one shaper. Not thread-safe (the daemon serializes calls).
class Bakery {
 public:
  /// `runner` and `writer` must outlive the bakery. `stateDir` holds bakery/active.json.
  Bakery(OpRunner& runner, dataplane::MapWriter& writer, std::string stateDir, Limits limits = {});
  /// Waits for the last state write (flush()).
  ~Bakery();
  Bakery(const Bakery&) = delete;
  Bakery& operator=(const Bakery&) = delete;

  /// Waits until the active state is on disk. Errors: the last background write's failure.
  Result<void> flush();

  /// Loads the persisted active state. True when there was one; false when there is none.
  /// When the previous process died between a kernel change and the state write, the state may
  /// be one apply behind: reloadRequired() is set and the next apply reconciles.
  /// Errors: unreadable or malformed active.json (naming the file and the field).
  Result<bool> load();
  /// Takes `plan` as the active state without touching the kernel (after a verified adoption or
  /// a full build done by the caller) and persists it. Clears reloadRequired().
  Result<void> setActive(plan::QueuePlan plan);
  /// The active plan, or null. Valid until the next call that changes the active state (apply,
  /// rebuild, setActive, load, enterObserve): a change may replace it rather than patch it.
  const plan::QueuePlan* active() const;
  /// The active plan as an immutable snapshot that stays valid however long the caller keeps it
  /// (the daemon's status, API and telemetry hold it). Shares the bakery's copy: no O(tree) copy
  /// here. While a snapshot is held, the next fast-path change copies the active plan once before
  /// patching it (copy-on-write) instead of patching it in place. Null without an active state.
  std::shared_ptr<const plan::QueuePlan> activeShared() const;
  /// Minor/handle generation of the live tree (incremented by every rebuild).
  uint32_t generation() const { return active_ ? active_->generation : 0; }

  /// Makes the kernel equal `desired`: stabilize, preflight, diff, run, publish, persist.
  /// With no active state it builds from nothing ("build", full publish of the address map).
  /// With reloadRequired() set it reconciles instead (mode "reconcile"): the live tree is read and
  /// made equal to the (stabilized) desired plan, changing only what differs
  /// (OpRunner::reconcile), and the address map is republished; no rebuild.
  /// On failure the old tree still classifies (adds are unreferenced or harmless; deletes only
  /// run after the mapping switch), the active state stays the old one, and reloadRequired()
  /// names the cause.
  Result<ApplyReport> apply(plan::QueuePlan desired);

  /// A rebuild although the change could be incremental (operator's full reload; recovery):
  /// hitless when two trees fit (every class and leaf gets a new minor/handle inside the same
  /// HTB qdiscs, one epoch bump switches all mappings, the old leaves drain, the old classes are
  /// deleted), else classic with classification bypass (mode "bypass-rebuild", reason says why).
  Result<ApplyReport> rebuild(plan::QueuePlan desired, std::string reason);

  /// queue_mode = observe: clears the address map first (one epoch bump: everything goes to the
  /// default path), then removes the tree of each of `interfaces` (the kernel's default root
  /// qdisc comes back). The active state becomes empty (the next apply builds). Reports how long
  /// it took (durationMs) and the ops it ran.
  Result<ApplyReport> enterObserve(const std::vector<std::string>& interfaces);

  /// Compares the live tree with the active state (OpRunner::liveDifferences). Real drift marks
  /// reload required with the first differences and returns them; empty = in sync.
  Result<std::vector<std::string>> checkDrift();

  /// Set after a failed apply or detected drift; cleared by a successful apply.
  const std::optional<std::string>& reloadRequired() const { return reloadRequired_; }
  void markReloadRequired(std::string cause) { reloadRequired_ = std::move(cause); }

  const Limits& limits() const { return limits_; }

 private:
  /// `desired`: what to persist when the delete phase fails after the switch (nullptr: the fast
  /// path, which has no delete phase).
  Result<ApplyReport> runChangeSet(const ChangeSet& changes, ApplyReport report,
                                   const plan::QueuePlan* desired);
  Result<ApplyReport> build(plan::QueuePlan desired);
  Result<ApplyReport> bypassRebuild(plan::QueuePlan desired, std::string reason);
  /// The rebuild on spare tx queues (bakery/SpareRebuild.h), or nullopt with `whyNot` set when
  /// it does not apply (rebuild() then builds beside the old tree). SpareRebuild.cpp.
  std::optional<Result<ApplyReport>> spareQueueRebuild(const plan::QueuePlan& desired,
                                                       const std::string& reason,
                                                       std::string& whyNot);
  /// Waits until HTB qdisc `major`: on `ifname` has no circuit packets queued (at most
  /// Limits::drainTimeout); returns the packets left (0 when drained or unknown).
  uint64_t drainHtb(const std::string& ifname, uint16_t major, uint16_t defaultMinor);
  Result<ApplyReport> reconcileTo(plan::QueuePlan desired);
  Result<void> runChunked(const std::vector<TcOp>& ops);
  /// Takes `plan` as the active state and hands it to the writer (shared, no copy).
  Result<void> persist(plan::QueuePlan plan, uint32_t generation);
  /// Patches the active state (in place when nobody else holds it, else a copy: ownActive()) and
  /// hands the patched state to the writer. O(change), or O(tree) when a snapshot is held.
  Result<void> persistPatch(const detail::PlanPatch& patch);
  /// The active state, made exclusively the bakery's first: when a snapshot (activeShared(), the
  /// writer's pending or in-progress state) shares it, it is copied and the copy becomes active_.
  /// lastInput_ aliasing active_ does not count (it is replaced right after every patch).
  ActiveState& ownActive();
  Result<void> beginApply();  ///< the "applying" marker, before any kernel change
  /// Writes `state` on this thread and removes the "applying" marker (persistInBackground off).
  Result<void> saveNow(const ActiveState& state);
  void writerLoop();
  void takeWriteError();

  OpRunner& runner_;
  dataplane::MapWriter& writer_;
  std::string stateDir_;
  Limits limits_;
  /// Changed by the apply thread alone; shared read-only with snapshots and the writer, and
  /// copied on write (ownActive()) when shared.
  std::shared_ptr<ActiveState> active_;
  std::optional<std::string> reloadRequired_;
  uint32_t buildGeneration_ = 0;  ///< generation a build() persists
  /// The planner plan active_ was stabilized from (fastDiff's `last`); reset whenever active_ is
  /// set another way.
  std::shared_ptr<const plan::QueuePlan> lastInput_;
  /// lastInput_ circuit index -> active circuit index (detail::correspondence, checked once when
  /// lastInput_ is taken; the fast path keeps both in step).
  std::vector<int32_t> lastCircuitMap_;
  /// Frees a big plan on the background thread (a 100k-circuit plan takes ~25 ms to free).
  void discard(plan::QueuePlan plan);
  /// Takes `input` as lastInput_ when active_ corresponds to it position by position.
  void takeLastInput(std::shared_ptr<const plan::QueuePlan> input);

  // Background state writer (Limits::persistInBackground).
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  /// The newest state not yet written: active_ itself (shared, never patched while shared). The
  /// writer keeps no copy of its own; a newer state replaces one it has not started on.
  std::shared_ptr<const ActiveState> pendingFull_;
  uint64_t applySeq_ = 0;      ///< applies begun (marker written)
  uint64_t pendingSeq_ = 0;    ///< applySeq_ the pending state covers
  bool writing_ = false;
  bool stop_ = false;
  std::optional<Error> writeError_;
  std::vector<std::shared_ptr<const void>> graveyard_;  ///< old plans the thread frees
  std::thread thread_;
};

/// Stabilization for a hitless rebuild: like stabilizeHandles, but no class or leaf of `desired`
/// reuses a minor or handle major of `active` (except each queue's link and default class, which
/// are changed in place), so the new tree fits beside the old one. Errors: ENOSPC as
/// stabilizeHandles when two trees do not fit.
Result<void> stabilizeForRebuild(plan::QueuePlan& desired, const plan::QueuePlan& active);

}  // namespace sluice::bakery
