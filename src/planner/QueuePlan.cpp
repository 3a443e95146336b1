#include "planner/QueuePlan.h"

#include <fmt/format.h>

namespace sluice::plan {

std::string TcHandle::toString() const {
  if (minor == 0) {
    return fmt::format("{:x}:", major);
  }
  return fmt::format("{:x}:{:x}", major, minor);
}

}  // namespace sluice::plan
