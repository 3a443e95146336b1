// A telemetry tick after its reads: the rollup stages (Rollups.cpp) in order, then publication
// under the exclusive lock (live values, counters, series) and the history rows it hands to
// SQLite outside the lock.

#include <cmath>
#include <mutex>

#include "telemetry/TickWork.h"

namespace sluice::telemetry {

namespace {

/// Adds one second's deltas to a rollup: rates, totals and the retransmit averages.
void applyRollup(Rollup& r, const Acc& a, double dt, bool first) {
  for (int d = 0; d < 2; ++d) {
    r.bps[d] = dt > 0 ? 8.0 * static_cast<double>(a.bytes[d]) / dt : 0;
    r.pps[d] = dt > 0 ? static_cast<double>(a.packets[d]) / dt : 0;
    r.bytesTotal[d] += a.bytes[d];
    r.packetsTotal[d] += a.packets[d];
  }
  r.retransmitsTotal += a.retransmits;
  if (first) {
    r.retransmitEma = static_cast<double>(a.retransmits);
    r.tcpPacketsEma = static_cast<double>(a.tcpPackets);
  } else {
    r.retransmitEma += kRetransmitAlpha * (static_cast<double>(a.retransmits) - r.retransmitEma);
    r.tcpPacketsEma += kRetransmitAlpha * (static_cast<double>(a.tcpPackets) - r.tcpPacketsEma);
  }
  r.retransmitPct = r.tcpPacketsEma > 1e-9
                        ? std::min(100.0, 100.0 * r.retransmitEma / r.tcpPacketsEma)
                        : 0.0;
}

std::optional<double> usToOpt(double ms) {
  return std::isnan(ms) ? std::nullopt : std::optional<double>(ms * 1000.0);
}

double perSecond(uint64_t count, double dt) {
  return dt > 0 ? static_cast<double>(count) / dt : 0;
}

}  // namespace

void Collector::Impl::process(const PlanView& view, ReadState& rs,
                              std::chrono::system_clock::time_point now, TickReport& report) {
  if (!scratch) {
    scratch = std::make_shared<Scratch>();
  }
  Tick t(view, *scratch);
  t.first = tickNo == 0;
  t.number = ++tickNo;
  t.dtSeconds = t.first ? 0.0 : std::chrono::duration<double>(now - lastTick).count();
  lastTick = now;
  t.nowUnix = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  t.monoNowNs = rs.monoNowNs;
  report.hosts = rs.hostsOk ? hostBuf.size() : 0;
  report.flows = rs.flowsOk ? flowBuf.size() : 0;
  report.rttSamples = rttPending.size();

  // 3. Rollups (tick-thread state only; no lock).
  const double t2 = threadCpuMs();
  t.sc.circuitAcc.clear();
  t.sc.accAt.resize(t.circuitCount, kNoSlot);  // every entry kNoSlot (reset by publish)
  if (rs.hostsOk) {
    rollHosts(t);
  }
  keepBusiestUnknown(t);
  rollRtt(t);  // flows get their latest sample
  t.sc.activeFlows.clear();
  if (rs.flowsOk) {
    rollFlows(t);
  }
  keepBusiestFlows(t);
  materializeActive(t, rs);
  sumNodes(t);
  rollRttWindow(t);
  rollQueues(t);
  // Ticks per minute: the denominator of a lazy circuit's minute average.
  if (!t.first) {
    if (t.nowUnix / 60 != minuteNo) {
      prevMinuteTicks = minuteTicks;
      minuteTicks = 0;
      minuteNo = t.nowUnix / 60;
    }
    ++minuteTicks;
  }

  // 4. Publish (exclusive lock): live values, counters, rings.
  std::vector<HistoryRow> persistRows;
  std::vector<MinuteBlockRow> blockRows;
  {
    std::unique_lock lock(mutex);
    publishCircuits(t, rs);
    publishNodesAndTotals(t, rs);
    takeDueHistory(t, persistRows, blockRows);
    report.rollupMs = msSince(t2);
    totals.lastTick = report;
  }
  if (!persistRows.empty() || !blockRows.empty()) {
    const double t3 = threadCpuMs();
    if (!persistRows.empty()) {
      if (auto r = history->append(persistRows); !r) {
        report.warnings.push_back(r.error().message());
      }
    }
    if (!blockRows.empty()) {
      if (auto r = history->appendMinuteBlocks(blockRows); !r) {
        report.warnings.push_back(r.error().message());
      }
    }
    report.persistMs = msSince(t3);
  }
}

void Collector::Impl::publishCircuits(Tick& t, ReadState& rs) {
  // The kept flows replace last tick's (grouped by circuit in keepBusiestFlows).
  for (uint32_t slot : flowSlotsLastTick) {
    if (slot < circuits.size()) {
      circuits[slot]->flows.clear();
    }
  }
  flowSlotsLastTick.clear();
  const auto& keptFlows = t.sc.keptFlows;
  for (size_t i = 0; i < keptFlows.size();) {
    const uint32_t c = keptFlows[i].first;
    CircuitState& cs = *circuits[t.view.circuitSlot[c]];
    flowSlotsLastTick.push_back(t.view.circuitSlot[c]);
    for (; i < keptFlows.size() && keptFlows[i].first == c; ++i) {
      cs.flows.push_back(keptFlows[i].second);
    }
  }
  const Acc idle;
  const auto& slotRtt = t.sc.slotRtt;
  for (size_t c = 0; c < t.circuitCount; ++c) {
    const uint32_t slot = t.view.circuitSlot[c];
    if (slot == kNoSlot) {
      continue;  // no state: reads as idle (zeros), as applyRollup would leave it
    }
    CircuitState& cs = *circuits[slot];
    const Acc* acc = t.accOf(c);
    const Acc& a = acc == nullptr ? idle : *acc;
    applyRollup(cs.live, a, t.dtSeconds, t.first);
    cs.live.rttP50Ms = slot < slotRtt.size() ? slotRtt[slot].first : kNoValue;
    cs.live.rttP90Ms = slot < slotRtt.size() ? slotRtt[slot].second : kNoValue;
    // Idle circuits that hold nothing are skipped: they read as zeros (Series).
    if (!t.first && (cs.series.active() || a.bytes[0] + a.bytes[1] > 0 ||
                     !std::isnan(cs.live.rttP50Ms))) {
      if (auto done = cs.series.record(t.nowUnix, cs.live.bps[0], cs.live.bps[1],
                                       usToOpt(cs.live.rttP50Ms), prevMinuteTicks)) {
        pendingBlocks.emplace_back(cs.series.name, std::move(done));
      }
    }
  }
  for (auto& [key, qs] : rs.queueStats) {
    circuits[t.view.circuitSlot[key >> 1]]->queue[key & 1] = std::move(qs);
  }
  for (const auto& [c, a] : t.sc.circuitAcc) {
    t.sc.accAt[c] = kNoSlot;
  }
}

void Collector::Impl::publishNodesAndTotals(Tick& t, const ReadState& rs) {
  for (size_t n = 0; n < t.nodeCount; ++n) {
    NodeState& ns = *nodes[t.view.nodeSlot[n]];
    applyRollup(ns.live, t.sc.nodeAcc[n], t.dtSeconds, t.first);
    auto& samples = t.nodeSamples[n];
    ns.live.rttP50Ms = percentile(samples, 50).value_or(kNoValue);
    ns.live.rttP90Ms = percentile(samples, 90).value_or(kNoValue);
    if (!t.first) {
      ns.series.record(t.nowUnix, ns.live.bps[0], ns.live.bps[1], usToOpt(ns.live.rttP50Ms));
    }
  }
  TotalsState& all = totals;
  Acc sum = t.shaped;
  sum.add(t.unknownTraffic);
  sum.retransmits = t.shaped.retransmits;
  applyRollup(all.all, sum, t.dtSeconds, t.first);
  all.all.rttP50Ms = t.totalP50Ms;
  all.all.rttP90Ms = t.totalP90Ms;
  for (int d = 0; d < 2; ++d) {
    all.shapedBps[d] = 8.0 * perSecond(t.shaped.bytes[d], t.dtSeconds);
    all.unknownBps[d] = 8.0 * perSecond(t.unknownTraffic.bytes[d], t.dtSeconds);
    all.unknownBytesTotal[d] += t.unknownTraffic.bytes[d];
    for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
      all.protoPps[p][d] = perSecond(t.protoDelta[p][d], t.dtSeconds);
      all.protoPacketsTotal[p][d] += t.protoDelta[p][d];
    }
  }
  all.rttWindowCounts = t.windowCounts;
  for (const RttSample& s : rttWindow.back()) {
    ++all.rttCumulative[rttBucket(s.rttUs / 1000.0)];
    all.rttSumSeconds += s.rttUs / 1e6;
    ++all.rttCount;
  }
  if (rs.stats) {
    all.dataplaneStats = *rs.stats;
    all.hasDataplaneStats = true;
  }
  if (!t.first) {
    all.series.record(t.nowUnix, all.all.bps[0], all.all.bps[1], usToOpt(all.all.rttP50Ms));
  }
  all.t = t.nowUnix;
  queues = std::move(t.queues);
  unknown = std::move(t.unknownHosts);
}

void Collector::Impl::takeDueHistory(const Tick& t, std::vector<HistoryRow>& persistRows,
                                     std::vector<MinuteBlockRow>& blockRows) {
  // A new hour: the circuits' finished hour blocks go to SQLite (those that closed a minute
  // of the new hour handed theirs back in publishCircuits; the rest went idle during the last
  // hour).
  const int64_t hour = t.nowUnix - t.nowUnix % 3600;
  if (history && hour != blockHour) {
    if (blockHour >= 0) {
      for (auto& c : circuits) {
        Series& s = c->series;
        if (s.block && s.block->hourStart < hour && (s.minute.empty() || s.minuteStart >= hour)) {
          pendingBlocks.emplace_back(s.name, s.takeBlock());
        }
      }
    }
    blockHour = hour;
  }
  if (!pendingBlocks.empty()) {
    // Once an hour; spread over ticks (~10 µs of SQLite per block) so that a tick at 100k
    // busy circuits does not take a second longer.
    blockRows = takeBlockRows(kBlocksPerTick);
  }
  const int64_t interval = t.nowUnix - t.nowUnix % options.persistSeconds;
  if (persistInterval >= 0 && interval != persistInterval && history) {
    persistRows = takePersistRows(persistInterval);
  }
  persistInterval = interval;
}

}  // namespace sluice::telemetry
