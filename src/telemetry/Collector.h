#pragma once
// Telemetry: once a second, what the data plane and the queue tree counted, rolled up to the
// operator's terms (circuit, node, queue, totals), kept as time series and served as the JSON of
// the operator API (src/api/openapi.json, docs/api.md) and as Prometheus text.
//
//   BPF host map (per CPU) ──► per host deltas ──► per circuit (the plan's address map) ──► per
//   BPF flow table ──────────► flows, TCP retransmits           node up to the root ──► totals
//   BPF RTT ring buffer ─────► RTT samples (p50/p90 over the last rttWindowSeconds, histogram)
//   tc dumps (netlink) ──────► per circuit class/leaf: drops, overlimits, backlog, CAKE tins
//   /proc/stat ──────────────► CPU load of each queue's CPU (plan.queueCpu)
//
// Rates are deltas of cumulative counters between two ticks divided by the wall time between
// them (`now` of the two calls); a counter that went backwards (an LRU map evicted and re-created
// the host) counts its new value as the delta. Bits/s = 8 x L2 frame bytes / s.
//
// Storage: 1 s resolution for the last 10 min and 1 min resolution for the last 48 h, values
// log-encoded in 16 bits (±0.034 %). Totals and nodes: rings in memory. Circuits: lazy — a
// compact 1 s ring (rates in 12 bits, ±0.35 %; RTT per 10 s block) exists only while the
// circuit carried traffic in the last 10 min (idle ones read as 0);
// their 48 h of minutes are in the SQLite history (only the open hour in memory) when
// Options::historyDbPath is set, else in a ring of Options::circuitHistoryMinutes. Every
// `persistSeconds` the averages of the totals and nodes go to SQLite, bounded to
// Options::historyMaxBytes by dropping the oldest rows; a new Collector on the same file
// reloads the last 48 h. docs/telemetry.md has the memory and disk figures.
//
// Threads: tick() runs on one thread (the daemon's telemetry thread); every query may be called
// from any thread at any time (shared lock; tick() holds the exclusive lock only while it
// publishes a finished rollup, not while it reads the kernel).

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"

#include "abi/sluice_abi.h"
#include "tc/LiveTree.h"
#include "telemetry/MapRead.h"

namespace sluice::model {
struct Inputs;
}
namespace sluice::plan {
struct QueuePlan;
}
namespace sluice::netlink {
class Socket;
}

namespace sluice::telemetry {

/// RTT samples buffered between two ticks at most (further samples are dropped).
inline constexpr size_t kMaxPendingRtt = 1u << 18;

struct Options {
  /// SQLite history database ([sluice] history_db); "" = no persistence.
  std::string historyDbPath;
  /// Bound on the database file ([sluice] history_max_bytes); oldest rows are deleted beyond it.
  uint64_t historyMaxBytes = 256ull << 20;
  /// Per-circuit series in prometheus() ([sluice] metrics_per_circuit).
  bool perCircuitMetrics = false;
  /// Without a history database: minutes of 1 min history each circuit keeps in memory
  /// (≤ 2880 = 48 h), 6 bytes a minute (17 KB at 2880) per circuit that carried traffic in that
  /// span; 0 = none. With a database the circuits' minutes are in it and this is unused.
  uint32_t circuitHistoryMinutes = 2880;
  /// Interval of the persisted (downsampled) history, seconds.
  uint32_t persistSeconds = 300;
  /// RTT percentiles cover the samples of the last this many seconds.
  uint32_t rttWindowSeconds = 10;
  /// Flows kept per circuit for circuit() (the busiest by bytes in the last tick).
  uint32_t flowsPerCircuit = 20;
  /// Unknown addresses kept for unknown() (the busiest by total bytes).
  uint32_t unknownLimit = 1000;
  /// tc statistics are dumped at most every this many ticks. 0 = never.
  uint32_t tcStatsEveryTicks = 1;
  /// ... and only as often as keeps their CPU cost within this share of one CPU: a dump that
  /// cost D ms waits until D ≤ share × 1000 ms × ticks since it. Dumps are kernel work that grows
  /// with the square of the qdiscs on a device (the kernel restarts its walk for every 32 KiB
  /// reply chunk): ~2 ms for 1k circuits (every tick), ~250 ms for 10k (every ~10 s at 0.025).
  /// See docs/telemetry.md. 1.0 = every tcStatsEveryTicks.
  double tcStatsMaxCpuShare = 0.025;
  /// Where CPU times are read (tests point this at a fixture).
  std::string procStatPath = "/proc/stat";
};

/// What tick() reads. Any fd may be -1 (that source is skipped); `tcSocket` may be null.
struct Sources {
  int hostsFd = -1;    ///< Shaper::MapFds::hosts (LRU per-CPU hash, sluice_host_counters)
  int flowsFd = -1;    ///< Shaper::MapFds::flows (LRU hash, sluice_flow)
  int rttRingFd = -1;  ///< Shaper::MapFds::rttRing (ring buffer of sluice_rtt_event)
  int statsFd = -1;    ///< Shaper::MapFds::stats (per-CPU array, enum sluice_stat)
  /// NETLINK_ROUTE socket in the shaping interfaces' namespace; the interfaces are the plan's
  /// (QueuePlan::interfaces[].ifname). Only tick() uses it.
  netlink::Socket* tcSocket = nullptr;
};

/// Readings taken elsewhere (tests, replays): what tick(Sources) would have read.
struct Readings {
  std::vector<HostSample> hosts;
  std::vector<sluice_flow_key> flowKeys;  ///< parallel to flows
  std::vector<sluice_flow> flows;
  std::vector<sluice_rtt_event> rtt;
  std::optional<std::array<uint64_t, SLUICE_STAT_COUNT>> stats;
  std::vector<tc::LiveTree> tcTrees;  ///< parallel to QueuePlan::interfaces (may be shorter)
  uint64_t monotonicNs = 0;           ///< CLOCK_MONOTONIC of the reading (0 = now)
};

/// What one tick did and cost (for logs and the benchmark).
struct TickReport {
  size_t hosts = 0;            ///< host map entries read
  size_t flows = 0;            ///< flow table entries read
  size_t rttSamples = 0;       ///< ring buffer events consumed
  size_t tcObjects = 0;        ///< classes + qdiscs dumped (0 when skipped)
  // CPU time (user + system) of the calling thread, ms:
  double readMs = 0;           ///< reading BPF maps and the ring buffer
  double tcMs = 0;             ///< the tc dumps (their kernel work is system time)
  double rollupMs = 0;         ///< rollups, rings and publication
  double persistMs = 0;        ///< SQLite writes (0 on most ticks)
  std::vector<std::string> warnings;  ///< sources that failed this tick (the rest still counted)
};

/// What the time series hold in memory (Collector::seriesMemory; the benchmark reports it).
struct SeriesMemory {
  size_t bytes = 0;              ///< heap bytes of every ring and open hour block
  size_t stateBytes = 0;         ///< fixed per-circuit/node state objects (live values, stats)
  /// Circuit states (with their series): circuits that carried traffic, had an RTT sample, a
  /// flow or queue statistics since the collector started (the others hold none).
  size_t circuits = 0;
  size_t circuitsWithRings = 0;  ///< of which hold a 1 s ring (a non-zero sample in 10 min)
  size_t circuitBlocks = 0;      ///< open hour blocks of circuit minutes (history database)
};

class Collector {
 public:
  /// Opens (creating when needed) the history database and loads the last 48 h of it. Errors:
  /// the database cannot be opened or is not Sluice's (the message names the path); use a
  /// Collector with an empty historyDbPath to run without history.
  static Result<std::unique_ptr<Collector>> create(Options options);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  /// Installs what the shaper implements now (Shaper::snapshot() after every start/reload).
  /// Circuits and nodes are matched to their previous series by circuit ID and node name, so a
  /// reload keeps the history of whatever it did not remove. Both non-null. Thread-safe.
  void setPlan(std::shared_ptr<const model::Inputs> inputs,
               std::shared_ptr<const plan::QueuePlan> plan);

  /// One collection step: reads `sources`, computes rates against the previous tick and
  /// publishes them to the queries. Call once a second; `now` is the wall clock of the reading.
  /// The first tick (and the first after setPlan with new addresses) only primes the counters:
  /// its rates are 0. Failing sources are reported in TickReport::warnings and skipped; tick
  /// itself fails only without a plan (EINVAL).
  Result<TickReport> tick(const Sources& sources,
                          std::chrono::system_clock::time_point now =
                              std::chrono::system_clock::now());
  /// The same step on readings taken elsewhere (host counters are the cumulative per-host sums,
  /// as readHosts returns them). Same thread rules as tick(Sources).
  Result<TickReport> tick(Readings readings, std::chrono::system_clock::time_point now);

  /// Waits up to `timeoutMs` (0 = no wait) for RTT samples from the ring buffer and keeps them
  /// for the next tick (at most kMaxPendingRtt). The ring holds about 4,000 samples, fewer than a
  /// busy shaper produces per second, so the daemon's telemetry thread calls this between ticks
  /// (tick() itself drains without waiting). Same thread as tick(). Errors: ring buffer errno.
  Result<size_t> drainRtt(const Sources& sources, int timeoutMs);

  // Queries: the JSON bodies of api-contract.md. Thread-safe against tick().

  /// GET /api/summary. `history` = the totals of the last 10 min at 1 s.
  nlohmann::json summary() const;
  /// GET /api/tree. Root level = top-level nodes of network.json, then generated parent nodes;
  /// "circuits" = circuits in the node's subtree; utilization = rate / max (0 when max is 0).
  nlohmann::json tree() const;
  /// GET /api/circuits. `search`: case-insensitive substring of circuit id, name, parent, device
  /// id/name/MAC or address text ("" = all). `sort`: "name" (ascending), "down", "up", "rtt"
  /// (descending; circuits without RTT last). "total" counts matches before offset/limit.
  /// Each entry's "devices" is the number of devices. Unknown sort: EINVAL naming the value.
  Result<nlohmann::json> circuits(std::string_view search, size_t offset, size_t limit,
                                  std::string_view sort) const;
  /// GET /api/circuits/{id}; nullopt for an unknown circuit ID. "history": the last 10 min at
  /// 1 s; with `minutes` > 0 instead the last `minutes` minutes at 1 min (≤ 2880).
  std::optional<nlohmann::json> circuit(std::string_view id, uint32_t minutes = 0) const;
  /// GET /api/top. metric: "throughput" (down+up), "rtt" (worst p50; circuits with samples
  /// only), "retransmits" (highest %). n ≤ 1000. Unknown metric: EINVAL naming it.
  Result<nlohmann::json> top(std::string_view metric, size_t n) const;
  /// GET /api/unknown: addresses in the host map that no circuit of the plan covers, busiest
  /// (bytes_down + bytes_up) first, at most Options::unknownLimit. last_seen is ISO-8601 UTC.
  nlohmann::json unknown() const;
  /// GET /metrics: Prometheus text exposition format 0.0.4 (names in docs/telemetry.md):
  /// totals, per queue, per node, and per circuit when Options::perCircuitMetrics.
  std::string prometheus() const;

  /// Memory of the time series now. Thread-safe.
  SeriesMemory seriesMemory() const;

  /// Writes the pending history to SQLite now (the daemon calls it on shutdown). Errors: SQLite.
  Result<void> flush();

  struct Impl;  ///< internal (telemetry/CollectorImpl.h)

 private:
  explicit Collector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::telemetry
