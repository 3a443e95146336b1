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

#include <string>
#include <unordered_set>
#include <vector>

#include "config/Config.h"
#include "planner/QueuePlan.h"

namespace sluice::lazy {

/// Circuits whose queues exist, by circuit ID (IDs survive reloads; plan indices do not).
using ActiveCircuits = std::unordered_set<std::string>;

/// The plan to apply for `full` (a planner plan) when only `active` circuits have traffic.
/// No: a copy of `full`. Htb: inactive circuits' classes lose their leaf (std::nullopt). Full:
/// inactive circuits lose their classes (both directions), their placements get classid 0:0
/// ("no class"), and their address mappings point at their queue's default class (same circuit,
/// queue and CPU). Leaves left with handle major 0 (the planner leaves handles unassigned past
/// the 65,534 qdiscs a device holds when lazy queues are on) get the lowest handle major no other
/// qdisc of the device uses. IDs in `active` that `full` does not have are ignored.
/// O(classes + circuits + addresses); no kernel access.
plan::QueuePlan materialize(const plan::QueuePlan& full, const ActiveCircuits& active,
                            config::LazyQueues mode);

/// The circuits whose queues exist in a materialized plan (the bakery's active plan after a
/// restart): Full: circuits with at least one HTB class; Htb: circuits with a leaf qdisc on at
/// least one class; No: every circuit.
ActiveCircuits activeIn(const plan::QueuePlan& materialized, config::LazyQueues mode);

/// "No" | "Htb" | "Full" (as lqos.conf spells them).
const char* lazyModeName(config::LazyQueues mode);

}  // namespace sluice::lazy
