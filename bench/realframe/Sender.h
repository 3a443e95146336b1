#pragma once
// trafgen(8) (Debian package netsniff-ng) sending a configuration's frames round robin out of
// the inet namespace's i0, and the measurement window around it: counters and per-program BPF
// statistics read after a warm-up and again `seconds` later, while trafgen keeps sending.

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ProgStats.h"
#include "Topology.h"

namespace sluice::realframe {

/// One trafgen process group: `ip netns exec NS trafgen -o DEV -i CONF -P 1 ...`, one sender
/// pinned to CPU 0 (trafgen binds its worker n to CPU n), qdisc bypassed (PACKET_QDISC_BYPASS,
/// trafgen's default), trafgen's global tuning off (--no-sock-mem, --notouch-irq).
class Trafgen {
 public:
  /// `ratePps` 0 = as fast as one sender goes (TX_RING), else trafgen's `-b <rate>pps`. Output
  /// goes to `logPath`. Throws std::runtime_error when fork/exec fails or trafgen exits at once.
  Trafgen(const std::string& ns, const std::string& dev, const std::string& config,
          uint64_t ratePps, const std::string& logPath);
  /// SIGINT to the group (trafgen prints its totals and exits), SIGKILL after 5 s.
  ~Trafgen();
  Trafgen(const Trafgen&) = delete;
  Trafgen& operator=(const Trafgen&) = delete;

 private:
  pid_t pid_ = -1;
};

/// The programs whose statistics a window reads: fd -1 = not in this run.
struct Programs {
  int xdpFd = -1;
  int tcFd = -1;
  int statsMapFd = -1;  ///< sluice_stats (per-CPU counters) or -1
};

/// Counters at one instant.
struct Snapshot {
  std::chrono::steady_clock::time_point at;
  uint32_t sinkRx = 0, sourceTx = 0;  ///< 32-bit link counters (differences modulo 2^32)
  uint64_t qdiscDrops = 0;
  std::map<std::string, uint64_t> classes;
  ProgRunStats xdp, tc;
  std::vector<uint64_t> stats;  ///< sluice_stats by enum sluice_stat, empty without the map
};

Snapshot snapshot(const Topology& topo, const Programs& progs);

/// What happened between two snapshots.
struct Window {
  double seconds = 0;
  double offeredPps = 0;       ///< i0 tx packets / s
  double forwardedPps = 0;     ///< s0 rx packets / s: frames that crossed XDP, cpumap, bridge, HTB
  double xdpNs = 0, tcNs = 0;  ///< kernel run_time_ns / run_cnt (0 = program absent)
  uint64_t xdpRuns = 0, tcRuns = 0;
  uint64_t leafPackets = 0;      ///< packets sent by the HTB leaves (1:2, 2:2, 1:30, ...)
  uint64_t expectedPackets = 0;  ///< of which in the expected classes
  uint64_t defaultPackets = 0;   ///< of which in the default classes 1:2 and 2:2
  uint64_t qdiscDrops = 0;
  std::vector<uint64_t> stats;  ///< sluice_stats deltas (empty without the map)
};

/// Differences between `a` and `b`; `expected` are the HTB classes the frames must reach.
Window difference(const Snapshot& a, const Snapshot& b, const std::vector<std::string>& expected);

/// Median of `v` (0 for an empty vector).
double median(std::vector<double> v);

}  // namespace sluice::realframe
