#pragma once
// Internals of telemetry::Collector shared by Collector.cpp (state, history), the tick's files
// (Tick.cpp, Rollups.cpp, Publish.cpp), Queries.cpp (JSON) and Prometheus.cpp. Not a public
// header.

#include <array>
#include <cmath>
#include <chrono>
#include <deque>
#include <cstdint>
#include <limits>
#include <optional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/Inputs.h"
#include "planner/AddressIndex.h"
#include "planner/QueuePlan.h"
#include "telemetry/Collector.h"
#include "telemetry/CpuStat.h"
#include "telemetry/History.h"
#include "telemetry/MapRead.h"
#include "telemetry/Series.h"

namespace sluice::dataplane {
class RttConsumer;
}

namespace sluice::telemetry {

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();
/// Host and flow states not seen in a tick are dropped every this many ticks (and whenever the
/// tables hold twice what the maps do): the sweep walks the whole table.
inline constexpr uint64_t kSweepTicks = 16;
/// Weight of the newest second in the retransmit averages (≈ a 10 s exponential window).
inline constexpr double kRetransmitAlpha = 0.1;
/// Finished hour blocks written to SQLite per tick at most (the rest on the next ticks).
inline constexpr size_t kBlocksPerTick = 10'000;

/// A circuit without a CircuitState (PlanView::circuitSlot).
inline constexpr uint32_t kNoSlot = UINT32_MAX;

/// The installed plan plus the indices the rollups need. Immutable once built, except
/// circuitSlot (see there). Sized for 100k circuits: ~9 bytes per circuit plus the address
/// index (12-20 bytes a prefix) and 12 bytes per circuit class in the tree; no strings.
struct PlanView {
  std::shared_ptr<const model::Inputs> inputs;
  std::shared_ptr<const plan::QueuePlan> plan;
  uint64_t generation = 0;
  plan::AddressIndex addresses;           ///< prefix -> circuit index
  /// circuit index -> CircuitState slot, kNoSlot while the circuit has none (it never carried
  /// traffic nor had queue statistics: it reads as idle). Written under Impl::mutex (exclusive)
  /// when a circuit gets its state; read under it (or by the tick thread).
  mutable std::vector<uint32_t> circuitSlot;
  std::vector<uint32_t> nodeSlot;         ///< node placement -> NodeState slot
  std::vector<int32_t> nodeParent;        ///< node placement -> parent placement, -1 at the top
  std::vector<std::vector<int32_t>> nodeChildren;
  std::vector<int32_t> roots;             ///< top-level placements, network.json order first
  std::vector<uint32_t> nodeCircuits;     ///< circuits in each node's subtree
  std::vector<int32_t> nodeOrder;         ///< placements, children before parents
  std::vector<uint32_t> byId;             ///< circuit indices sorted by circuit ID
  /// (interface index in plan.interfaces << 32 | classid, circuit index << 1 | direction),
  /// sorted; circuits without classes (lazy queues: classid 0:0) have no entry.
  std::vector<std::pair<uint64_t, uint32_t>> classToCircuit;
  const model::Circuit& modelCircuit(size_t c) const;
  std::string parentName(size_t c) const;
  /// The circuit index of circuit ID `id`, -1 when the plan has none.
  int32_t findCircuit(std::string_view id) const;
  /// The circuit index << 1 | direction of class `key` (as classToCircuit), nullopt if none.
  std::optional<uint32_t> findClass(uint64_t key) const;
  /// The download leaf of circuit `c` in the tree (null without one): a walk of the download
  /// classes (circuit(id) only).
  const plan::LeafSpec* downLeaf(size_t c) const;
  /// Whether circuit `c` matches the lowercase `needle` of circuits(search): a case-insensitive
  /// substring of its id, name, parent, a device's id, name or MAC, or an address's text.
  bool matches(size_t c, std::string_view needle) const;
};

struct TinStats {
  uint64_t drops = 0;
  uint64_t marks = 0;
  uint32_t delayUs = 0;      ///< average delay (CAKE's avg_delay_us)
  uint32_t peakDelayUs = 0;
  uint32_t backlogBytes = 0;
};

/// tc statistics of one direction of one circuit: its HTB class and its leaf qdisc.
struct QueueStats {
  bool valid = false;
  uint64_t drops = 0;        ///< leaf qdisc drops (class drops when it has no leaf)
  uint64_t overlimits = 0;   ///< HTB class overlimits
  uint32_t backlogBytes = 0;
  uint32_t backlogPackets = 0;
  uint64_t sentBytes = 0;    ///< HTB class
  std::string leafKind;      ///< "cake", "fq_codel", "pfifo", ... "" = none
  std::vector<TinStats> tins;
};

struct FlowLive {
  sluice_flow_key key;
  std::array<double, 2> bps{};
  double rttMs = kNoValue;
  uint32_t retransmits = 0;
};

/// Live values and counters shared by circuits, nodes and the totals.
struct Rollup {
  std::array<double, 2> bps{};
  std::array<double, 2> pps{};
  double rttP50Ms = kNoValue;
  double rttP90Ms = kNoValue;
  double retransmitPct = 0;
  std::array<uint64_t, 2> bytesTotal{};    ///< since the collector started
  std::array<uint64_t, 2> packetsTotal{};
  uint64_t retransmitsTotal = 0;
  double retransmitEma = 0;
  double tcpPacketsEma = 0;
};

/// A circuit's state, kept by circuit ID across reloads. Created by the circuit's first
/// traffic, RTT sample, flow or queue statistics (a circuit without one reads as idle: kIdle),
/// then kept (its counters since start must not go back).
struct CircuitState {
  Series series;
  Rollup live;
  std::array<QueueStats, 2> queue;
  std::vector<FlowLive> flows;
};

struct NodeState {
  Series series;
  Rollup live;
};

struct QueueLive {
  uint32_t queue = 0;
  uint32_t cpu = 0;
  std::array<double, 2> bps{};
  double cpuPct = 0;
};

struct UnknownLive {
  Addr addr;
  std::array<double, 2> bps{};
  std::array<uint64_t, 2> bytes{};
  int64_t lastSeenUnix = 0;
};

struct TotalsState {
  Series series;
  Rollup all;
  std::array<double, 2> shapedBps{};
  std::array<double, 2> unknownBps{};
  std::array<std::array<double, 2>, SLUICE_PROTO_COUNT> protoPps{};
  std::array<std::array<uint64_t, 2>, SLUICE_PROTO_COUNT> protoPacketsTotal{};
  std::array<uint64_t, 2> unknownBytesTotal{};
  std::array<uint64_t, kRttBucketsMs.size()> rttWindowCounts{};  ///< samples in the window
  std::array<uint64_t, kRttBucketsMs.size()> rttCumulative{};    ///< since start (Prometheus)
  double rttSumSeconds = 0;
  uint64_t rttCount = 0;
  std::array<uint64_t, SLUICE_STAT_COUNT> dataplaneStats{};
  bool hasDataplaneStats = false;
  int64_t t = 0;  ///< unix seconds of the last tick
  TickReport lastTick;
};

struct HostState {
  std::array<uint64_t, 2> bytes{};
  std::array<uint64_t, 2> packets{};
  std::array<std::array<uint64_t, 2>, SLUICE_PROTO_COUNT> proto{};
  int32_t circuit = -1;
  uint64_t generation = 0;
  uint64_t seenTick = 0;
};

struct FlowKeyHash {
  size_t operator()(const sluice_flow_key& k) const noexcept;
};
struct FlowKeyEq {
  bool operator()(const sluice_flow_key& a, const sluice_flow_key& b) const noexcept;
};
struct FlowState {
  std::array<uint64_t, 2> bytes{};
  std::array<uint32_t, 2> retransmits{};
  std::array<double, 2> bps{};  ///< of the last tick
  int32_t circuit = -1;
  uint64_t generation = 0;      ///< plan generation `circuit` was looked up under
  double rttMs = kNoValue;
  uint64_t seenTick = 0;
};

struct RttSample {
  uint32_t slot = 0;  ///< CircuitState slot
  float rttUs = 0;
};

/// What one tick read, besides the buffers of Collector::Impl.
struct ReadState {
  bool hostsOk = false;
  bool flowsOk = false;
  uint64_t monoNowNs = 0;
  std::optional<std::array<uint64_t, SLUICE_STAT_COUNT>> stats;
  std::vector<std::pair<uint32_t, QueueStats>> queueStats;  ///< (circuit << 1 | dir, stats)
};

struct Tick;  // TickWork.h

struct Collector::Impl {
  Options options;
  std::unique_ptr<History> history;

  // Guarded by mutex: everything queries read.
  mutable std::shared_mutex mutex;
  std::shared_ptr<const PlanView> view;
  std::vector<std::unique_ptr<CircuitState>> circuits;  ///< by slot
  std::unordered_map<std::string, uint32_t> circuitSlots;
  std::vector<std::unique_ptr<NodeState>> nodes;  ///< by slot
  std::unordered_map<std::string, uint32_t> nodeSlots;
  TotalsState totals;
  std::vector<QueueLive> queues;
  std::vector<UnknownLive> unknown;
  uint64_t generation = 0;

  // Only tick() (one thread) touches these.
  uint64_t tickNo = 0;
  std::chrono::system_clock::time_point lastTick{};
  std::unordered_map<Addr, HostState, AddrHash> hosts;
  std::unordered_map<sluice_flow_key, FlowState, FlowKeyHash, FlowKeyEq> flowStates;
  std::vector<HostSample> hostBuf;
  std::vector<sluice_flow_key> flowKeyBuf;
  std::vector<sluice_flow> flowBuf;
  std::unique_ptr<dataplane::RttConsumer> rtt;
  int rttFd = -1;
  std::vector<sluice_rtt_event> rttPending;
  std::deque<std::vector<RttSample>> rttWindow;
  std::vector<uint32_t> flowSlotsLastTick;
  CpuTimes cpuPrev;
  uint64_t lastTcTick = 0;   ///< tick of the last tc dump (0 = none yet)
  double lastTcCpuMs = 0;    ///< its CPU cost
  int64_t persistInterval = -1;
  int64_t minuteNo = -1;          ///< unix minute of the current tick
  uint32_t minuteTicks = 0;       ///< ticks in it so far
  uint32_t prevMinuteTicks = 0;   ///< ticks in the previous minute
  int64_t blockHour = -1;         ///< hour of the last block sweep
  struct Scratch;                  ///< per-tick buffers (TickWork.h)
  std::shared_ptr<Scratch> scratch;
  /// Finished circuit hour blocks waiting for SQLite (circuit ID, block); guarded by mutex.
  std::vector<std::pair<std::string, std::unique_ptr<MinuteBlock>>> pendingBlocks;

  std::shared_ptr<const PlanView> currentView() const;
  /// Rollups of what was read (hostBuf, flowBuf, rttPending, `rs`), then publication
  /// (Publish.cpp): the stages below, in their order.
  void process(const PlanView& view, ReadState& rs, std::chrono::system_clock::time_point now,
               TickReport& report);
  // Rollup stages (Rollups.cpp; tick thread, no lock unless said).
  /// hostBuf into host states, circuit sums, protocol counts and the unknown hosts.
  void rollHosts(Tick& t);
  /// Keeps the busiest Options::unknownLimit unknown hosts, busiest first.
  void keepBusiestUnknown(Tick& t) const;
  /// rttPending into per-circuit samples of this tick; flows get their latest RTT.
  void rollRtt(Tick& t);
  /// flowBuf into flow states, circuit retransmits and the active flows.
  void rollFlows(Tick& t);
  /// Each circuit's busiest Options::flowsPerCircuit active flows (Scratch::keptFlows).
  void keepBusiestFlows(Tick& t) const;
  /// Gives a CircuitState to each circuit with something to show this tick (exclusive lock).
  void materializeActive(Tick& t, const ReadState& rs);
  /// Circuit sums into their nodes, children into parents (Scratch::nodeAcc).
  void sumNodes(Tick& t) const;
  /// The RTT window (Options::rttWindowSeconds) and its percentiles by circuit, node and total.
  void rollRttWindow(Tick& t);
  /// Each shaping queue's rate and its CPU's load (/proc/stat).
  void rollQueues(Tick& t);
  // Publication (Publish.cpp; exclusive lock held).
  void publishCircuits(Tick& t, ReadState& rs);
  void publishNodesAndTotals(Tick& t, const ReadState& rs);
  /// The history rows due now: finished hour blocks and the persist interval's averages.
  void takeDueHistory(const Tick& t, std::vector<HistoryRow>& persistRows,
                      std::vector<MinuteBlockRow>& blockRows);
  uint32_t circuitSlot(const std::string& id);  ///< needs the exclusive lock
  /// Gives circuits `cs` of `v` (indices) their CircuitState where they have none, in `v` and
  /// in the installed view (exclusive lock held).
  void materialize(const PlanView& v, std::span<const uint32_t> cs);
  /// The state of circuit `c` of `v`, or kIdle (shared or exclusive lock held).
  const CircuitState& circuitState(const PlanView& v, size_t c) const {
    const uint32_t slot = v.circuitSlot[c];
    return slot == kNoSlot ? kIdle : *circuits[slot];
  }
  static const CircuitState kIdle;  ///< what a circuit without state reads as
  uint32_t nodeSlot(const std::string& name);
  Series& seriesFor(const std::string& kind, const std::string& name);
  Result<void> loadHistory();
  std::vector<HistoryRow> takePersistRows(int64_t intervalStart);
  /// Takes up to `max` of pendingBlocks as rows for History::appendMinuteBlocks.
  std::vector<MinuteBlockRow> takeBlockRows(size_t max = SIZE_MAX);
};

/// Builds the indices of a plan (PlanView.cpp) without touching the collector's state; slots
/// and generation are assigned afterwards.
std::shared_ptr<PlanView> buildView(std::shared_ptr<const model::Inputs> inputs,
                                    std::shared_ptr<const plan::QueuePlan> plan);
/// Gives every node and circuit of `v` its series slot (exclusive lock held).
void assignSlots(Collector::Impl& impl, PlanView& v);

}  // namespace sluice::telemetry
