// A telemetry tick's reads: the data plane's maps, the RTT ring and the tc statistics (when
// due), or readings handed in (tests, benchmarks); then Impl::process (Publish.cpp).

#include <algorithm>
#include <mutex>

#include "dataplane/Readers.h"
#include "netlink/Socket.h"
#include "tc/LiveTree.h"
#include "telemetry/TickWork.h"

namespace sluice::telemetry {

namespace {

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
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

}  // namespace sluice::telemetry
