#include "planner/HtbMath.h"

#include <algorithm>
#include <cmath>

namespace sluice::plan {

uint64_t mbpsToBytesPerSecond(double mbps) {
  if (!(mbps > 0)) {
    return 0;
  }
  return static_cast<uint64_t>(std::llround(mbps * 125'000.0));
}

uint64_t mbpsToBits(double mbps) {
  return mbpsToBytesPerSecond(mbps) * 8;
}

uint32_t computeR2q(double maxMbps) {
  const uint64_t bytes = mbpsToBytesPerSecond(maxMbps);
  const uint64_t needed = (bytes + kMaxQuantumBytes - 1) / kMaxQuantumBytes;
  return static_cast<uint32_t>(std::max<uint64_t>(kDefaultR2q, needed));
}

uint32_t computeQuantum(uint64_t ceilBitsPerSecond, uint32_t r2q) {
  const uint64_t bytes = ceilBitsPerSecond / 8;
  const uint64_t q = bytes / std::max<uint32_t>(r2q, 1);
  return static_cast<uint32_t>(std::clamp<uint64_t>(q, kMinQuantumBytes, kMaxQuantumBytes));
}

uint16_t computeQueueCount(uint32_t availableTxQueues, uint32_t cpuCount,
                           std::optional<uint32_t> overrideQueues, bool onAStick) {
  uint32_t count = std::min(std::max(availableTxQueues, 1u), std::max(cpuCount, 1u));
  if (overrideQueues && *overrideQueues > 0) {
    count = *overrideQueues;
  }
  if (onAStick) {
    count /= 2;
  }
  // Majors 1..2Q must stay below the mq root's 0x7FFF.
  return static_cast<uint16_t>(std::clamp<uint32_t>(count, 1, onAStick ? 0x3FFF : 0x7FFE));
}

std::optional<uint32_t> lowRateCakeRttUs(double maxMbps) {
  if (maxMbps <= 1) {
    return 300'000;
  }
  if (maxMbps <= 2) {
    return 180'000;
  }
  if (maxMbps <= 3) {
    return 140'000;
  }
  if (maxMbps <= 4) {
    return 120'000;
  }
  return std::nullopt;
}

}  // namespace sluice::plan
