#pragma once
// Wall time since a steady_clock point, for the durations reports print (bakery, HA drill).

#include <chrono>

namespace sluice {

/// Milliseconds of std::chrono::steady_clock since `t0` (fractional).
inline double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace sluice
