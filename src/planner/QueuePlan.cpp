#include "planner/QueuePlan.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::plan {

std::string TcHandle::toString() const {
  if (minor == 0) {
    return fmt::format("{:x}:", major);
  }
  return fmt::format("{:x}:{:x}", major, minor);
}

bool r2qIsInert(const HtbQueuePlan& q) {
  return std::all_of(q.classes.begin(), q.classes.end(),
                     [](const HtbClassPlan& c) { return c.quantumBytes > 0; });
}

bool r2qDiffersInEffect(uint32_t liveR2q, const HtbQueuePlan& q) {
  return liveR2q != q.r2q && !r2qIsInert(q);
}

const char* holderKindName(HolderKind kind) {
  return kind == HolderKind::Tbf ? "tbf" : "none";
}

TcHandle mqClassOf(uint16_t txQueue) {
  return TcHandle{kMqMajor, static_cast<uint16_t>(txQueue + 1)};
}

uint16_t holderMajorOf(uint16_t txQueue) {
  return static_cast<uint16_t>(kMqMajor - 1 - txQueue);
}

TcHandle queueParentOf(const HtbQueuePlan& q) {
  if (q.holder == HolderKind::None) {
    return mqClassOf(q.txQueue);
  }
  return TcHandle{holderMajorOf(q.txQueue), 1};
}

HolderKind interfaceHolder(const InterfacePlan& iface) { return iface.holder; }

void setHolder(QueuePlan& plan, HolderKind holder) {
  plan.holder = holder;
  for (InterfacePlan& iface : plan.interfaces) {
    iface.holder = holder;
    for (HtbQueuePlan& hq : iface.queues) {
      hq.holder = holder;
    }
  }
}

bool isReservedMajor(uint32_t major) {
  return major == 0 || major >= 0xFFFF ||
         (major <= kMqMajor && major >= kMqMajor - kMaxHolderTxQueues);
}

void markReservedMajors(std::vector<bool>& used) {
  for (uint32_t m = 0; m < used.size(); ++m) {
    used[m] = used[m] || isReservedMajor(m);
  }
}

const char* cakeDiffservName(CakeDiffserv mode) {
  switch (mode) {
    case CakeDiffserv::Besteffort:
      return "besteffort";
    case CakeDiffserv::Diffserv3:
      return "diffserv3";
    case CakeDiffserv::Diffserv4:
      return "diffserv4";
    case CakeDiffserv::Diffserv8:
      return "diffserv8";
    case CakeDiffserv::Precedence:
      return "precedence";
  }
  return "diffserv4";
}

}  // namespace sluice::plan
