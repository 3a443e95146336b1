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
  std::unordered_map<std::string, int32_t> indexOf;
  indexOf.reserve(full.circuits.size());
  for (size_t i = 0; i < full.circuits.size(); ++i) {
    ids.push_back(full.circuits[i].circuitId);
    indexOf.emplace(full.circuits[i].circuitId, static_cast<int32_t>(i));
  }
  std::vector<char> on(ids.size(), 0);
  std::vector<Clock::time_point> last(ids.size(), now);
  ActiveCircuits active;
  for (const auto& id : active_) {
    auto it = indexOf.find(id);
    auto old = indexOf_.find(id);
    if (it == indexOf.end()) {
      continue;
    }
    on[it->second] = 1;
    if (old != indexOf_.end()) {
      last[it->second] = lastActivity_[old->second];
    }
    active.insert(id);
  }
  prefixes_.clear();
  prefixes_.reserve(full.addresses.size());
  std::vector<bool> seenLen(129, false);
  for (const auto& a : full.addresses) {
    if (a.circuit < 0 || static_cast<size_t>(a.circuit) >= ids.size()) {
      continue;
    }
    prefixes_[keyOf(a.prefix, a.prefix.prefixLen)] = a.circuit;
    seenLen[a.prefix.prefixLen] = true;
  }
  prefixLens_.clear();
  for (int len = 128; len >= 0; --len) {
    if (seenLen[len]) {
      prefixLens_.push_back(static_cast<uint8_t>(len));
    }
  }
  ids_ = std::move(ids);
  indexOf_ = std::move(indexOf);
  on_ = std::move(on);
  lastActivity_ = std::move(last);
  growth_.assign(ids_.size(), 0);
  active_ = std::move(active);
  ++planGeneration_;  // cached host -> circuit lookups are stale
}

void LazyTracker::setActive(const ActiveCircuits& active, Clock::time_point now) {
  std::fill(on_.begin(), on_.end(), 0);
  active_.clear();
  for (const auto& id : active) {
    auto it = indexOf_.find(id);
    if (it == indexOf_.end()) {
      continue;
    }
    on_[it->second] = 1;
    lastActivity_[it->second] = now;
    active_.insert(id);
  }
}

int32_t LazyTracker::circuitOf(const IpNet& address) const {
  for (uint8_t len : prefixLens_) {
    auto it = prefixes_.find(keyOf(address, len));
    if (it != prefixes_.end()) {
      return it->second;
    }
  }
  return -1;
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
    auto it = indexOf_.find(id);
    if (it != indexOf_.end()) {
      on_[it->second] = 0;
      active_.erase(id);
    }
  }
  for (const auto& id : tick.expired) {
    auto it = indexOf_.find(id);
    if (it != indexOf_.end()) {
      activate(static_cast<size_t>(it->second), now);
    }
  }
}

}  // namespace sluice::lazy
