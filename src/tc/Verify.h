#pragma once
// Comparing a live tree with the plan it should implement: what `sluice apply` checks after a
// build, what integration tests assert, and the basis of drift detection.

#include <string>
#include <vector>

#include "planner/QueuePlan.h"
#include "tc/LiveTree.h"

namespace sluice::tc {

/// Every difference between `live` and `plan`, one human-readable line each (empty = equal):
/// the mq root (7FFF:), each queue's HTB qdisc (handle, parent mq class, default minor, and r2q
/// unless no class reads it: plan::r2qIsInert),
/// each planned class (exists, parent, rate, ceil (bytes/s = bits/s / 8), quantum, prio) and
/// each leaf (handle, kind, parameters: CAKE and fq_codel all plan fields, fifo explicit limits;
/// fq_codel times as the kernel rounds them, normalizeFqCodel).
/// HTB classes or leaves on the device that the plan does not have are reported too.
std::vector<std::string> compareTree(const LiveTree& live, const plan::InterfacePlan& plan);

}  // namespace sluice::tc
