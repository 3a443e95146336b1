#pragma once
// Lazy queues (issue 6, LibreQoS's `lazy_queues` / `lazy_expire_seconds`): the plan that goes to
// the kernel is the full plan with the queues of idle circuits left out.
//
//   lazy_queues = No    every circuit has its classes and leaves (the full plan).
//   lazy_queues = Htb   every circuit has its HTB classes; only active circuits have their leaf
//                       qdisc (an inactive circuit's class keeps the kernel's default pfifo).
//   lazy_queues = Full  only active circuits have HTB classes (and leaves). Sites and APs (nodes)
//                       always exist.
//
// Idle subscribers' traffic stays correct in between: every address mapping keeps its circuit,
// queue and CPU (so the data plane counts the host and steers it to the right CPU and tx queue);
// in Full mode the mapping's classids point at the default class of that queue (M:defaultMinor),
// which exists for the whole life of the HTB qdisc, so nothing is dropped or left unclassified.
// The bakery diffs two materialized plans as usual: an activation is a circuit add (2 classes +
// 2 leaves, then the address moved onto them), an expiry is the address moved back to the
// default class followed by the class deletes.

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/Config.h"
#include "planner/QueuePlan.h"

namespace sluice::lazy {

/// Circuits whose queues exist, by circuit ID (IDs survive reloads; plan indices do not).
using ActiveCircuits = std::unordered_set<std::string>;

/// A planner plan as the daemon keeps it while lazy queues are on: everything but the HTB classes
/// as a plan::QueuePlan (the skeleton), and the classes in 48-byte records whose leaves point
/// into a table of distinct leaf specs. A plan::HtbClassPlan is 136 bytes, 96 of them its
/// optional leaf, and at 100k circuits the full plan's 200k classes were the largest share of
/// sluiced's RSS after the inputs (issue 5: 27.7 → ~10 MB). Lossless: expand() gives back the
/// plan it was made from.
class FullPlan {
 public:
  FullPlan() = default;
  /// Takes the plan apart; `full`'s class vectors are freed one queue at a time.
  FullPlan(plan::QueuePlan full);  // NOLINT(google-explicit-constructor): a plan is a full plan

  /// The plan without classes: nodes, circuits, addresses, queue count and CPUs, and every
  /// interface's HTB queues with their parameters and an empty `classes`.
  const plan::QueuePlan& skeleton() const { return skeleton_; }
  /// The plan it was made from. O(classes).
  plan::QueuePlan expand() const;
  /// Number of HTB classes over all queues.
  size_t classCount() const { return classCount_; }
  /// Number of distinct leaf specs (handle majors aside).
  size_t leafSpecCount() const { return leaves_.size(); }
  /// Heap bytes held (vectors at capacity; the skeleton's strings counted at their object size).
  size_t heapBytes() const;

 private:
  friend plan::QueuePlan materialize(const FullPlan&, const ActiveCircuits&, config::LazyQueues);
  static constexpr uint32_t kNoLeaf = UINT32_MAX;
  struct Class {
    plan::TcHandle classid;
    plan::TcHandle parent;
    uint64_t rateBitsPerSecond = 0;
    uint64_t ceilBitsPerSecond = 0;
    uint32_t quantumBytes = 0;
    uint32_t prio = 0;
    int32_t modelIndex = -1;
    uint32_t leaf = kNoLeaf;      ///< index into leaves_
    uint16_t leafHandleMajor = 0;  ///< the leaf's own handle (the table's specs have 0)
    plan::ClassRole role = plan::ClassRole::Circuit;
  };
  plan::HtbClassPlan classPlan(const Class& c, bool withLeaf) const;

  plan::QueuePlan skeleton_;
  /// Per interface, per queue (as skeleton_.interfaces[i].queues[q]): the classes in plan order.
  std::vector<std::vector<std::vector<Class>>> classes_;
  std::vector<plan::LeafSpec> leaves_;
  size_t classCount_ = 0;
};

/// The plan to apply for `full` (a planner plan) when only `active` circuits have traffic.
/// No: a copy of `full`. Htb: inactive circuits' classes lose their leaf (std::nullopt). Full:
/// inactive circuits lose their classes (both directions), their placements get classid 0:0
/// ("no class"), and their address mappings point at their queue's default class (same circuit,
/// queue and CPU). Leaves left with handle major 0 (the planner leaves handles unassigned past
/// the 65,534 qdiscs a device holds when lazy queues are on) get the lowest handle major no other
/// qdisc of the device uses. IDs in `active` that `full` does not have are ignored.
/// O(classes + circuits + addresses); no kernel access.
plan::QueuePlan materialize(const FullPlan& full, const ActiveCircuits& active,
                            config::LazyQueues mode);

/// The circuits whose queues exist in a materialized plan (the bakery's active plan after a
/// restart): Full: circuits with at least one HTB class; Htb: circuits with a leaf qdisc on at
/// least one class; No: every circuit.
ActiveCircuits activeIn(const plan::QueuePlan& materialized, config::LazyQueues mode);

/// "No" | "Htb" | "Full" (as lqos.conf spells them).
const char* lazyModeName(config::LazyQueues mode);

}  // namespace sluice::lazy
