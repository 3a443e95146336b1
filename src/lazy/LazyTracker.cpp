#include "lazy/LazyTracker.h"

#include <algorithm>
#include <cstring>

namespace sluice::lazy {

namespace {
/// Ticks after which hosts not seen any more (evicted from the LRU map) are forgotten.
constexpr uint64_t kSweepTicks = 60;
}  // namespace

size_t LazyTracker::KeyHash::operator()(const Key& k) const noexcept {
  // splitmix64 finalizer over both halves and the length.
  uint64_t x = k.hi ^ (k.lo * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(k.len) << 56);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return static_cast<size_t>(x ^ (x >> 31));
}

LazyTracker::Key LazyTracker::keyOf(const IpNet& address, uint8_t len) {
  Key k;
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (int i = 0; i < 8; ++i) {
    hi = hi << 8 | address.addr[i];
    lo = lo << 8 | address.addr[8 + i];
  }
  if (len < 64) {
    hi = len == 0 ? 0 : hi & (~0ull << (64 - len));
    lo = 0;
  } else if (len < 128) {
    lo = len == 64 ? 0 : lo & (~0ull << (128 - len));
  }
  k.hi = hi;
  k.lo = lo;
  k.len = len;
  return k;
}

void LazyTracker::setPlan(const plan::QueuePlan& full, Clock::time_point now) {
  std::vector<std::string> ids;
  ids.reserve(full.circuits.size());
  for (const auto& c : full.circuits) {
    ids.push_back(c.circuitId);
  }
  std::vector<int32_t> byId(ids.size());
  for (size_t i = 0; i < byId.size(); ++i) {
    byId[i] = static_cast<int32_t>(i);
  }
  std::sort(byId.begin(), byId.end(), [&](int32_t a, int32_t b) { return ids[a] < ids[b]; });
  std::vector<char> on(ids.size(), 0);
  std::vector<Clock::time_point> last(ids.size(), now);
  ActiveCircuits active;
  for (const auto& id : active_) {
    const int32_t i = find(ids, byId, id);
    if (i < 0) {
      continue;
    }
    on[i] = 1;
    if (const int32_t old = indexOf(id); old >= 0) {
      last[i] = lastActivity_[old];
    }
    active.insert(id);
  }
  index_.build(full.addresses);
  ids_ = std::move(ids);
  byId_ = std::move(byId);
  on_ = std::move(on);
  lastActivity_ = std::move(last);
  growth_.assign(ids_.size(), 0);
  active_ = std::move(active);
  ++planGeneration_;  // cached host -> circuit lookups are stale
}

int32_t LazyTracker::find(const std::vector<std::string>& ids, const std::vector<int32_t>& byId,
                          std::string_view id) {
  auto it = std::lower_bound(byId.begin(), byId.end(), id,
                             [&](int32_t i, std::string_view v) { return ids[i] < v; });
  return it != byId.end() && ids[*it] == id ? *it : -1;
}

int32_t LazyTracker::indexOf(std::string_view id) const { return find(ids_, byId_, id); }

void LazyTracker::setActive(const ActiveCircuits& active, Clock::time_point now) {
  std::fill(on_.begin(), on_.end(), 0);
  active_.clear();
  for (const auto& id : active) {
    const int32_t i = indexOf(id);
    if (i < 0) {
      continue;
    }
    on_[i] = 1;
    lastActivity_[i] = now;
    active_.insert(id);
  }
}

int32_t LazyTracker::circuitOf(const IpNet& address) const {
  const int32_t c = index_.find(address);
  return c >= 0 && static_cast<size_t>(c) < ids_.size() ? c : -1;
}

void LazyTracker::activate(size_t index, Clock::time_point now) {
  on_[index] = 1;
  lastActivity_[index] = now;
  active_.insert(ids_[index]);
}

TickDecision LazyTracker::observe(std::span<const dataplane::HostCounters> hosts,
                                  Clock::time_point now) {
  TickDecision out;
  out.hosts = hosts.size();
  const bool baseline = tick_ == 0;
  ++tick_;
  std::vector<uint32_t> grown;  // circuits with growth this tick
  for (const auto& h : hosts) {
    const uint64_t bytes = h.bytes[0] + h.bytes[1];
    auto [it, fresh] = hosts_.try_emplace(keyOf(h.address, 128));
    HostState& s = it->second;
    const uint64_t growth = fresh ? (baseline ? 0 : bytes) : bytes >= s.bytes ? bytes - s.bytes
                                                                               : bytes;
    s.bytes = bytes;
    s.seenTick = tick_;
    if (s.planGeneration != planGeneration_) {
      s.circuit = circuitOf(h.address);
      s.planGeneration = planGeneration_;
    }
    if (s.circuit < 0) {
      ++out.unmatched;
      continue;
    }
    if (growth == 0) {
      continue;
    }
    const auto c = static_cast<uint32_t>(s.circuit);
    if (growth_[c] == 0) {
      grown.push_back(c);
    }
    growth_[c] += growth;
  }
  const uint64_t threshold = options_.thresholdBytes.value_or(0);
  const bool lazy = options_.mode != config::LazyQueues::No;
  for (uint32_t c : grown) {
    if (on_[c] != 0) {
      lastActivity_[c] = now;
    } else if (lazy && growth_[c] > threshold) {
      activate(c, now);
      out.activated.push_back(ids_[c]);
    }
    growth_[c] = 0;
  }
  if (lazy && options_.expire.count() > 0) {
    for (size_t c = 0; c < on_.size(); ++c) {
      if (on_[c] != 0 && now - lastActivity_[c] >= options_.expire) {
        on_[c] = 0;
        active_.erase(ids_[c]);
        out.expired.push_back(ids_[c]);
      }
    }
  }
  if (tick_ % kSweepTicks == 0) {
    std::erase_if(hosts_, [&](const auto& kv) { return kv.second.seenTick + kSweepTicks < tick_; });
  }
  return out;
}

void LazyTracker::revert(const TickDecision& tick, Clock::time_point now) {
  for (const auto& id : tick.activated) {
    if (const int32_t i = indexOf(id); i >= 0) {
      on_[i] = 0;
      active_.erase(id);
    }
  }
  for (const auto& id : tick.expired) {
    if (const int32_t i = indexOf(id); i >= 0) {
      activate(static_cast<size_t>(i), now);
    }
  }
}

}  // namespace sluice::lazy
