#pragma once
// Internals of one telemetry tick, shared by its stages: Tick.cpp (reading), Rollups.cpp (sums,
// flows, RTT percentiles, queues) and Publish.cpp (publication under the lock, persistence).
// Not a public header.

#include <time.h>

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "telemetry/CollectorImpl.h"

namespace sluice::telemetry {

/// CPU time (user + system) of the calling thread, ms: the budget of a tick is CPU, and on a
/// shared machine wall time mostly measures the neighbours.
inline double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

inline double msSince(double t0) { return threadCpuMs() - t0; }

/// Per-entity sums of one tick before they become rates.
struct Acc {
  std::array<uint64_t, 2> bytes{};
  std::array<uint64_t, 2> packets{};
  uint64_t retransmits = 0;
  uint64_t tcpPackets = 0;
  bool zero() const {
    return bytes[0] == 0 && bytes[1] == 0 && packets[0] == 0 && packets[1] == 0 &&
           retransmits == 0 && tcpPackets == 0;
  }
  void add(const Acc& o) {
    for (int d = 0; d < 2; ++d) {
      bytes[d] += o.bytes[d];
      packets[d] += o.packets[d];
    }
    retransmits += o.retransmits;
    tcpPackets += o.tcpPackets;
  }
};

/// A flow with a packet in the last 10 s (sorted as a small record; FlowLive is built only for
/// the flows a circuit keeps).
struct ActiveFlow {
  uint32_t circuit;
  uint32_t index;          ///< into flowBuf
  double bps;
  const FlowState* state;  ///< stable: the sweep erases only flows not seen in this tick
};

/// Per-tick working buffers, kept across ticks so that a tick at 100k circuits does not allocate
/// (and fault in) tens of MB every second.
struct Collector::Impl::Scratch {
  /// Sums of the circuits that had a delta this tick: (circuit, sums), and circuit -> index into
  /// it (kNoSlot for the others; reset after each tick), so that an idle circuit costs 4 bytes.
  std::vector<std::pair<uint32_t, Acc>> circuitAcc;
  std::vector<uint32_t> accAt;
  std::vector<std::pair<uint32_t, float>> rttByCircuit;  ///< (circuit, RTT µs) of this tick
  std::vector<uint32_t> needState;  ///< circuits that need a CircuitState this tick
  std::vector<Acc> nodeAcc;
  std::vector<ActiveFlow> activeFlows;
  std::vector<ActiveFlow> flowsByCircuit;
  std::vector<uint32_t> flowStart;  ///< circuit -> first index in flowsByCircuit (+1 entry)
  std::vector<std::pair<uint32_t, FlowLive>> keptFlows;  ///< (circuit, flow)
  std::vector<std::pair<double, double>> slotRtt;  ///< (p50, p90) ms by CircuitState slot
};

/// One tick: what it runs on (fixed at its start) and what each stage hands to the next.
struct Tick {
  Tick(const PlanView& v, Collector::Impl::Scratch& s)
      : view(v), plan(*v.plan), sc(s), circuitCount(plan.circuits.size()),
        nodeCount(plan.nodes.size()) {}

  const PlanView& view;
  const plan::QueuePlan& plan;
  Collector::Impl::Scratch& sc;
  const size_t circuitCount;
  const size_t nodeCount;
  bool first = false;       ///< the collector's first tick: counters read, no deltas yet
  uint64_t number = 0;      ///< Impl::tickNo of this tick
  double dtSeconds = 0;     ///< since the last tick (0 on the first)
  int64_t nowUnix = 0;
  uint64_t monoNowNs = 0;   ///< CLOCK_MONOTONIC at the read (the maps' timestamps)

  // rollHosts
  Acc shaped;               ///< every circuit's traffic
  Acc unknownTraffic;       ///< hosts no circuit claims
  std::array<std::array<uint64_t, 2>, SLUICE_PROTO_COUNT> protoDelta{};
  std::vector<UnknownLive> unknownHosts;  ///< the busiest, at most Options::unknownLimit
  // rollRttWindow
  std::vector<std::vector<double>> nodeSamples;  ///< RTT ms in each node's subtree
  double totalP50Ms = kNoValue;
  double totalP90Ms = kNoValue;
  std::array<uint64_t, kRttBucketsMs.size()> windowCounts{};
  // rollQueues
  std::vector<QueueLive> queues;

  /// The sums of circuit `c`, created at its first delta this tick.
  Acc& accFor(size_t c) {
    uint32_t& at = sc.accAt[c];
    if (at == kNoSlot) {
      at = static_cast<uint32_t>(sc.circuitAcc.size());
      sc.circuitAcc.emplace_back(static_cast<uint32_t>(c), Acc{});
    }
    return sc.circuitAcc[at].second;
  }
  /// The sums of circuit `c`, null when it had no delta this tick.
  const Acc* accOf(size_t c) const {
    const uint32_t at = sc.accAt[c];
    return at == kNoSlot ? nullptr : &sc.circuitAcc[at].second;
  }
  /// Whether circuit index `c` is one of the plan's (a lookup's -1 or a stale index is not).
  bool isCircuit(int32_t c) const { return c >= 0 && static_cast<size_t>(c) < circuitCount; }
};

}  // namespace sluice::telemetry
