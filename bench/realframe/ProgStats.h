#pragma once
// The kernel's own per-program run-time statistics (the numbers `bpftool prog show` prints as
// run_time_ns / run_cnt): what every real packet cost each program, measured by the kernel
// around the program's run (kernel/bpf/syscall.c, bpf_prog_run with bpf_stats_enabled_key).

#include <cstdint>
#include <string>

namespace sluice::realframe {

/// Keeps the kernel's BPF run-time statistics on while it lives: BPF_ENABLE_STATS
/// (BPF_STATS_RUN_TIME) returns a file descriptor, and statistics stay on until every such
/// descriptor is closed and kernel.bpf_stats_enabled is 0. Same counters as
/// `sysctl kernel.bpf_stats_enabled=1`, but nothing to restore if the process dies. The counting
/// itself costs two sched_clock() reads per run (tens of ns, included in every figure).
class BpfStatsSession {
 public:
  /// Throws std::runtime_error with the errno text when the kernel refuses (no CAP_SYS_ADMIN).
  BpfStatsSession();
  ~BpfStatsSession();
  BpfStatsSession(const BpfStatsSession&) = delete;
  BpfStatsSession& operator=(const BpfStatsSession&) = delete;

 private:
  int fd_ = -1;
};

/// run_time_ns and run_cnt of one program since it was loaded (while statistics were on).
struct ProgRunStats {
  uint64_t runTimeNs = 0;
  uint64_t runCount = 0;
};

/// Reads them with BPF_OBJ_GET_INFO_BY_FD; throws std::runtime_error naming `what` on failure.
ProgRunStats readProgStats(int progFd, const std::string& what);

/// ns per run between two readings of one program; 0 when it did not run.
double nsPerRun(const ProgRunStats& before, const ProgRunStats& after);

}  // namespace sluice::realframe
