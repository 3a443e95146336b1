#pragma once
// Which leaf qdisc a circuit gets in one direction (DESIGN §4, LibreQoS effective_sqm_str):
//
//   1. the circuit's `sqm` column for that direction, when set:
//        none     → no leaf qdisc (the HTB class queues with its implicit pfifo)
//        fq_codel → fq_codel with the kernel's defaults
//        cake     → the default leaf when it is CAKE, else CAKE with CakeParams{} (diffserv4),
//                   then the low-rate rtt rule below
//   2. otherwise, when `fast_queues_fq_codel` is set and the circuit's max rate in that direction
//      is at least that many Mbps: fq_codel
//   3. otherwise the default leaf (`default_sqm`, Config::defaultLeaf), with the low-rate rtt rule:
//      a CAKE leaf whose rtt is CAKE's default 100 ms gets 300/180/140/120 ms at ≤1/2/3/4 Mbps
//      (an rtt the operator wrote explicitly is kept, as LibreQoS keeps a `rtt` in default_sqm).

#include <optional>

#include "config/Config.h"
#include "model/Model.h"
#include "planner/QueuePlan.h"

namespace sluice::plan {

/// The inputs of leaf selection that come from lqos.conf.
struct LeafRules {
  LeafSpec defaultLeaf;  ///< kind None = no leaf by default
  std::optional<double> fastQueuesFqCodelMbps;

  static LeafRules fromConfig(const config::Config& config);
};

/// The leaf for one direction of a circuit whose max rate (after fix-ups) is `maxMbps`; nullopt
/// when no leaf qdisc is to be created. The returned spec has handleMajor 0 (allocated later).
std::optional<LeafSpec> selectCircuitLeaf(const LeafRules& rules, model::SqmKind requested,
                                          double maxMbps);

/// The leaf of a queue's default class (unclassified traffic): the default leaf as configured,
/// nullopt when default_sqm is `none`.
std::optional<LeafSpec> selectDefaultClassLeaf(const LeafRules& rules);

}  // namespace sluice::plan
