#pragma once
// Counts and per-queue load of a plan, for `sluice check` and `sluice plan --format summary`.

#include <cstdint>
#include <string>
#include <vector>

#include "planner/QueuePlan.h"

namespace sluice::plan {

/// Load of one shaping queue (both directions use the same queue index).
struct QueueLoad {
  uint16_t queue = 0;
  uint32_t cpu = 0;
  uint32_t nodes = 0;  ///< node classes (generated included, virtual nodes excluded)
  uint32_t circuits = 0;
  double downCeilMbps = 0;  ///< sum of the circuits' download max (after fix-ups)
  double upCeilMbps = 0;
};

/// Per-queue load, indexed by queue.
std::vector<QueueLoad> queueLoads(const QueuePlan& plan);

struct PlanCounts {
  uint64_t htbQdiscs = 0;
  uint64_t classes = 0;
  uint64_t cake = 0;
  uint64_t fqCodel = 0;
  uint64_t fifo = 0;
  uint64_t generatedNodes = 0;
  uint64_t addresses = 0;
  /// Kernel memory estimate (DESIGN §4: CAKE ≈ 512 KiB, fq_codel ≈ 64 KiB, HTB/mq ≈ 16 KiB each).
  uint64_t estimatedKernelBytes = 0;
};

PlanCounts countPlan(const QueuePlan& plan);

/// Human summary: interfaces, queue count line (`queueSource`), counts, one line per queue.
std::string renderPlanSummary(const QueuePlan& plan, const std::string& queueSource);

}  // namespace sluice::plan
