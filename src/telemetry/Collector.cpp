// Collector: construction, plan installation, circuit and node states, history (load, persist
// rows, flush), memory accounting and the RTT ring's consumer. The tick itself: Tick.cpp (reads),
// Rollups.cpp and Publish.cpp.

#include "telemetry/Collector.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "dataplane/Readers.h"
#include "telemetry/CollectorImpl.h"

namespace sluice::telemetry {

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
