#include "planner/TcBatch.h"

#include <iterator>

#include <fmt/format.h>

namespace sluice::plan {

namespace {

using Buffer = fmt::memory_buffer;

void appendHandle(Buffer& out, TcHandle h) {
  if (h.minor == 0) {
    fmt::format_to(std::back_inserter(out), "{:x}:", h.major);
  } else {
    fmt::format_to(std::back_inserter(out), "{:x}:{:x}", h.major, h.minor);
  }
}

void appendLeaf(Buffer& out, const LeafSpec& leaf) {
  auto it = std::back_inserter(out);
  switch (leaf.kind) {
    case LeafKind::Cake: {
      const CakeParams& c = leaf.cake;
      if (c.bandwidthBitsPerSecond == 0) {
        fmt::format_to(it, "cake unlimited");
      } else {
        fmt::format_to(it, "cake bandwidth {}bit", c.bandwidthBitsPerSecond);
      }
      fmt::format_to(it, " {} rtt {}us {} {} {} {}", cakeDiffservName(c.diffserv), c.rttUs,
                     c.ackFilter ? "ack-filter" : "no-ack-filter", c.nat ? "nat" : "nonat",
                     c.wash ? "wash" : "nowash", c.splitGso ? "split-gso" : "no-split-gso");
      if (c.overheadBytes) {
        fmt::format_to(it, " overhead {}", *c.overheadBytes);
      }
      if (c.mpuBytes) {
        fmt::format_to(it, " mpu {}", *c.mpuBytes);
      }
      if (c.memlimitBytes) {
        fmt::format_to(it, " memlimit {}", *c.memlimitBytes);
      }
      break;
    }
    case LeafKind::FqCodel: {
      const FqCodelParams& f = leaf.fqCodel;
      fmt::format_to(it,
                     "fq_codel limit {} flows {} target {}us interval {}us quantum {} "
                     "memory_limit {} {}",
                     f.limitPackets, f.flows, f.targetUs, f.intervalUs, f.quantumBytes,
                     f.memoryLimitBytes, f.ecn ? "ecn" : "noecn");
      break;
    }
    case LeafKind::Pfifo:
    case LeafKind::Bfifo:
      fmt::format_to(it, "{}", leaf.kind == LeafKind::Pfifo ? "pfifo" : "bfifo");
      if (leaf.fifoLimit != 0) {
        fmt::format_to(it, " limit {}", leaf.fifoLimit);
      }
      break;
    case LeafKind::None:
      break;
  }
}

void appendQueue(Buffer& out, const std::string& dev, const HtbQueuePlan& hq) {
  auto it = std::back_inserter(out);
  if (hq.holder == HolderKind::Tbf) {
    fmt::format_to(it, "qdisc replace dev {} parent {} handle {:x}: tbf rate {}bit burst {} limit {}\n",
                   dev, mqClassOf(hq.txQueue).toString(), holderMajorOf(hq.txQueue),
                   kHolderRateBitsPerSecond, kHolderBurstBytes, kHolderFifoBytes);
  }
  fmt::format_to(it, "qdisc add dev {} parent {} handle {:x}: htb default {:x} r2q {}\n", dev,
                 queueParentOf(hq).toString(), hq.major, hq.defaultMinor, hq.r2q);
  for (const HtbClassPlan& cls : hq.classes) {
    fmt::format_to(it, "class add dev {} parent ", dev);
    appendHandle(out, cls.parent);
    fmt::format_to(it, " classid ");
    appendHandle(out, cls.classid);
    fmt::format_to(it, " htb rate {}bit ceil {}bit quantum {} prio {}\n", cls.rateBitsPerSecond,
                   cls.ceilBitsPerSecond, cls.quantumBytes, cls.prio);
    if (cls.leaf && cls.leaf->kind != LeafKind::None) {
      fmt::format_to(it, "qdisc add dev {} parent ", dev);
      appendHandle(out, cls.classid);
      fmt::format_to(it, " handle {:x}: ", cls.leaf->handleMajor);
      appendLeaf(out, *cls.leaf);
      out.push_back('\n');
    }
  }
}

}  // namespace

std::string leafTcOptions(const LeafSpec& leaf) {
  Buffer out;
  appendLeaf(out, leaf);
  return fmt::to_string(out);
}

std::string renderTcBatch(const QueuePlan& plan) {
  Buffer out;
  for (const InterfacePlan& iface : plan.interfaces) {
    fmt::format_to(std::back_inserter(out), "qdisc replace dev {} root handle {:x}: mq\n",
                   iface.ifname, kMqMajor);
    for (const HtbQueuePlan& hq : iface.queues) {
      appendQueue(out, iface.ifname, hq);
    }
  }
  return fmt::to_string(out);
}

}  // namespace sluice::plan
