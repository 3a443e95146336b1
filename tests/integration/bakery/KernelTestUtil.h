#pragma once
// Helpers of the bakery's kernel tests (this kernel has no CAKE or fq_codel).

#include <string>
#include <vector>

#include "planner/QueuePlan.h"

namespace sluice::bakery {

/// CAKE → pfifo (limit 1000), fq_codel → bfifo (limit 200,000 bytes): kinds this kernel has,
/// still two different kinds so that an SQM change is a kind change.
inline plan::QueuePlan kernelLeaves(plan::QueuePlan p) {
  for (auto& iface : p.interfaces) {
    for (auto& q : iface.queues) {
      for (auto& cls : q.classes) {
        if (!cls.leaf) continue;
        if (cls.leaf->kind == plan::LeafKind::Cake) {
          cls.leaf->kind = plan::LeafKind::Pfifo;
          cls.leaf->fifoLimit = 1000;
          cls.leaf->cake = {};
        } else if (cls.leaf->kind == plan::LeafKind::FqCodel) {
          cls.leaf->kind = plan::LeafKind::Bfifo;
          cls.leaf->fifoLimit = 200'000;
          cls.leaf->fqCodel = {};
        }
      }
    }
  }
  return p;
}

/// `p` with `holder` on every queue (what `[sluice] queue_holder` makes the planner do).
inline plan::QueuePlan withHolder(plan::QueuePlan p, plan::HolderKind holder) {
  plan::setHolder(p, holder);
  return p;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < 15; ++i) out += "  " + lines[i] + "\n";
  return out;
}

}  // namespace sluice::bakery
