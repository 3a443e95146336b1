#pragma once
// The plan as `tc -batch` input: the exact tc commands that build the same tree. It is the test
// oracle for the netlink applier (apply the batch with tc, apply the plan with the applier, dump
// both), so every value is explicit and nothing is left to tc's defaults that the plan defines.
//
// Per interface, in this order (handles and classids in hex, as tc parses them):
//
//   qdisc replace dev IF root handle 7fff: mq
//   qdisc replace dev IF parent 7fff:T handle H: tbf rate 400000000000bit burst 4194304 limit L
//                                          (only with a holder: H = 7FFF-T, QueuePlan.h HolderKind)
//   qdisc add dev IF parent 7fff:T handle M: htb default 2 r2q R          (T = txQueue+1 = M;
//                                          parent H:1 with a holder)
//   class add dev IF parent M: classid M:1 htb rate Rbit ceil Cbit quantum Q prio P
//   class add dev IF parent M:1 classid M:2 htb rate ... prio 5
//   qdisc add dev IF parent M:2 handle H: cake ...                      (after its class)
//   class add dev IF parent M:P classid M:N htb ...                      (parents first)
//   qdisc add dev IF parent M:N handle H: LEAF                           (circuit leaves)
//
// Leaves: `cake (unlimited|bandwidth Nbit) DIFFSERV rtt Nus (ack-filter|no-ack-filter)
// (nat|nonat) (wash|nowash) (split-gso|no-split-gso) [overhead N] [mpu N] [memlimit N]`,
// `fq_codel limit N flows N target Nus interval Nus quantum N memory_limit N (ecn|noecn)`,
// `pfifo [limit N]`, `bfifo [limit N]` (tc-cake(8), tc-fq_codel(8), tc-pfifo(8)). Rates are whole
// bits per second, always a multiple of 8 (HtbMath.h), so tc's conversion to bytes is exact.

#include <string>

#include "planner/QueuePlan.h"

namespace sluice::plan {

/// The leaf qdisc's kind and options as tc takes them after `handle H:` ("cake unlimited ...").
/// Empty for LeafKind::None.
std::string leafTcOptions(const LeafSpec& leaf);

/// The whole plan as tc batch text, one command per line, '\n'-terminated.
std::string renderTcBatch(const QueuePlan& plan);

}  // namespace sluice::plan
