// The rollup stages of a telemetry tick (tick-thread state only; no lock but where a circuit
// gets its state): hosts into circuits, RTT samples, flows, node sums, RTT percentiles over the
// window, and the shaping queues' rates and CPU load. Publish.cpp runs them in order.

#include <algorithm>
#include <mutex>

#include "telemetry/TickWork.h"

namespace sluice::telemetry {

namespace {

/// Delta of a cumulative counter; a counter that went backwards was re-created (LRU eviction).
uint64_t delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

/// Flows with a packet this recently are active (listed under their circuit).
constexpr uint64_t kActiveFlowNs = 10'000'000'000ull;

/// The circuit of local address `local`: the host table's answer when it was looked up under
/// this plan, else the address index's.
int32_t circuitOf(const Collector::Impl& m, const PlanView& view, const Addr& local) {
  auto h = m.hosts.find(local);
  return h != m.hosts.end() && h->second.generation == view.generation
             ? h->second.circuit
             : view.addresses.find(local.hi, local.lo);
}

bool busierHost(const UnknownLive& a, const UnknownLive& b) {
  return a.bytes[0] + a.bytes[1] > b.bytes[0] + b.bytes[1];
}

}  // namespace

void Collector::Impl::rollHosts(Tick& t) {
  const bool countDeltas = !t.first;
  hosts.reserve(hostBuf.size());
  for (const HostSample& h : hostBuf) {
    auto [it, inserted] = hosts.try_emplace(h.addr);
    HostState& s = it->second;
    if (inserted || s.generation != t.view.generation) {
      s.circuit = t.view.addresses.find(h.addr.hi, h.addr.lo);
      s.generation = t.view.generation;
    }
    s.seenTick = t.number;
    Acc a;
    for (int d = 0; d < 2; ++d) {
      a.bytes[d] = delta(h.bytes[d], s.bytes[d]);
      a.packets[d] = delta(h.packets[d], s.packets[d]);
      for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
        t.protoDelta[p][d] += countDeltas ? delta(h.protoPackets[p][d], s.proto[p][d]) : 0;
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
    if (t.isCircuit(s.circuit)) {
      if (!a.zero()) {
        t.accFor(static_cast<size_t>(s.circuit)).add(a);
      }
      t.shaped.add(a);
      continue;
    }
    t.unknownTraffic.add(a);
    UnknownLive u;
    u.addr = h.addr;
    u.bytes = h.bytes;
    for (int d = 0; d < 2; ++d) {
      u.bps[d] = t.dtSeconds > 0 ? 8.0 * static_cast<double>(a.bytes[d]) / t.dtSeconds : 0;
    }
    const uint64_t idleNs = t.monoNowNs > h.lastSeenNs ? t.monoNowNs - h.lastSeenNs : 0;
    u.lastSeenUnix = t.nowUnix - static_cast<int64_t>(idleNs / 1'000'000'000ull);
    t.unknownHosts.push_back(u);
  }
  if (t.number % kSweepTicks == 0 || hosts.size() > 2 * hostBuf.size() + 1024) {
    std::erase_if(hosts, [&](const auto& kv) { return kv.second.seenTick != t.number; });
  }
}

void Collector::Impl::keepBusiestUnknown(Tick& t) const {
  std::vector<UnknownLive>& unknown = t.unknownHosts;
  if (unknown.size() > options.unknownLimit) {
    std::nth_element(unknown.begin(), unknown.begin() + options.unknownLimit, unknown.end(),
                     busierHost);
    unknown.resize(options.unknownLimit);
  }
  std::sort(unknown.begin(), unknown.end(), busierHost);
}

void Collector::Impl::rollRtt(Tick& t) {
  std::vector<std::pair<uint32_t, float>>& rttByCircuit = t.sc.rttByCircuit;
  rttByCircuit.clear();
  for (const sluice_rtt_event& ev : rttPending) {
    const int32_t c = circuitOf(*this, t.view, Addr::fromBytes(ev.key.local));
    if (auto f = flowStates.find(ev.key); f != flowStates.end()) {
      f->second.rttMs = static_cast<double>(ev.rtt_ns) / 1e6;
    }
    if (t.isCircuit(c)) {
      rttByCircuit.emplace_back(static_cast<uint32_t>(c),
                                static_cast<float>(static_cast<double>(ev.rtt_ns) / 1e3));
    }
  }
  rttPending.clear();
}

void Collector::Impl::rollFlows(Tick& t) {
  const bool countDeltas = !t.first;
  const bool sweep = t.number % kSweepTicks == 0 || flowStates.size() > 2 * flowBuf.size() + 1024;
  std::vector<ActiveFlow>& activeFlows = t.sc.activeFlows;
  activeFlows.reserve(flowBuf.size());
  flowStates.reserve(flowBuf.size());
  for (size_t i = 0; i < flowBuf.size(); ++i) {
    const sluice_flow_key& key = flowKeyBuf[i];
    const sluice_flow& f = flowBuf[i];
    FlowState& s = flowStates[key];
    s.seenTick = t.number;
    if (s.generation != t.view.generation) {
      s.circuit = circuitOf(*this, t.view, Addr::fromBytes(key.local));
      s.generation = t.view.generation;
    }
    const int32_t c = s.circuit;
    uint64_t retrans = 0;
    double bps = 0;
    for (int d = 0; d < 2; ++d) {
      const uint64_t db = delta(f.bytes[d], s.bytes[d]);
      retrans += f.retransmits[d] >= s.retransmits[d] ? f.retransmits[d] - s.retransmits[d]
                                                      : f.retransmits[d];
      s.bps[d] = countDeltas && t.dtSeconds > 0 ? 8.0 * static_cast<double>(db) / t.dtSeconds : 0;
      bps += s.bps[d];
      s.bytes[d] = f.bytes[d];
      s.retransmits[d] = f.retransmits[d];
    }
    if (!t.isCircuit(c)) {
      continue;
    }
    if (countDeltas && retrans > 0) {
      t.accFor(static_cast<size_t>(c)).retransmits += retrans;
      t.shaped.retransmits += retrans;
    }
    if (f.last_ns + kActiveFlowNs >= t.monoNowNs) {
      activeFlows.push_back(
          ActiveFlow{static_cast<uint32_t>(c), static_cast<uint32_t>(i), bps, &s});
    }
  }
  if (sweep) {
    std::erase_if(flowStates, [&](const auto& kv) { return kv.second.seenTick != t.number; });
  }
}

void Collector::Impl::keepBusiestFlows(Tick& t) const {
  // Grouped by circuit with a counting sort (linear), then only each group's top
  // flowsPerCircuit ordered.
  Scratch& sc = t.sc;
  std::vector<uint32_t>& flowStart = sc.flowStart;
  flowStart.assign(t.circuitCount + 1, 0);
  for (const ActiveFlow& f : sc.activeFlows) {
    ++flowStart[f.circuit + 1];
  }
  for (size_t c = 0; c < t.circuitCount; ++c) {
    flowStart[c + 1] += flowStart[c];
  }
  std::vector<ActiveFlow>& byCircuit = sc.flowsByCircuit;
  byCircuit.resize(sc.activeFlows.size());
  for (const ActiveFlow& f : sc.activeFlows) {
    byCircuit[flowStart[f.circuit]++] = f;  // advanced to each group's end, then restored
  }
  for (size_t c = t.circuitCount; c > 0; --c) {
    flowStart[c] = flowStart[c - 1];
  }
  flowStart[0] = 0;
  sc.keptFlows.clear();
  for (size_t c = 0; c < t.circuitCount; ++c) {
    const auto begin = byCircuit.begin() + flowStart[c];
    const auto end = byCircuit.begin() + flowStart[c + 1];
    if (begin == end) {
      continue;
    }
    const auto keep = std::min<ptrdiff_t>(end - begin, options.flowsPerCircuit);
    std::partial_sort(begin, begin + keep, end, [](const ActiveFlow& a, const ActiveFlow& b) {
      return a.bps > b.bps;
    });
    for (auto it = begin; it != begin + keep; ++it) {
      const sluice_flow& f = flowBuf[it->index];
      FlowLive live;
      live.key = flowKeyBuf[it->index];
      live.bps = it->state->bps;
      live.rttMs = it->state->rttMs;
      live.retransmits = f.retransmits[0] + f.retransmits[1];
      sc.keptFlows.emplace_back(static_cast<uint32_t>(c), live);
    }
  }
}

void Collector::Impl::materializeActive(Tick& t, const ReadState& rs) {
  // A delta, an RTT sample, a flow or queue statistics (the others read as idle without one).
  std::vector<uint32_t>& needState = t.sc.needState;
  needState.clear();
  auto need = [&](uint32_t c) {
    if (c < t.circuitCount && t.view.circuitSlot[c] == kNoSlot) {
      needState.push_back(c);
    }
  };
  for (const auto& [c, a] : t.sc.circuitAcc) {
    need(c);
  }
  for (const auto& [c, rtt] : t.sc.rttByCircuit) {
    need(c);
  }
  for (const auto& [c, f] : t.sc.keptFlows) {
    need(c);
  }
  for (const auto& [key, qs] : rs.queueStats) {
    need(key >> 1);
  }
  if (needState.empty()) {
    return;
  }
  std::sort(needState.begin(), needState.end());
  needState.erase(std::unique(needState.begin(), needState.end()), needState.end());
  std::unique_lock lock(mutex);
  materialize(t.view, needState);
}

void Collector::Impl::sumNodes(Tick& t) const {
  // Circuits into their parents (in circuit order), then children into parents.
  std::vector<Acc>& nodeAcc = t.sc.nodeAcc;
  nodeAcc.assign(t.nodeCount, Acc{});
  for (size_t c = 0; c < t.circuitCount; ++c) {
    const Acc* a = t.accOf(c);
    const int32_t p = t.plan.circuits[c].parentPlacement;
    if (a != nullptr && p >= 0 && static_cast<size_t>(p) < t.nodeCount) {
      nodeAcc[static_cast<size_t>(p)].add(*a);
    }
  }
  for (int32_t n : t.view.nodeOrder) {
    const int32_t p = t.view.nodeParent[static_cast<size_t>(n)];
    if (p >= 0) {
      nodeAcc[static_cast<size_t>(p)].add(nodeAcc[static_cast<size_t>(n)]);
    }
  }
}

void Collector::Impl::rollRttWindow(Tick& t) {
  // This tick's samples by CircuitState slot join the window.
  std::vector<RttSample> rttNow;
  rttNow.reserve(t.sc.rttByCircuit.size());
  for (const auto& [c, rttUs] : t.sc.rttByCircuit) {
    rttNow.push_back(RttSample{t.view.circuitSlot[c], rttUs});
  }
  rttWindow.push_back(std::move(rttNow));
  while (rttWindow.size() > std::max<uint32_t>(options.rttWindowSeconds, 1)) {
    rttWindow.pop_front();
  }
  size_t slotCount;
  {
    std::shared_lock lock(mutex);
    slotCount = circuits.size();
  }
  // The window's samples grouped by slot (a counting sort), in ms.
  std::vector<uint32_t> slotStart(slotCount + 1, 0);
  size_t windowSamples = 0;
  for (const auto& tickSamples : rttWindow) {
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
    for (const auto& tickSamples : rttWindow) {
      for (const RttSample& s : tickSamples) {
        if (s.slot < slotCount) {
          bySlot[fill[s.slot]++] = s.rttUs / 1000.0;
        }
      }
    }
  }
  for (double ms : bySlot) {
    ++t.windowCounts[rttBucket(ms)];
  }
  // Percentiles per circuit slot, per node (its subtree's samples) and overall.
  std::vector<std::pair<double, double>>& slotRtt = t.sc.slotRtt;
  slotRtt.assign(slotCount, {kNoValue, kNoValue});
  t.nodeSamples.assign(t.nodeCount, {});
  for (size_t c = 0; c < t.circuitCount; ++c) {
    const uint32_t slot = t.view.circuitSlot[c];
    if (slot >= slotCount || slotStart[slot] == slotStart[slot + 1]) {
      continue;
    }
    std::span<double> samples(bySlot.data() + slotStart[slot], slotStart[slot + 1] - slotStart[slot]);
    for (int32_t n = t.plan.circuits[c].parentPlacement;
         n >= 0 && static_cast<size_t>(n) < t.nodeCount;
         n = t.view.nodeParent[static_cast<size_t>(n)]) {
      auto& v = t.nodeSamples[static_cast<size_t>(n)];
      v.insert(v.end(), samples.begin(), samples.end());
    }
    slotRtt[slot] = {*percentile(samples, 50), *percentile(samples, 90)};
  }
  std::vector<double> allSamples(bySlot);
  t.totalP50Ms = percentile(allSamples, 50).value_or(kNoValue);
  t.totalP90Ms = percentile(allSamples, 90).value_or(kNoValue);
}

void Collector::Impl::rollQueues(Tick& t) {
  // Circuits' rates per shaping queue, and the load of the queue's CPU.
  t.queues.assign(t.plan.queueCount, QueueLive{});
  CpuTimes cpuNow;
  if (auto r = readCpuTimes(options.procStatPath); r) {
    cpuNow = std::move(*r);
  }
  for (uint32_t q = 0; q < t.plan.queueCount; ++q) {
    QueueLive& queue = t.queues[q];
    queue.queue = q;
    queue.cpu = q < t.plan.queueCpu.size() ? t.plan.queueCpu[q] : q;
    queue.cpuPct = cpuBusyPct(cpuPrev, cpuNow, queue.cpu).value_or(0);
  }
  cpuPrev = std::move(cpuNow);
  if (t.dtSeconds <= 0) {
    return;
  }
  for (size_t c = 0; c < t.circuitCount; ++c) {
    const Acc* a = t.accOf(c);
    const uint16_t q = t.plan.circuits[c].queue;
    if (a == nullptr || q >= t.queues.size()) {
      continue;
    }
    for (int d = 0; d < 2; ++d) {
      t.queues[q].bps[d] += 8.0 * static_cast<double>(a->bytes[d]) / t.dtSeconds;
    }
  }
}

}  // namespace sluice::telemetry
