// The JSON queries of the operator API (src/api/openapi.json, docs/api.md).

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "dataplane/Readers.h"
#include "telemetry/CollectorImpl.h"

namespace sluice::telemetry {

namespace {

using Json = nlohmann::json;

Json orNull(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

std::string isoTime(int64_t unix) {
  std::time_t tt = static_cast<std::time_t>(unix);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json historyJson(const Series& s, bool minutes, uint32_t count, bool withRtt) {
  Json out = Json::array();
  const Ring* ring = minutes ? s.minutes.get() : s.seconds.get();
  if (ring == nullptr) {
    return out;
  }
  for (const Sample& p : ring->last(count)) {
    Json row{{"t", p.t}, {"down_bps", p.downBps}, {"up_bps", p.upBps}};
    if (withRtt) {
      row["rtt_p50_ms"] = p.rttMs ? Json(*p.rttMs) : Json(nullptr);
    }
    out.push_back(std::move(row));
  }
  return out;
}

// One point of a circuit's history: a time the totals have a point for (the collector ran),
// with the circuit's point if it has one (none = no traffic: reads as 0, RTT null).
struct HistorySlot {
  int64_t t = 0;
  std::optional<Point> point;
};

std::vector<HistorySlot> circuitSlots(const Series& totals, const Series& s, bool minutes,
                                      uint32_t count) {
  std::vector<HistorySlot> out;
  const Ring* clock = minutes ? totals.minutes.get() : totals.seconds.get();
  if (clock == nullptr) {
    return out;
  }
  const Ring* ring = minutes ? s.minutes.get() : s.seconds.get();
  for (const Sample& tick : clock->last(count)) {
    HistorySlot slot{tick.t, std::nullopt};
    if (ring != nullptr) {
      slot.point = ring->at(tick.t);
    }
    if (!slot.point && minutes && s.block && tick.t >= s.block->hourStart &&
        tick.t < s.block->hourStart + 3600) {
      const Point& p = s.block->points[static_cast<size_t>((tick.t - s.block->hourStart) / 60)];
      if (p.downBps != kMissing) {
        slot.point = p;
      }
    }
    out.push_back(slot);
  }
  return out;
}

Json historySlotsJson(const std::vector<HistorySlot>& slots) {
  Json out = Json::array();
  for (const HistorySlot& slot : slots) {
    const Sample p = slot.point ? decodePoint(slot.t, *slot.point) : Sample{slot.t, 0, 0, {}};
    out.push_back(Json{{"t", p.t},
                       {"down_bps", p.downBps},
                       {"up_bps", p.upBps},
                       {"rtt_p50_ms", p.rttMs ? Json(*p.rttMs) : Json(nullptr)}});
  }
  return out;
}

const char* leafKindName(plan::LeafKind k) {
  switch (k) {
    case plan::LeafKind::Cake: return "cake";
    case plan::LeafKind::FqCodel: return "fq_codel";
    case plan::LeafKind::Pfifo: return "pfifo";
    case plan::LeafKind::Bfifo: return "bfifo";
    case plan::LeafKind::None: return "none";
  }
  return "none";
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Json circuitListEntry(const PlanView& v, size_t c, const CircuitState& cs) {
  const plan::CircuitPlacement& cp = v.plan->circuits[c];
  const model::Circuit& mc = v.modelCircuit(c);
  return Json{{"id", cp.circuitId},
              {"name", mc.name},
              {"parent", v.parentName(c)},
              {"max_down_mbps", cp.downloadMaxMbps},
              {"max_up_mbps", cp.uploadMaxMbps},
              {"down_bps", cs.live.bps[0]},
              {"up_bps", cs.live.bps[1]},
              {"rtt_p50_ms", orNull(cs.live.rttP50Ms)},
              {"retransmit_pct", cs.live.retransmitPct},
              {"devices", mc.devices.size()}};
}

Json queueJson(const QueueStats& q) {
  if (!q.valid) {
    return nullptr;
  }
  Json tins = Json::array();
  for (const TinStats& t : q.tins) {
    tins.push_back(Json{{"drops", t.drops},
                        {"marks", t.marks},
                        {"delay_us", t.delayUs},
                        {"peak_delay_us", t.peakDelayUs},
                        {"backlog_bytes", t.backlogBytes}});
  }
  return Json{{"drops", q.drops},
              {"overlimits", q.overlimits},
              {"backlog_bytes", q.backlogBytes},
              {"backlog_packets", q.backlogPackets},
              {"sent_bytes", q.sentBytes},
              {"leaf_kind", q.leafKind},
              {"tins", std::move(tins)}};
}

std::string protoName(uint8_t proto) {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    default: return std::to_string(proto);
  }
}

}  // namespace

Json Collector::summary() const {
  std::shared_lock lock(impl_->mutex);
  const TotalsState& t = impl_->totals;
  Json protocols = Json::object();
  static constexpr const char* kProto[] = {"tcp", "udp", "icmp", "other"};
  for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
    protocols[kProto[p]] = Json{{"down_pps", t.protoPps[p][0]}, {"up_pps", t.protoPps[p][1]}};
  }
  Json histogram = Json::array();
  for (size_t b = 0; b < kRttBucketsMs.size(); ++b) {
    histogram.push_back(Json{{"le_ms", kRttBucketsMs[b]}, {"count", t.rttWindowCounts[b]}});
  }
  Json queues = Json::array();
  for (const QueueLive& q : impl_->queues) {
    queues.push_back(Json{{"queue", q.queue},
                          {"cpu", q.cpu},
                          {"down_bps", q.bps[0]},
                          {"up_bps", q.bps[1]},
                          {"cpu_pct", q.cpuPct}});
  }
  return Json{{"t", t.t},
              {"down_bps", t.all.bps[0]},
              {"up_bps", t.all.bps[1]},
              {"down_pps", t.all.pps[0]},
              {"up_pps", t.all.pps[1]},
              {"shaped", {{"down_bps", t.shapedBps[0]}, {"up_bps", t.shapedBps[1]}}},
              {"unknown", {{"down_bps", t.unknownBps[0]}, {"up_bps", t.unknownBps[1]}}},
              {"protocols", std::move(protocols)},
              {"rtt_ms", {{"p50", orNull(t.all.rttP50Ms)}, {"p90", orNull(t.all.rttP90Ms)}}},
              {"rtt_histogram", std::move(histogram)},
              {"retransmit_pct", t.all.retransmitPct},
              {"queues", std::move(queues)},
              {"history", historyJson(t.series, false, Series::kSecondSlots, false)}};
}

Json Collector::tree() const {
  std::shared_lock lock(impl_->mutex);
  Json out{{"nodes", Json::array()}};
  const PlanView* v = impl_->view.get();
  if (v == nullptr) {
    return out;
  }
  const auto& nodes = v->plan->nodes;
  const auto& net = v->inputs->model.network;
  auto build = [&](auto& self, int32_t n) -> Json {
    const plan::NodePlacement& np = nodes[static_cast<size_t>(n)];
    const NodeState& ns = *impl_->nodes[v->nodeSlot[static_cast<size_t>(n)]];
    std::string type = np.generated ? "generated" : "";
    if (np.modelIndex >= 0 && static_cast<size_t>(np.modelIndex) < net.nodes.size()) {
      type = net.nodes[static_cast<size_t>(np.modelIndex)].type;
    }
    auto util = [](double bps, double mbps) { return mbps > 0 ? bps / (mbps * 1e6) : 0.0; };
    Json children = Json::array();
    for (int32_t c : v->nodeChildren[static_cast<size_t>(n)]) {
      children.push_back(self(self, c));
    }
    return Json{{"name", np.name},
                {"type", type},
                {"virtual", np.isVirtual},
                {"max_down_mbps", np.downloadMaxMbps},
                {"max_up_mbps", np.uploadMaxMbps},
                {"down_bps", ns.live.bps[0]},
                {"up_bps", ns.live.bps[1]},
                {"utilization_down", util(ns.live.bps[0], np.downloadMaxMbps)},
                {"utilization_up", util(ns.live.bps[1], np.uploadMaxMbps)},
                {"rtt_p50_ms", orNull(ns.live.rttP50Ms)},
                {"rtt_p90_ms", orNull(ns.live.rttP90Ms)},
                {"retransmit_pct", ns.live.retransmitPct},
                {"circuits", v->nodeCircuits[static_cast<size_t>(n)]},
                {"children", std::move(children)}};
  };
  for (int32_t r : v->roots) {
    out["nodes"].push_back(build(build, r));
  }
  return out;
}

Result<Json> Collector::circuits(std::string_view search, size_t offset, size_t limit,
                                 std::string_view sort) const {
  enum class By { Name, Down, Up, Rtt } by;
  if (sort == "name" || sort.empty()) {
    by = By::Name;
  } else if (sort == "down") {
    by = By::Down;
  } else if (sort == "up") {
    by = By::Up;
  } else if (sort == "rtt") {
    by = By::Rtt;
  } else {
    return makeError(EINVAL, "circuits sort",
                     fmt::format("unknown sort '{}' (name, down, up or rtt)", sort));
  }
  std::shared_lock lock(impl_->mutex);
  Json out{{"total", 0}, {"circuits", Json::array()}};
  const PlanView* v = impl_->view.get();
  if (v == nullptr) {
    return out;
  }
  const std::string needle = lower(search);
  std::vector<uint32_t> match;
  match.reserve(v->plan->circuits.size());
  for (size_t c = 0; c < v->plan->circuits.size(); ++c) {
    if (v->matches(c, needle)) {
      match.push_back(static_cast<uint32_t>(c));
    }
  }
  auto state = [&](uint32_t c) -> const CircuitState& { return impl_->circuitState(*v, c); };
  auto key = [&](uint32_t c) {
    const Rollup& r = state(c).live;
    switch (by) {
      case By::Down: return r.bps[0];
      case By::Up: return r.bps[1];
      case By::Rtt: return std::isnan(r.rttP50Ms) ? -1.0 : r.rttP50Ms;
      case By::Name: break;
    }
    return 0.0;
  };
  auto less = [&](uint32_t a, uint32_t b) {
    if (by == By::Name) {
      const std::string& na = v->modelCircuit(a).name;
      const std::string& nb = v->modelCircuit(b).name;
      return na != nb ? na < nb : v->plan->circuits[a].circuitId < v->plan->circuits[b].circuitId;
    }
    double ka = key(a), kb = key(b);
    return ka != kb ? ka > kb : a < b;
  };
  const size_t end = std::min(match.size(), offset + std::min(limit, match.size()));
  if (offset < end) {
    std::partial_sort(match.begin(), match.begin() + static_cast<ptrdiff_t>(end), match.end(),
                      less);
    for (size_t i = offset; i < end; ++i) {
      out["circuits"].push_back(circuitListEntry(*v, match[i], state(match[i])));
    }
  }
  out["total"] = match.size();
  return out;
}

std::optional<Json> Collector::circuit(std::string_view id, uint32_t minutes) const {
  const bool byMinute = minutes > 0;
  const uint32_t count = byMinute ? std::min(minutes, Series::kMinuteSlots) : Series::kSecondSlots;
  std::vector<HistorySlot> slots;
  bool fromDb = false;
  std::string circuitId;
  std::shared_lock lock(impl_->mutex);
  const PlanView* v = impl_->view.get();
  if (v == nullptr) {
    return std::nullopt;
  }
  const int32_t found = v->findCircuit(id);
  if (found < 0) {
    return std::nullopt;
  }
  const size_t c = static_cast<size_t>(found);
  const plan::CircuitPlacement& cp = v->plan->circuits[c];
  const model::Circuit& mc = v->modelCircuit(c);
  const CircuitState& cs = impl_->circuitState(*v, c);
  Json leaf = nullptr;
  if (const plan::LeafSpec* l = v->downLeaf(c)) {
    leaf = Json{{"kind", leafKindName(l->kind)},
                {"diffserv", l->kind == plan::LeafKind::Cake
                                 ? Json(plan::cakeDiffservName(l->cake.diffserv))
                                 : Json(nullptr)}};
  }
  Json devices = Json::array();
  for (const model::Device& d : mc.devices) {
    Json v4 = Json::array(), v6 = Json::array();
    for (const IpNet& a : d.ipv4) {
      v4.push_back(a.toString());
    }
    for (const IpNet& a : d.ipv6) {
      v6.push_back(a.toString());
    }
    devices.push_back(Json{{"id", d.id},
                           {"name", d.name},
                           {"mac", d.mac},
                           {"ipv4", std::move(v4)},
                           {"ipv6", std::move(v6)},
                           {"comment", d.comment}});
  }
  Json flows = Json::array();
  for (const FlowLive& f : cs.flows) {
    Json src = addrToString(Addr::fromBytes(f.key.local));
    Json dst = addrToString(Addr::fromBytes(f.key.remote));
    flows.push_back(Json{{"src", src},
                         {"dst", dst},
                         {"sport", f.key.local_port},
                         {"dport", f.key.remote_port},
                         {"proto", protoName(f.key.proto)},
                         {"down_bps", f.bps[0]},
                         {"up_bps", f.bps[1]},
                         {"rtt_ms", orNull(f.rttMs)},
                         {"retransmits", f.retransmits}});
  }
  slots = circuitSlots(impl_->totals.series, cs.series, byMinute, count);
  if (byMinute) {
    // Finished hours waiting for SQLite (a few seconds after each hour).
    for (const auto& [name, block] : impl_->pendingBlocks) {
      if (name != cp.circuitId) {
        continue;
      }
      for (HistorySlot& slot : slots) {
        if (!slot.point && slot.t >= block->hourStart && slot.t < block->hourStart + 3600) {
          const Point& p = block->points[static_cast<size_t>((slot.t - block->hourStart) / 60)];
          if (p.downBps != kMissing) {
            slot.point = p;
          }
        }
      }
    }
  }
  // (every circuit's minutes are in the database when there is one, also a circuit that has no
  // state since a restart)
  fromDb = byMinute && impl_->history != nullptr;
  circuitId = cp.circuitId;
  Json out{
      {"id", cp.circuitId},
      {"name", mc.name},
      {"parent", v->parentName(c)},
      {"plan",
       {{"min_down_mbps", cp.downloadMinMbps},
        {"min_up_mbps", cp.uploadMinMbps},
        {"max_down_mbps", cp.downloadMaxMbps},
        {"max_up_mbps", cp.uploadMaxMbps},
        {"down_classid", cp.downClass.toString()},
        {"up_classid", cp.upClass.toString()},
        {"queue", cp.queue},
        {"leaf", std::move(leaf)}}},
      {"devices", std::move(devices)},
      {"live",
       {{"down_bps", cs.live.bps[0]},
        {"up_bps", cs.live.bps[1]},
        {"down_pps", cs.live.pps[0]},
        {"up_pps", cs.live.pps[1]},
        {"rtt_p50_ms", orNull(cs.live.rttP50Ms)},
        {"rtt_p90_ms", orNull(cs.live.rttP90Ms)},
        {"retransmit_pct", cs.live.retransmitPct}}},
      {"history", nullptr},
      {"flows", std::move(flows)},
      {"queue", {{"down", queueJson(cs.queue[0])}, {"up", queueJson(cs.queue[1])}}}};
  lock.unlock();
  if (fromDb && !slots.empty()) {
    // Minutes of finished hours: SQLite, outside the lock (the open hour came from memory).
    // The window ends with the totals' newest minute; minutes the circuit has but the totals
    // lack (before a restart the totals have 5-minute points) are added.
    const int64_t to = slots.back().t + 60;
    const int64_t from = to - int64_t{count} * 60;
    std::unordered_map<int64_t, size_t> at;
    at.reserve(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
      at.emplace(slots[i].t, i);
    }
    bool added = false;
    (void)impl_->history->readMinuteBlocks(
        circuitId, from, to, [&](int64_t t, std::string_view blob) {
          decodeMinuteBlob(t, blob, [&](int64_t minute, const Point& p) {
            if (minute < from || minute >= to) {
              return;
            }
            if (auto it = at.find(minute); it != at.end()) {
              if (!slots[it->second].point) {
                slots[it->second].point = p;
              }
            } else {
              at.emplace(minute, slots.size());
              slots.push_back(HistorySlot{minute, p});
              added = true;
            }
          });
        });
    if (added) {
      std::sort(slots.begin(), slots.end(),
                [](const HistorySlot& a, const HistorySlot& b) { return a.t < b.t; });
    }
  }
  out["history"] = historySlotsJson(slots);
  return out;
}

Result<Json> Collector::top(std::string_view metric, size_t n) const {
  enum class M { Throughput, Rtt, Retransmits } by;
  if (metric == "throughput") {
    by = M::Throughput;
  } else if (metric == "rtt") {
    by = M::Rtt;
  } else if (metric == "retransmits") {
    by = M::Retransmits;
  } else {
    return makeError(EINVAL, "top metric",
                     fmt::format("unknown metric '{}' (throughput, rtt or retransmits)", metric));
  }
  n = std::min<size_t>(n, 1000);
  std::shared_lock lock(impl_->mutex);
  Json out{{"metric", metric}, {"circuits", Json::array()}};
  const PlanView* v = impl_->view.get();
  if (v == nullptr) {
    return out;
  }
  std::vector<std::pair<double, uint32_t>> ranked;
  for (size_t c = 0; c < v->plan->circuits.size(); ++c) {
    if (v->circuitSlot[c] == kNoSlot) {
      continue;  // idle: no throughput, RTT or retransmits
    }
    const Rollup& r = impl_->circuits[v->circuitSlot[c]]->live;
    double k = by == M::Throughput ? r.bps[0] + r.bps[1]
               : by == M::Rtt      ? r.rttP50Ms
                                   : r.retransmitPct;
    if (std::isnan(k) || (by == M::Retransmits && k <= 0) || (by == M::Throughput && k <= 0)) {
      continue;
    }
    ranked.emplace_back(k, static_cast<uint32_t>(c));
  }
  const size_t take = std::min(n, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<ptrdiff_t>(take), ranked.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  for (size_t i = 0; i < take; ++i) {
    uint32_t c = ranked[i].second;
    out["circuits"].push_back(circuitListEntry(*v, c, impl_->circuitState(*v, c)));
  }
  return out;
}

Json Collector::unknown() const {
  std::shared_lock lock(impl_->mutex);
  Json list = Json::array();
  for (const UnknownLive& u : impl_->unknown) {
    list.push_back(Json{{"address", addrToString(u.addr)},
                        {"down_bps", u.bps[0]},
                        {"up_bps", u.bps[1]},
                        {"bytes_down", u.bytes[0]},
                        {"bytes_up", u.bytes[1]},
                        {"last_seen", isoTime(u.lastSeenUnix)}});
  }
  return Json{{"addresses", std::move(list)}};
}

}  // namespace sluice::telemetry
