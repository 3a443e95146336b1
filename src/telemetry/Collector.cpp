// Collector: construction, plan installation, history, and the 1 s tick.

#include "telemetry/Collector.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "dataplane/Readers.h"
#include "netlink/Socket.h"
#include "tc/LiveTree.h"
#include "telemetry/CollectorImpl.h"

namespace sluice::telemetry {

namespace {

// CPU time (user + system) of the calling thread, ms: the budget of a tick is CPU, and on a
// shared machine wall time mostly measures the neighbours.
double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double msSince(double t0) { return threadCpuMs() - t0; }

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Delta of a cumulative counter; a counter that went backwards was re-created (LRU eviction).
uint64_t delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

// Adds one second's deltas to a rollup: rates, totals and the retransmit averages.
void applyRollup(Rollup& r, const std::array<uint64_t, 2>& bytes,
                 const std::array<uint64_t, 2>& packets, uint64_t retransmits, uint64_t tcpPackets,
                 double dt, bool first) {
  for (int d = 0; d < 2; ++d) {
    r.bps[d] = dt > 0 ? 8.0 * static_cast<double>(bytes[d]) / dt : 0;
    r.pps[d] = dt > 0 ? static_cast<double>(packets[d]) / dt : 0;
    r.bytesTotal[d] += bytes[d];
    r.packetsTotal[d] += packets[d];
  }
  r.retransmitsTotal += retransmits;
  if (first) {
    r.retransmitEma = static_cast<double>(retransmits);
    r.tcpPacketsEma = static_cast<double>(tcpPackets);
  } else {
    r.retransmitEma += kRetransmitAlpha * (static_cast<double>(retransmits) - r.retransmitEma);
    r.tcpPacketsEma += kRetransmitAlpha * (static_cast<double>(tcpPackets) - r.tcpPacketsEma);
  }
  r.retransmitPct = r.tcpPacketsEma > 1e-9
                        ? std::min(100.0, 100.0 * r.retransmitEma / r.tcpPacketsEma)
                        : 0.0;
}

// Per-entity sums of one tick before they become rates.
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

// A flow with a packet in the last 10 s (sorted as a small record; FlowLive is built only for
// the flows a circuit keeps).
struct ActiveFlow {
  uint32_t circuit;
  uint32_t index;          ///< into flowBuf
  double bps;
  const FlowState* state;  ///< stable: the sweep erases only flows not seen in this tick
};

}  // namespace

// Per-tick working buffers, kept across ticks so that a tick at 100k circuits does not allocate
// (and fault in) tens of MB every second.
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

namespace {

std::optional<double> usToOpt(double ms) {
  return std::isnan(ms) ? std::nullopt : std::optional<double>(ms * 1000.0);
}

void fillQueueStats(QueueStats& out, const tc::LiveClass& cls, const tc::LiveQdisc* leaf) {
  out.valid = true;
  out.overlimits = cls.stats.overlimits;
  out.sentBytes = cls.stats.bytes;
  out.drops = cls.stats.drops;
  out.backlogBytes = cls.stats.backlogBytes;
  out.backlogPackets = cls.stats.qlen;
  out.leafKind.clear();
  out.tins.clear();
  if (leaf == nullptr) {
    return;
  }
  out.leafKind = leaf->kind;
  out.drops = leaf->stats.drops;
  out.backlogBytes = leaf->stats.backlogBytes;
  out.backlogPackets = leaf->stats.qlen;
  if (leaf->cakeXstats) {
    for (const tc::CakeTinStats& t : leaf->cakeXstats->tins) {
      out.tins.push_back(TinStats{t.droppedPackets, t.ecnMarkedPackets, t.avgDelayUs,
                                  t.peakDelayUs, t.backlogBytes});
    }
  }
}

}  // namespace

size_t FlowKeyHash::operator()(const sluice_flow_key& k) const noexcept {
  uint64_t w[5];
  static_assert(sizeof(sluice_flow_key) == sizeof(w));
  std::memcpy(w, &k, sizeof(w));
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (uint64_t x : w) {
    h = (h ^ x) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  return static_cast<size_t>(h);
}

bool FlowKeyEq::operator()(const sluice_flow_key& a, const sluice_flow_key& b) const noexcept {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

uint32_t Collector::Impl::circuitSlot(const std::string& id) {
  auto [it, inserted] = circuitSlots.try_emplace(id, static_cast<uint32_t>(circuits.size()));
  if (inserted) {
    circuits.push_back(std::make_unique<CircuitState>());
    Series& s = circuits.back()->series;
    s.kind = "circuit";
    s.name = id;
    s.releaseIdle = true;
    // With a history database a circuit's 48 h of minutes live there (memory budget, see
    // docs/telemetry.md); without one, in a ring of circuitHistoryMinutes.
    s.minuteBlocks = history != nullptr;
    s.minuteSlots = s.minuteBlocks ? 0 : std::min(options.circuitHistoryMinutes,
                                                  Series::kMinuteSlots);
  }
  return it->second;
}

const CircuitState Collector::Impl::kIdle{};

void Collector::Impl::materialize(const PlanView& v, std::span<const uint32_t> cs) {
  for (uint32_t c : cs) {
    if (c >= v.circuitSlot.size() || v.circuitSlot[c] != kNoSlot) {
      continue;
    }
    const std::string& id = v.plan->circuits[c].circuitId;
    const uint32_t slot = circuitSlot(id);
    v.circuitSlot[c] = slot;
    if (view && view.get() != &v) {
      // setPlan installed a newer view while this tick ran on `v`.
      if (int32_t o = view->findCircuit(id); o >= 0 && view->circuitSlot[o] == kNoSlot) {
        view->circuitSlot[static_cast<size_t>(o)] = slot;
      }
    }
  }
}

uint32_t Collector::Impl::nodeSlot(const std::string& name) {
  auto [it, inserted] = nodeSlots.try_emplace(name, static_cast<uint32_t>(nodes.size()));
  if (inserted) {
    nodes.push_back(std::make_unique<NodeState>());
    nodes.back()->series.kind = "node";
    nodes.back()->series.name = name;
    nodes.back()->series.allocateOnTraffic = true;
  }
  return it->second;
}

Series& Collector::Impl::seriesFor(const std::string& kind, const std::string& name) {
  if (kind == "circuit") {
    return circuits[circuitSlot(name)]->series;
  }
  if (kind == "node") {
    return nodes[nodeSlot(name)]->series;
  }
  return totals.series;
}

Result<void> Collector::Impl::loadHistory() {
  const int64_t since = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() -
                        int64_t{Series::kMinuteSlots} * 60;
  return history->load(since, [&](const HistoryRow& row) {
    if (row.kind == "circuit") {
      return;  // circuits' minutes are read from circuit_minutes when asked for
    }
    Series& s = seriesFor(row.kind, row.name);
    if (row.kind == "node" && !s.allocated() && row.downBps <= 0 && row.upBps <= 0 &&
        !row.rttMs) {
      return;  // a node's rings start with its first traffic (a missing point reads as none)
    }
    s.allocate();
    if (!s.minutes) {
      return;
    }
    Point p{encodeLog16(row.downBps), encodeLog16(row.upBps),
            row.rttMs ? encodeLog16(*row.rttMs * 1000.0) : uint16_t{0}};
    s.minutes->put(row.t, p);
  });
}

std::vector<HistoryRow> Collector::Impl::takePersistRows(int64_t intervalStart) {
  std::vector<HistoryRow> rows;
  auto take = [&](Series& s) {
    if (s.persist.empty()) {
      return;
    }
    Point avg = s.persist.average();
    const double down = s.persist.downBps / s.persist.n;
    const double up = s.persist.upBps / s.persist.n;
    s.persist = {};
    if ((s.kind == "circuit" || !s.allocated()) && down <= 0 && up <= 0 && avg.rttUs == 0) {
      return;  // idle circuits and nodes that never carried traffic are not stored; a missing
               // point reads as no traffic
    }
    HistoryRow row{s.kind, s.name, intervalStart, down, up, std::nullopt};
    if (avg.rttUs != 0) {
      row.rttMs = decodeLog16(avg.rttUs) / 1000.0;
    }
    rows.push_back(std::move(row));
  };
  take(totals.series);
  for (auto& n : nodes) {
    take(n->series);
  }
  for (auto& c : circuits) {
    take(c->series);
  }
  return rows;
}

Collector::Collector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Collector::~Collector() = default;

Result<std::unique_ptr<Collector>> Collector::create(Options options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->totals.series.kind = "total";
  if (impl->options.persistSeconds == 0) {
    impl->options.persistSeconds = 300;
  }
  if (!impl->options.historyDbPath.empty()) {
    auto h = History::open(impl->options.historyDbPath, impl->options.historyMaxBytes);
    if (!h) {
      return std::unexpected(h.error());
    }
    impl->history = std::move(*h);
    if (auto r = impl->loadHistory(); !r) {
      return std::unexpected(r.error());
    }
  }
  return std::unique_ptr<Collector>(new Collector(std::move(impl)));
}

void Collector::setPlan(std::shared_ptr<const model::Inputs> inputs,
                        std::shared_ptr<const plan::QueuePlan> plan) {
  // The indices are built outside the lock (100k circuits take a while); only slot assignment
  // and installation hold it.
  std::shared_ptr<PlanView> view = buildView(std::move(inputs), std::move(plan));
  std::unique_lock lock(impl_->mutex);
  assignSlots(*impl_, *view);
  view->generation = ++impl_->generation;
  impl_->view = std::move(view);
}

Result<void> Collector::flush() {
  if (!impl_->history) {
    return {};
  }
  std::vector<HistoryRow> rows;
  std::vector<MinuteBlockRow> blocks;
  {
    std::unique_lock lock(impl_->mutex);
    int64_t start = impl_->persistInterval >= 0 ? impl_->persistInterval : impl_->totals.t;
    rows = impl_->takePersistRows(start);
    for (auto& c : impl_->circuits) {
      std::unique_ptr<MinuteBlock> taken[2];
      taken[0] = c->series.flushBlock();
      taken[1] = c->series.takeBlock();
      for (auto& b : taken) {
        if (b) {
          impl_->pendingBlocks.emplace_back(c->series.name, std::move(b));
        }
      }
    }
    blocks = impl_->takeBlockRows();
  }
  if (auto r = impl_->history->append(rows); !r) {
    return r;
  }
  return impl_->history->appendMinuteBlocks(blocks);
}

std::vector<MinuteBlockRow> Collector::Impl::takeBlockRows(size_t max) {
  std::vector<MinuteBlockRow> rows;
  const size_t n = std::min(max, pendingBlocks.size());
  rows.reserve(n);
  // From the back: the rest keep their places.
  for (size_t i = pendingBlocks.size() - n; i < pendingBlocks.size(); ++i) {
    auto& [name, block] = pendingBlocks[i];
    MinuteBlockRow row;
    row.circuit = name;
    row.blob = block->blob(row.t);
    if (!row.blob.empty()) {
      rows.push_back(std::move(row));
    }
  }
  pendingBlocks.resize(pendingBlocks.size() - n);
  return rows;
}

SeriesMemory Collector::seriesMemory() const {
  std::shared_lock lock(impl_->mutex);
  SeriesMemory out;
  out.bytes = impl_->totals.series.heapBytes();
  for (const auto& n : impl_->nodes) {
    out.bytes += n->series.heapBytes();
  }
  for (const auto& c : impl_->circuits) {
    out.bytes += c->series.heapBytes();
    out.circuitsWithRings += c->series.allocated() ? 1 : 0;
    out.circuitBlocks += c->series.block ? 1 : 0;
  }
  out.circuits = impl_->circuits.size();
  out.stateBytes = impl_->circuits.size() * sizeof(CircuitState) +
                   impl_->nodes.size() * sizeof(NodeState) +
                   impl_->circuits.capacity() * sizeof(void*) +
                   impl_->nodes.capacity() * sizeof(void*);
  return out;
}

namespace {

// Statistics of the classes (and their leaves) that belong to circuits, from one interface's
// dump; `iface` is the interface's index in plan.interfaces.
void collectQueueStats(const PlanView& view, size_t iface, const tc::LiveTree& tree,
                       std::vector<std::pair<uint32_t, QueueStats>>& out) {
  std::unordered_map<uint32_t, size_t> leafAt;  // parent classid -> qdisc
  leafAt.reserve(tree.qdiscs.size());
  for (size_t q = 0; q < tree.qdiscs.size(); ++q) {
    leafAt.emplace(tree.qdiscs[q].parent, q);
  }
  for (const tc::LiveClass& cls : tree.classes) {
    const std::optional<uint32_t> key = view.findClass(uint64_t{iface} << 32 | cls.classid);
    if (!key) {
      continue;
    }
    auto leaf = leafAt.find(cls.classid);
    QueueStats qs;
    fillQueueStats(qs, cls, leaf == leafAt.end() ? nullptr : &tree.qdiscs[leaf->second]);
    out.emplace_back(*key, std::move(qs));
  }
}

}  // namespace

std::shared_ptr<const PlanView> Collector::Impl::currentView() const {
  std::shared_lock lock(mutex);
  return view;
}

Result<TickReport> Collector::tick(const Sources& sources,
                                   std::chrono::system_clock::time_point now) {
  Impl& m = *impl_;
  std::shared_ptr<const PlanView> view = m.currentView();
  if (!view) {
    return makeError(EINVAL, "telemetry tick without a plan");
  }
  TickReport report;
  const uint64_t tickNo = m.tickNo + 1;

  // 1. Read the data plane.
  auto t0 = threadCpuMs();
  ReadState rs;
  rs.monoNowNs = monotonicNs();
  if (sources.hostsFd >= 0) {
    if (auto r = readHosts(sources.hostsFd, m.hostBuf); r) {
      rs.hostsOk = true;
    } else {
      report.warnings.push_back(r.error().message());
    }
  }
  if (sources.flowsFd >= 0) {
    if (auto r = readFlowTable(sources.flowsFd, m.flowKeyBuf, m.flowBuf); r) {
      rs.flowsOk = true;
    } else {
      report.warnings.push_back(r.error().message());
    }
  }
  if (sources.statsFd >= 0) {
    if (auto r = dataplane::readStats(sources.statsFd); r) {
      rs.stats = *r;
    } else {
      report.warnings.push_back(r.error().message());
    }
  }
  if (auto r = drainRtt(sources, 0); !r) {
    report.warnings.push_back(r.error().message());
  }
  report.readMs = msSince(t0);

  // 2. tc statistics (kernel dumps) when due.
  auto t1 = threadCpuMs();
  const auto& plan = *view->plan;
  const uint64_t sinceTc = tickNo - m.lastTcTick;
  if (sources.tcSocket != nullptr && m.options.tcStatsEveryTicks > 0 &&
      (m.lastTcTick == 0 ||
       (sinceTc >= m.options.tcStatsEveryTicks &&
        m.lastTcCpuMs <= m.options.tcStatsMaxCpuShare * 1000.0 * static_cast<double>(sinceTc)))) {
    m.lastTcTick = tickNo;
    for (size_t i = 0; i < plan.interfaces.size(); ++i) {
      auto tree = tc::readLiveTree(*sources.tcSocket, plan.interfaces[i].ifname);
      if (!tree) {
        report.warnings.push_back(tree.error().message());
        continue;
      }
      report.tcObjects += tree->classes.size() + tree->qdiscs.size();
      collectQueueStats(*view, i, *tree, rs.queueStats);
    }
  }
  report.tcMs = msSince(t1);
  if (m.lastTcTick == tickNo) {
    m.lastTcCpuMs = report.tcMs;
  }
  m.process(*view, rs, now, report);
  return report;
}

Result<TickReport> Collector::tick(Readings readings, std::chrono::system_clock::time_point now) {
  Impl& m = *impl_;
  std::shared_ptr<const PlanView> view = m.currentView();
  if (!view) {
    return makeError(EINVAL, "telemetry tick without a plan");
  }
  TickReport report;
  ReadState rs;
  rs.monoNowNs = readings.monotonicNs ? readings.monotonicNs : monotonicNs();
  rs.hostsOk = true;
  rs.flowsOk = true;
  m.hostBuf = std::move(readings.hosts);
  m.flowKeyBuf = std::move(readings.flowKeys);
  m.flowBuf = std::move(readings.flows);
  m.flowKeyBuf.resize(m.flowBuf.size());
  for (const sluice_rtt_event& ev : readings.rtt) {
    if (m.rttPending.size() < kMaxPendingRtt) {
      m.rttPending.push_back(ev);
    }
  }
  rs.stats = readings.stats;
  for (size_t i = 0; i < readings.tcTrees.size(); ++i) {
    collectQueueStats(*view, i, readings.tcTrees[i], rs.queueStats);
  }
  m.process(*view, rs, now, report);
  return report;
}

void Collector::Impl::process(const PlanView& viewRef, ReadState& rs,
                              std::chrono::system_clock::time_point now, TickReport& report) {
  Impl& m = *this;
  const PlanView* view = &viewRef;
  const auto& plan = *view->plan;
  const bool first = m.tickNo == 0;
  const uint64_t tickNo = ++m.tickNo;
  const double dt = first ? 0.0 : std::chrono::duration<double>(now - m.lastTick).count();
  m.lastTick = now;
  const int64_t nowUnix =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const bool hostsOk = rs.hostsOk;
  const bool flowsOk = rs.flowsOk;
  const uint64_t monoNow = rs.monoNowNs;
  auto& stats = rs.stats;
  auto& queueStats = rs.queueStats;
  report.hosts = hostsOk ? m.hostBuf.size() : 0;
  report.flows = flowsOk ? m.flowBuf.size() : 0;
  report.rttSamples = m.rttPending.size();

  // 3. Rollups (tick-thread state only; no lock).
  auto t2 = threadCpuMs();
  const size_t circuitCount = plan.circuits.size();
  const size_t nodeCount = plan.nodes.size();
  if (!m.scratch) {
    m.scratch = std::make_shared<Scratch>();
  }
  Scratch& sc = *m.scratch;
  std::vector<std::pair<uint32_t, Acc>>& circuitAcc = sc.circuitAcc;
  std::vector<uint32_t>& accAt = sc.accAt;
  circuitAcc.clear();
  accAt.resize(circuitCount, kNoSlot);  // every entry kNoSlot (reset at the end of each tick)
  auto accFor = [&](size_t c) -> Acc& {
    uint32_t& at = accAt[c];
    if (at == kNoSlot) {
      at = static_cast<uint32_t>(circuitAcc.size());
      circuitAcc.emplace_back(static_cast<uint32_t>(c), Acc{});
    }
    return circuitAcc[at].second;
  };
  Acc shaped, unknownAcc;
  std::array<std::array<uint64_t, 2>, SLUICE_PROTO_COUNT> protoDelta{};
  std::vector<UnknownLive> unknown;
  const bool countDeltas = !first;
  if (hostsOk) {
    m.hosts.reserve(m.hostBuf.size());
    for (const HostSample& h : m.hostBuf) {
      auto [it, inserted] = m.hosts.try_emplace(h.addr);
      HostState& s = it->second;
      if (inserted || s.generation != view->generation) {
        s.circuit = view->addresses.find(h.addr.hi, h.addr.lo);
        s.generation = view->generation;
      }
      s.seenTick = tickNo;
      Acc a;
      for (int d = 0; d < 2; ++d) {
        a.bytes[d] = delta(h.bytes[d], s.bytes[d]);
        a.packets[d] = delta(h.packets[d], s.packets[d]);
        for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
          protoDelta[p][d] += countDeltas ? delta(h.protoPackets[p][d], s.proto[p][d]) : 0;
        }
      }
      a.tcpPackets = delta(h.protoPackets[SLUICE_PROTO_TCP][0], s.proto[SLUICE_PROTO_TCP][0]) +
                     delta(h.protoPackets[SLUICE_PROTO_TCP][1], s.proto[SLUICE_PROTO_TCP][1]);
      s.bytes = h.bytes;
      s.packets = h.packets;
      s.proto = h.protoPackets;
      if (!countDeltas) {
        a = Acc{};
      }
      if (s.circuit >= 0 && static_cast<size_t>(s.circuit) < circuitCount) {
        if (!a.zero()) {
          accFor(static_cast<size_t>(s.circuit)).add(a);
        }
        shaped.add(a);
      } else {
        unknownAcc.add(a);
        UnknownLive u;
        u.addr = h.addr;
        u.bytes = h.bytes;
        for (int d = 0; d < 2; ++d) {
          u.bps[d] = dt > 0 ? 8.0 * static_cast<double>(a.bytes[d]) / dt : 0;
        }
        u.lastSeenUnix =
            nowUnix - static_cast<int64_t>((monoNow > h.lastSeenNs ? monoNow - h.lastSeenNs : 0) /
                                           1'000'000'000ull);
        unknown.push_back(u);
      }
    }
    if (tickNo % kSweepTicks == 0 || m.hosts.size() > 2 * m.hostBuf.size() + 1024) {
      std::erase_if(m.hosts, [&](const auto& kv) { return kv.second.seenTick != tickNo; });
    }
  }
  const size_t unknownCount = unknown.size();
  if (unknown.size() > m.options.unknownLimit) {
    std::nth_element(unknown.begin(), unknown.begin() + m.options.unknownLimit, unknown.end(),
                     [](const UnknownLive& a, const UnknownLive& b) {
                       return a.bytes[0] + a.bytes[1] > b.bytes[0] + b.bytes[1];
                     });
    unknown.resize(m.options.unknownLimit);
  }
  std::sort(unknown.begin(), unknown.end(), [](const UnknownLive& a, const UnknownLive& b) {
    return a.bytes[0] + a.bytes[1] > b.bytes[0] + b.bytes[1];
  });

  // RTT samples of this tick, by circuit (by slot once circuits have their states, below);
  // flows get their latest sample.
  std::vector<std::pair<uint32_t, float>>& rttByCircuit = sc.rttByCircuit;
  rttByCircuit.clear();
  for (const sluice_rtt_event& ev : m.rttPending) {
    Addr local = Addr::fromBytes(ev.key.local);
    auto h = m.hosts.find(local);
    int32_t c = h != m.hosts.end() && h->second.generation == view->generation
                    ? h->second.circuit
                    : view->addresses.find(local.hi, local.lo);
    if (auto f = m.flowStates.find(ev.key); f != m.flowStates.end()) {
      f->second.rttMs = static_cast<double>(ev.rtt_ns) / 1e6;
    }
    if (c >= 0 && static_cast<size_t>(c) < circuitCount) {
      rttByCircuit.emplace_back(static_cast<uint32_t>(c),
                                static_cast<float>(static_cast<double>(ev.rtt_ns) / 1e3));
    }
  }
  m.rttPending.clear();

  // Flows: retransmits per circuit and the active flows.
  std::vector<ActiveFlow>& activeFlows = sc.activeFlows;
  activeFlows.clear();
  const bool sweep = tickNo % kSweepTicks == 0 || m.flowStates.size() > 2 * m.flowBuf.size() + 1024;
  if (flowsOk) {
    const uint64_t activeNs = 10'000'000'000ull;
    activeFlows.reserve(m.flowBuf.size());
    m.flowStates.reserve(m.flowBuf.size());
    for (size_t i = 0; i < m.flowBuf.size(); ++i) {
      const sluice_flow_key& key = m.flowKeyBuf[i];
      const sluice_flow& f = m.flowBuf[i];
      FlowState& s = m.flowStates[key];
      s.seenTick = tickNo;
      if (s.generation != view->generation) {
        Addr local = Addr::fromBytes(key.local);
        auto h = m.hosts.find(local);
        s.circuit = h != m.hosts.end() && h->second.generation == view->generation
                        ? h->second.circuit
                        : view->addresses.find(local.hi, local.lo);
        s.generation = view->generation;
      }
      const int32_t c = s.circuit;
      uint64_t retrans = 0;
      double bps = 0;
      for (int d = 0; d < 2; ++d) {
        const uint64_t db = delta(f.bytes[d], s.bytes[d]);
        retrans += f.retransmits[d] >= s.retransmits[d] ? f.retransmits[d] - s.retransmits[d]
                                                        : f.retransmits[d];
        s.bps[d] = countDeltas && dt > 0 ? 8.0 * static_cast<double>(db) / dt : 0;
        bps += s.bps[d];
        s.bytes[d] = f.bytes[d];
        s.retransmits[d] = f.retransmits[d];
      }
      if (c < 0 || static_cast<size_t>(c) >= circuitCount) {
        continue;
      }
      if (countDeltas && retrans > 0) {
        accFor(static_cast<size_t>(c)).retransmits += retrans;
        shaped.retransmits += retrans;
      }
      if (f.last_ns + activeNs >= monoNow) {
        activeFlows.push_back(
            ActiveFlow{static_cast<uint32_t>(c), static_cast<uint32_t>(i), bps, &s});
      }
    }
    if (sweep) {
      std::erase_if(m.flowStates, [&](const auto& kv) { return kv.second.seenTick != tickNo; });
    }
  }
  // The busiest flows of each circuit first, at most flowsPerCircuit each: grouped by circuit
  // with a counting sort (linear), then only each group's top flowsPerCircuit ordered.
  std::vector<uint32_t>& flowStart = sc.flowStart;
  flowStart.assign(circuitCount + 1, 0);
  for (const ActiveFlow& f : activeFlows) {
    ++flowStart[f.circuit + 1];
  }
  for (size_t c = 0; c < circuitCount; ++c) {
    flowStart[c + 1] += flowStart[c];
  }
  std::vector<ActiveFlow>& byCircuit = sc.flowsByCircuit;
  byCircuit.resize(activeFlows.size());
  {
    std::vector<uint32_t>& fill = sc.flowStart;  // advanced to each group's end, then restored
    for (const ActiveFlow& f : activeFlows) {
      byCircuit[fill[f.circuit]++] = f;
    }
    for (size_t c = circuitCount; c > 0; --c) {
      fill[c] = fill[c - 1];
    }
    fill[0] = 0;
  }
  std::vector<std::pair<uint32_t, FlowLive>>& keptFlows = sc.keptFlows;
  keptFlows.clear();
  for (size_t c = 0; c < circuitCount; ++c) {
    const auto begin = byCircuit.begin() + flowStart[c];
    const auto end = byCircuit.begin() + flowStart[c + 1];
    if (begin == end) {
      continue;
    }
    const auto keep = std::min<ptrdiff_t>(end - begin, m.options.flowsPerCircuit);
    std::partial_sort(begin, begin + keep, end, [](const ActiveFlow& a, const ActiveFlow& b) {
      return a.bps > b.bps;
    });
    for (auto it = begin; it != begin + keep; ++it) {
      const sluice_flow& f = m.flowBuf[it->index];
      FlowLive live;
      live.key = m.flowKeyBuf[it->index];
      live.bps = it->state->bps;
      live.rttMs = it->state->rttMs;
      live.retransmits = f.retransmits[0] + f.retransmits[1];
      keptFlows.emplace_back(static_cast<uint32_t>(c), live);
    }
  }

  // Circuits that need a CircuitState now: a delta, an RTT sample, a flow or queue statistics
  // (the others read as idle without one).
  std::vector<uint32_t>& needState = sc.needState;
  needState.clear();
  auto need = [&](uint32_t c) {
    if (c < circuitCount && view->circuitSlot[c] == kNoSlot) {
      needState.push_back(c);
    }
  };
  for (const auto& [c, a] : circuitAcc) {
    need(c);
  }
  for (const auto& [c, rtt] : rttByCircuit) {
    need(c);
  }
  for (const auto& [c, f] : keptFlows) {
    need(c);
  }
  for (const auto& [key, qs] : queueStats) {
    need(key >> 1);
  }
  if (!needState.empty()) {
    std::sort(needState.begin(), needState.end());
    needState.erase(std::unique(needState.begin(), needState.end()), needState.end());
    std::unique_lock lock(m.mutex);
    m.materialize(*view, needState);
  }
  std::vector<RttSample> rttNow;
  rttNow.reserve(rttByCircuit.size());
  for (const auto& [c, rttUs] : rttByCircuit) {
    rttNow.push_back(RttSample{view->circuitSlot[c], rttUs});
  }

  // Node sums: circuits into their parents (in circuit order), then children into parents.
  std::vector<Acc>& nodeAcc = sc.nodeAcc;
  nodeAcc.assign(nodeCount, Acc{});
  for (size_t c = 0; c < circuitCount; ++c) {
    if (accAt[c] == kNoSlot) {
      continue;
    }
    int32_t p = plan.circuits[c].parentPlacement;
    if (p >= 0 && static_cast<size_t>(p) < nodeCount) {
      nodeAcc[static_cast<size_t>(p)].add(circuitAcc[accAt[c]].second);
    }
  }
  for (int32_t n : view->nodeOrder) {
    int32_t p = view->nodeParent[static_cast<size_t>(n)];
    if (p >= 0) {
      nodeAcc[static_cast<size_t>(p)].add(nodeAcc[static_cast<size_t>(n)]);
    }
  }

  // RTT window: percentiles per circuit slot, per node and overall.
  m.rttWindow.push_back(std::move(rttNow));
  while (m.rttWindow.size() > std::max<uint32_t>(m.options.rttWindowSeconds, 1)) {
    m.rttWindow.pop_front();
  }
  size_t slotCount;
  {
    std::shared_lock lock(m.mutex);
    slotCount = m.circuits.size();
  }
  std::vector<uint32_t> slotStart(slotCount + 1, 0);
  size_t windowSamples = 0;
  for (const auto& tickSamples : m.rttWindow) {
    for (const RttSample& s : tickSamples) {
      if (s.slot < slotCount) {
        ++slotStart[s.slot + 1];
        ++windowSamples;
      }
    }
  }
  for (size_t i = 0; i < slotCount; ++i) {
    slotStart[i + 1] += slotStart[i];
  }
  std::vector<double> bySlot(windowSamples);
  {
    std::vector<uint32_t> fill(slotStart.begin(), slotStart.end() - 1);
    for (const auto& tickSamples : m.rttWindow) {
      for (const RttSample& s : tickSamples) {
        if (s.slot < slotCount) {
          bySlot[fill[s.slot]++] = s.rttUs / 1000.0;
        }
      }
    }
  }
  std::array<uint64_t, kRttBucketsMs.size()> windowCounts{};
  for (double ms : bySlot) {
    ++windowCounts[rttBucket(ms)];
  }
  std::vector<std::pair<double, double>>& slotRtt = sc.slotRtt;
  slotRtt.assign(slotCount, {kNoValue, kNoValue});
  std::vector<std::vector<double>> nodeSamples(nodeCount);
  for (size_t c = 0; c < circuitCount; ++c) {
    const uint32_t slot = view->circuitSlot[c];
    if (slot >= slotCount || slotStart[slot] == slotStart[slot + 1]) {
      continue;
    }
    std::span<double> samples(bySlot.data() + slotStart[slot], slotStart[slot + 1] - slotStart[slot]);
    for (int32_t n = plan.circuits[c].parentPlacement; n >= 0 && static_cast<size_t>(n) < nodeCount;
         n = view->nodeParent[static_cast<size_t>(n)]) {
      auto& v = nodeSamples[static_cast<size_t>(n)];
      v.insert(v.end(), samples.begin(), samples.end());
    }
    slotRtt[slot] = {*percentile(samples, 50), *percentile(samples, 90)};
  }
  std::vector<double> allSamples(bySlot);
  const double totalP50 = percentile(allSamples, 50).value_or(kNoValue);
  const double totalP90 = percentile(allSamples, 90).value_or(kNoValue);

  // Queues: circuits' rates per shaping queue, and the load of the queue's CPU.
  std::vector<QueueLive> queues(plan.queueCount);
  CpuTimes cpuNow;
  if (auto r = readCpuTimes(m.options.procStatPath); r) {
    cpuNow = std::move(*r);
  }
  for (uint32_t q = 0; q < plan.queueCount; ++q) {
    queues[q].queue = q;
    queues[q].cpu = q < plan.queueCpu.size() ? plan.queueCpu[q] : q;
    queues[q].cpuPct = cpuBusyPct(m.cpuPrev, cpuNow, queues[q].cpu).value_or(0);
  }
  m.cpuPrev = std::move(cpuNow);
  for (size_t c = 0; c < circuitCount; ++c) {
    if (accAt[c] == kNoSlot) {
      continue;
    }
    uint16_t q = plan.circuits[c].queue;
    if (q < queues.size() && dt > 0) {
      for (int d = 0; d < 2; ++d) {
        queues[q].bps[d] += 8.0 * static_cast<double>(circuitAcc[accAt[c]].second.bytes[d]) / dt;
      }
    }
  }

  // Ticks per minute: the denominator of a lazy circuit's minute average.
  if (!first) {
    if (nowUnix / 60 != m.minuteNo) {
      m.prevMinuteTicks = m.minuteTicks;
      m.minuteTicks = 0;
      m.minuteNo = nowUnix / 60;
    }
    ++m.minuteTicks;
  }

  // 4. Publish (exclusive lock): live values, counters, rings.
  std::vector<HistoryRow> persistRows;
  std::vector<MinuteBlockRow> blockRows;
  {
    std::unique_lock lock(m.mutex);
    for (uint32_t slot : m.flowSlotsLastTick) {
      if (slot < m.circuits.size()) {
        m.circuits[slot]->flows.clear();
      }
    }
    m.flowSlotsLastTick.clear();
    for (size_t i = 0; i < keptFlows.size();) {
      const uint32_t c = keptFlows[i].first;
      CircuitState& cs = *m.circuits[view->circuitSlot[c]];
      m.flowSlotsLastTick.push_back(view->circuitSlot[c]);
      for (; i < keptFlows.size() && keptFlows[i].first == c; ++i) {
        cs.flows.push_back(keptFlows[i].second);
      }
    }
    const Acc idle;
    for (size_t c = 0; c < circuitCount; ++c) {
      const uint32_t slot = view->circuitSlot[c];
      if (slot == kNoSlot) {
        continue;  // no state: reads as idle (zeros), as applyRollup would leave it
      }
      CircuitState& cs = *m.circuits[slot];
      const Acc& a = accAt[c] == kNoSlot ? idle : circuitAcc[accAt[c]].second;
      applyRollup(cs.live, a.bytes, a.packets, a.retransmits, a.tcpPackets, dt, first);
      cs.live.rttP50Ms = slot < slotRtt.size() ? slotRtt[slot].first : kNoValue;
      cs.live.rttP90Ms = slot < slotRtt.size() ? slotRtt[slot].second : kNoValue;
      // Idle circuits that hold nothing are skipped: they read as zeros (Series).
      if (!first && (cs.series.active() || a.bytes[0] + a.bytes[1] > 0 ||
                     !std::isnan(cs.live.rttP50Ms))) {
        if (auto done = cs.series.record(nowUnix, cs.live.bps[0], cs.live.bps[1],
                                         usToOpt(cs.live.rttP50Ms), m.prevMinuteTicks)) {
          m.pendingBlocks.emplace_back(cs.series.name, std::move(done));
        }
      }
    }
    for (auto& [key, qs] : queueStats) {
      m.circuits[view->circuitSlot[key >> 1]]->queue[key & 1] = std::move(qs);
    }
    for (size_t n = 0; n < nodeCount; ++n) {
      NodeState& ns = *m.nodes[view->nodeSlot[n]];
      const Acc& a = nodeAcc[n];
      applyRollup(ns.live, a.bytes, a.packets, a.retransmits, a.tcpPackets, dt, first);
      auto& samples = nodeSamples[n];
      ns.live.rttP50Ms = percentile(samples, 50).value_or(kNoValue);
      ns.live.rttP90Ms = percentile(samples, 90).value_or(kNoValue);
      if (!first) {
        ns.series.record(nowUnix, ns.live.bps[0], ns.live.bps[1], usToOpt(ns.live.rttP50Ms));
      }
    }
    TotalsState& t = m.totals;
    Acc all = shaped;
    all.add(unknownAcc);
    all.retransmits = shaped.retransmits;
    applyRollup(t.all, all.bytes, all.packets, all.retransmits, all.tcpPackets, dt, first);
    t.all.rttP50Ms = totalP50;
    t.all.rttP90Ms = totalP90;
    for (int d = 0; d < 2; ++d) {
      t.shapedBps[d] = dt > 0 ? 8.0 * static_cast<double>(shaped.bytes[d]) / dt : 0;
      t.unknownBps[d] = dt > 0 ? 8.0 * static_cast<double>(unknownAcc.bytes[d]) / dt : 0;
      t.unknownBytesTotal[d] += unknownAcc.bytes[d];
      for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
        t.protoPps[p][d] = dt > 0 ? static_cast<double>(protoDelta[p][d]) / dt : 0;
        t.protoPacketsTotal[p][d] += protoDelta[p][d];
      }
    }
    t.rttWindowCounts = windowCounts;
    for (const RttSample& s : m.rttWindow.back()) {
      ++t.rttCumulative[rttBucket(s.rttUs / 1000.0)];
      t.rttSumSeconds += s.rttUs / 1e6;
      ++t.rttCount;
    }
    if (stats) {
      t.dataplaneStats = *stats;
      t.hasDataplaneStats = true;
    }
    if (!first) {
      t.series.record(nowUnix, t.all.bps[0], t.all.bps[1], usToOpt(t.all.rttP50Ms));
    }
    t.t = nowUnix;
    m.queues = std::move(queues);
    for (const auto& [c, a] : circuitAcc) {
      accAt[c] = kNoSlot;
    }
    m.unknown = std::move(unknown);
    (void)unknownCount;

    // A new hour: the circuits' finished hour blocks go to SQLite (those that closed a minute
    // of the new hour handed theirs back above; the rest went idle during the last hour).
    const int64_t hour = nowUnix - nowUnix % 3600;
    if (m.history && hour != m.blockHour) {
      if (m.blockHour >= 0) {
        for (auto& c : m.circuits) {
          Series& s = c->series;
          if (s.block && s.block->hourStart < hour && (s.minute.empty() || s.minuteStart >= hour)) {
            m.pendingBlocks.emplace_back(s.name, s.takeBlock());
          }
        }
      }
      m.blockHour = hour;
    }
    if (!m.pendingBlocks.empty()) {
      // Once an hour; spread over ticks (~10 µs of SQLite per block) so that a tick at 100k
      // busy circuits does not take a second longer.
      blockRows = m.takeBlockRows(kBlocksPerTick);
    }

    const int64_t interval = nowUnix - nowUnix % m.options.persistSeconds;
    if (m.persistInterval >= 0 && interval != m.persistInterval && m.history) {
      persistRows = m.takePersistRows(m.persistInterval);
    }
    m.persistInterval = interval;
    report.rollupMs = msSince(t2);
    t.lastTick = report;
  }
  if (!persistRows.empty() || !blockRows.empty()) {
    auto t3 = threadCpuMs();
    if (!persistRows.empty()) {
      if (auto r = m.history->append(persistRows); !r) {
        report.warnings.push_back(r.error().message());
      }
    }
    if (!blockRows.empty()) {
      if (auto r = m.history->appendMinuteBlocks(blockRows); !r) {
        report.warnings.push_back(r.error().message());
      }
    }
    report.persistMs = msSince(t3);
  }
}

Result<size_t> Collector::drainRtt(const Sources& sources, int timeoutMs) {
  Impl& m = *impl_;
  if (sources.rttRingFd < 0) {
    return size_t{0};
  }
  if (!m.rtt || m.rttFd != sources.rttRingFd) {
    m.rtt.reset();
    auto c = dataplane::RttConsumer::create(sources.rttRingFd, [&m](const sluice_rtt_event& ev) {
      if (m.rttPending.size() < kMaxPendingRtt) {
        m.rttPending.push_back(ev);
      }
    });
    if (!c) {
      return std::unexpected(c.error());
    }
    m.rtt = std::move(*c);
    m.rttFd = sources.rttRingFd;
  }
  const size_t before = m.rttPending.size();
  auto r = timeoutMs > 0 ? m.rtt->poll(timeoutMs) : m.rtt->consume();
  if (!r) {
    return std::unexpected(r.error());
  }
  return m.rttPending.size() - before;
}

}  // namespace sluice::telemetry
