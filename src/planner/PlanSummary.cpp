#include "planner/PlanSummary.h"

#include <iterator>

#include <fmt/format.h>

namespace sluice::plan {

namespace {

// DESIGN §4 memory estimates per instance.
constexpr uint64_t kCakeBytes = 512 * 1024;
constexpr uint64_t kFqCodelBytes = 64 * 1024;
constexpr uint64_t kHtbOrMqBytes = 16 * 1024;

}  // namespace

std::vector<QueueLoad> queueLoads(const QueuePlan& plan) {
  std::vector<QueueLoad> loads(plan.queueCount);
  for (uint16_t q = 0; q < plan.queueCount; ++q) {
    loads[q].queue = q;
    loads[q].cpu = q < plan.queueCpu.size() ? plan.queueCpu[q] : 0;
  }
  for (const NodePlacement& n : plan.nodes) {
    if (!n.isVirtual && n.queue < loads.size()) {
      ++loads[n.queue].nodes;
    }
  }
  for (const CircuitPlacement& c : plan.circuits) {
    if (c.queue < loads.size()) {
      QueueLoad& l = loads[c.queue];
      ++l.circuits;
      l.downCeilMbps += c.downloadMaxMbps;
      l.upCeilMbps += c.uploadMaxMbps;
    }
  }
  return loads;
}

PlanCounts countPlan(const QueuePlan& plan) {
  PlanCounts counts;
  for (const InterfacePlan& iface : plan.interfaces) {
    counts.estimatedKernelBytes += kHtbOrMqBytes;  // the mq root
    for (const HtbQueuePlan& hq : iface.queues) {
      ++counts.htbQdiscs;
      counts.estimatedKernelBytes += kHtbOrMqBytes;
      counts.classes += hq.classes.size();
      for (const HtbClassPlan& cls : hq.classes) {
        if (!cls.leaf) {
          continue;
        }
        switch (cls.leaf->kind) {
          case LeafKind::Cake:
            ++counts.cake;
            counts.estimatedKernelBytes += kCakeBytes;
            break;
          case LeafKind::FqCodel:
            ++counts.fqCodel;
            counts.estimatedKernelBytes += kFqCodelBytes;
            break;
          case LeafKind::Pfifo:
          case LeafKind::Bfifo:
            ++counts.fifo;
            break;
          case LeafKind::None:
            break;
        }
      }
    }
  }
  for (const NodePlacement& n : plan.nodes) {
    counts.generatedNodes += n.generated ? 1 : 0;
  }
  counts.addresses = plan.addresses.size();
  return counts;
}

std::string renderPlanSummary(const QueuePlan& plan, const std::string& queueSource) {
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  const PlanCounts counts = countPlan(plan);
  fmt::format_to(it, "mode: {}\n", plan.onAStick ? "on a stick" : "bridge");
  for (const InterfacePlan& iface : plan.interfaces) {
    fmt::format_to(it, "interface {}: {} HTB qdisc(s)\n", iface.ifname, iface.queues.size());
  }
  fmt::format_to(it, "queues: {}\n", queueSource);
  fmt::format_to(it, "nodes: {} ({} generated)\n", plan.nodes.size(), counts.generatedNodes);
  fmt::format_to(it, "circuits: {}\n", plan.circuits.size());
  fmt::format_to(it, "addresses: {}\n", counts.addresses);
  fmt::format_to(it, "htb classes: {}\n", counts.classes);
  fmt::format_to(it, "leaf qdiscs: {} cake, {} fq_codel, {} fifo\n", counts.cake, counts.fqCodel,
                 counts.fifo);
  fmt::format_to(it, "estimated kernel memory: {:.1f} MiB\n",
                 static_cast<double>(counts.estimatedKernelBytes) / (1024.0 * 1024.0));
  for (const QueueLoad& l : queueLoads(plan)) {
    fmt::format_to(it,
                   "queue {} (cpu {}): {} node(s), {} circuit(s), ceil sum {:.2f} Mbps down / "
                   "{:.2f} Mbps up\n",
                   l.queue, l.cpu, l.nodes, l.circuits, l.downCeilMbps, l.upCeilMbps);
  }
  return fmt::to_string(out);
}

}  // namespace sluice::plan
