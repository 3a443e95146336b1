#pragma once
// CPU time per CPU from /proc/stat (proc(5)), for the load of each shaping queue's CPU.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"

namespace sluice::telemetry {

struct CpuTime {
  uint64_t busy = 0;   ///< user + nice + system + irq + softirq + steal (USER_HZ ticks)
  uint64_t total = 0;  ///< busy + idle + iowait
  uint64_t steal = 0;  ///< time the hypervisor ran something else while this vCPU wanted to run
  bool present = false;
};

struct CpuTimes {
  std::vector<CpuTime> cpus;  ///< indexed by CPU number ("cpuN" lines)
};

/// Parses the "cpuN" lines of a /proc/stat text. Lines it cannot read are skipped.
CpuTimes parseCpuTimes(const std::string& text);
/// Reads and parses `path`. Errors: the file cannot be read (errno, naming the path).
Result<CpuTimes> readCpuTimes(const std::string& path);
/// Busy percentage (0..100) of `cpu` between two readings; nullopt when either lacks the CPU or
/// no time passed.
std::optional<double> cpuBusyPct(const CpuTimes& before, const CpuTimes& after, uint32_t cpu);
/// Steal percentage (0..100) of `cpu` between two readings (part of cpuBusyPct); nullopt as
/// there.
std::optional<double> cpuStealPct(const CpuTimes& before, const CpuTimes& after, uint32_t cpu);

}  // namespace sluice::telemetry
