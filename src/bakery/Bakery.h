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
// When the change cannot be made in place (queue count, interfaces, on-a-stick, r2q or default
// class changed; minors of a queue exhausted) the bakery rebuilds hitlessly: the new tree is
// built beside the old one in the other minor range of the same HTB qdiscs, mappings switch with
// one epoch bump, the old leaves drain, the old classes go. Only when two trees do not fit
// (minors, qdisc handles, memory) does it rebuild with classification bypass, and says so.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

/// One kernel operation on one device.
struct TcOp {
  enum class Kind : uint8_t {
    AddRoot,         ///< mq root 7FFF: on `ifname`
    AddHtbQdisc,     ///< HTB qdisc `queue.major`: under mq class 7FFF:(queue.txQueue+1)
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

/// Runs tc operations. NetlinkOpRunner talks to the kernel; tests record.
class OpRunner {
 public:
  virtual ~OpRunner() = default;
  /// Runs `ops` in order (batched where the implementation can). Stops at the first failure;
  /// the error names the failing operation (describe()) and the kernel's ext-ack text.
  virtual Result<void> run(const std::vector<TcOp>& ops) = 0;
};

/// Limits the preflight checks a desired plan against (DESIGN; kernel facts measured here).
struct Limits {
  uint32_t maxQdiscsPerInterface = 65'534;  ///< u16 handle majors minus 0 and FFFF
  uint32_t maxMinorsPerQueue = 65'533;      ///< u16 minors minus 0, link, FFFF
  uint64_t lpmCapacity = 0;                 ///< address map max_entries (0 = unchecked)
  uint64_t memoryAvailableBytes = 0;        ///< 0 = read /proc/meminfo MemAvailable
};

/// Memory one kernel object costs, per kind (see the .cpp for where each figure comes from).
struct MemoryEstimate {
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> perKindBytes;  ///< "htb_class", "cake", "fq_codel", "pfifo", ...
};
MemoryEstimate estimateMemory(const plan::QueuePlan& plan);

/// Refuses a plan that cannot fit: the error names the limit and the count ("interface eth1 needs
/// 70,001 qdiscs; the kernel allows 65,534"). Checks the plan alone and, when `twoTrees`, the
/// plan plus the active tree side by side (a hitless rebuild).
Result<void> preflight(const plan::QueuePlan& desired, const Limits& limits,
                       const plan::QueuePlan* active = nullptr, bool twoTrees = false);

/// The outcome of one Bakery::apply.
struct ApplyReport {
  std::string mode;  ///< "noop" | "incremental" | "hitless-rebuild" | "bypass-rebuild" | "build"
  std::map<ChangeKind, size_t> counts;
  size_t tcOps = 0;
  size_t mapUpserts = 0;
  size_t mapRemovals = 0;
  double durationMs = 0;
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
  /// `runner` and `writer` must outlive the bakery. `stateDir` holds active.json.
  Bakery(OpRunner& runner, dataplane::MapWriter& writer, std::string stateDir, Limits limits = {});

  /// Loads the persisted active state (nullopt when there is none).
  Result<bool> load();
  /// Takes `plan` as the active state without touching the kernel (after a verified adoption or
  /// a full build done by the caller) and persists it.
  Result<void> setActive(plan::QueuePlan plan);
  const plan::QueuePlan* active() const;

  /// Makes the kernel equal `desired`: stabilize, preflight, diff, run, publish, persist.
  /// With no active state it builds from nothing ("build"). On failure the old tree still
  /// classifies (adds are undone or harmless; deletes only run after the mapping switch) and the
  /// error says what failed; the active state then marks "reload required" (reloadRequired()).
  Result<ApplyReport> apply(plan::QueuePlan desired);

  /// queue_mode = observe: clears the address map first (one epoch bump: everything goes to the
  /// default path), then removes the tree, keeping the mq root. Returns how long it took.
  Result<ApplyReport> enterObserve(const std::vector<std::string>& interfaces);

  /// Set after a failed apply or detected drift; cleared by a successful apply.
  const std::optional<std::string>& reloadRequired() const { return reloadRequired_; }
  void markReloadRequired(std::string cause) { reloadRequired_ = std::move(cause); }

 private:
  OpRunner& runner_;
  dataplane::MapWriter& writer_;
  std::string stateDir_;
  Limits limits_;
  std::optional<ActiveState> active_;
  std::optional<std::string> reloadRequired_;
};

}  // namespace sluice::bakery
