#pragma once
// Internal to the bakery: a hitless rebuild on spare tx queues (docs/bakery.md, "Rebuilds").
//
// Why: building the new tree beside the old one inside the same HTB qdiscs costs 4-12x a full
// build on this kernel (perf, docs/bakery.md "Known limits"): every class op walks every class of
// its HTB qdisc (tc_bind_tclass -> htb_walk), looks its qdisc up in the device's 16-bucket qdisc
// hash (qdisc_match_from_root) behind both trees' leaves, and the old tree goes one message per
// class. Here each queue of the new plan is built in a fresh HTB qdisc on a free tx queue (one
// the plan does not use, or one whose old HTB qdisc no longer classifies anything), its circuits'
// mappings switch to it (one map update), and an old HTB qdisc goes with one message once every
// circuit it held has switched and its leaves have drained.
//
// Constraints that shape the schedule:
//   - The data plane derives the tx queue from the classid (tc: skb->queue_mapping = major, so
//     HTB major = tx queue + 1 always) and sends unknown addresses to the default class
//     (q+1):2 of a hashed queue q in [0, queue count) (bpf/lookup.h resolve_class). HTB falls
//     back to its own default class when the classid is not one of its classes (sch_htb.c
//     htb_classify), so any Sluice HTB qdisc on tx queue q serves that traffic; the schedule
//     therefore ends with tx queues 0..Q-1 holding the new tree (the queues of the plan may be
//     permuted over them: queue k on another tx queue than k) and keeps each of them holding
//     an HTB qdisc except for the instant between the delete and the add of one batch.
//   - Queue k's old tree on tx k cannot make room for queue k's new tree before queue k has
//     switched, so one queue goes to a spare tx queue (>= Q) first and moves to its final tx
//     queue last (built twice: one queue in Q extra).

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "bakery/Bakery.h"

namespace sluice::bakery::detail {

/// Handle majors 1..256 are never given to a new leaf by stabilization: they are the HTB majors
/// of tx queues 0..255 (SLUICE_MAX_QUEUES, abi/sluice_abi.h), kept free for spare tx queues.
inline constexpr uint32_t kHtbMajorsReserved = 256;

/// One step: queue `position` (index in each interface's `queues`) of the new plan is built on
/// tx queue `slot` (HTB major slot+1) of every interface, after the HTB qdisc that sits there
/// (`clearsSlot`: an old queue whose circuits have all switched, or an interim copy whose queue
/// has reached its final tx queue) is drained and deleted; then its circuits' mappings switch.
struct SpareStep {
  size_t position = 0;
  uint16_t slot = 0;
  bool final = true;        ///< false: an interim copy on a spare tx queue, moved later
  bool clearsSlot = false;  ///< an HTB qdisc occupies `slot` and is deleted first
};

struct SpareSchedule {
  std::vector<SpareStep> steps;
  std::vector<uint16_t> finalSlot;  ///< by position: the tx queue the queue ends on
  std::vector<uint16_t> leftovers;  ///< tx queues whose HTB qdisc goes at the end
  uint32_t interimCopies = 0;
};

/// The schedule for rebuilding `active` as `desired` (a planner plan: queue k on tx queue k, HTB
/// major k+1) on devices with `txQueues` transmit queues each, or the reason it cannot be done
/// (on a stick, interfaces changed, numbering not tx queue + 1, a circuit's directions on
/// different queues, no free tx queue for a queue that must move first). Pure.
std::variant<SpareSchedule, std::string> planSpareRebuild(const plan::QueuePlan& active,
                                                          const plan::QueuePlan& desired,
                                                          uint32_t txQueues);

/// Moves queue k of interface i of `p` to tx queue slots[i][k] (HTB major slot+1): the queue's
/// txQueue and major, every classid and parent of its classes, and the node, circuit and
/// address classids that point into it, and a moved address's CPU to queueCpu[tx queue] (the
/// CPU the data plane sends unknown addresses of that tx queue to). Minors and leaf handles stay.
void relocateQueues(plan::QueuePlan& p, const std::vector<std::vector<uint16_t>>& slots);

/// Gives `desired` (a planner plan) the tx queue placement of `active` when active's queues sit
/// on a permutation of the tx queues desired uses (after a spare-queue rebuild): queue k keeps
/// the tx queue it has, so that stabilization and the fast path match it with itself. Queues
/// beyond active's count keep theirs. Does nothing when the placements are equal or cannot be
/// matched (on a stick, other interfaces, another numbering, not a permutation).
void adoptPlacement(plan::QueuePlan& desired, const plan::QueuePlan& active);

/// A build from nothing takes the planner's leaf handles, which follow its HTB majors (Q+1, ...)
/// and so take the majors of the devices' spare tx queues: leaves with a handle at most
/// `txQueues` (the device's tx queue count, txQueueCount) that is not an HTB major of `p` get
/// the lowest free handle above kHtbMajorsReserved instead. True when a handle changed.
bool freeSpareMajors(plan::QueuePlan& p, const std::string& ifname, uint32_t txQueues);

/// Orders a build's add phase queue by queue (tx queue 0 of every interface, then tx queue 1,
/// ...) instead of interface by interface, keeping HTB qdiscs before classes before leaves and
/// the plan's order within a queue (parents first). The kernel keeps every class's filter block
/// in one list, newest first, that a class delete scans up to the class (SpareRebuild.cpp): a
/// later rebuild on spare tx queues deletes one tx queue of every interface per step, and finds
/// those classes side by side near the head this way. Same cost for the build itself.
void interleaveQueues(std::vector<TcOp>& addPhase);

/// stabilizeForRebuild with HTB majors 1..reservedMajors never given to a leaf (the spare tx
/// queues' HTB qdiscs take them). Errors as stabilizeForRebuild.
Result<void> stabilizeForSpareRebuild(plan::QueuePlan& desired, const plan::QueuePlan& active,
                                      uint32_t reservedMajors);

}  // namespace sluice::bakery::detail
