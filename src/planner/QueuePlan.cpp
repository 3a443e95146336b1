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
