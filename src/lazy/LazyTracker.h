#pragma once
// The lazy-queue tracker: once a second it reads what the data plane counted per host
// (dataplane::readHostCounters), finds each host's circuit in the full plan's address map
// (longest prefix wins, as the data plane's LPM trie does) and decides which circuits get their
// queues (traffic seen) and which lose them again (idle for lazy_expire_seconds).
//
// Activity of a circuit in one tick = the growth of the byte counters (both directions) of its
// hosts since the previous tick. A host the tracker sees for the first time after the first tick
// counts with all its bytes (a fresh entry of the LRU host map); on the first tick every host is
// only a baseline, so a restart does not activate every circuit the pinned host map remembers.
// A counter that went down (the LRU map evicted and re-created the host) counts from 0.
//
// Not thread-safe: the daemon calls it from one thread under its mutex.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/Config.h"
#include "dataplane/Readers.h"
#include "lazy/Materialize.h"
#include "planner/AddressIndex.h"
#include "planner/QueuePlan.h"

namespace sluice::lazy {

struct TrackerOptions {
  config::LazyQueues mode = config::LazyQueues::No;
  /// lazy_expire_seconds: an active circuit with no byte growth for this long is expired.
  /// 0 = never expire (LibreQoS: "If max_age_seconds is 0, we do not expire queues").
  std::chrono::seconds expire{600};
  /// lazy_threshold_bytes (Sluice's own key): an inactive circuit is activated when its hosts'
  /// bytes grew by more than this in one tick; unset = any growth (> 0 bytes).
  std::optional<uint64_t> thresholdBytes;
};

/// What one tick decided (circuit IDs). The caller applies the materialized plan and, when that
/// fails, hands the tick back to revert().
struct TickDecision {
  std::vector<std::string> activated;
  std::vector<std::string> expired;
  size_t hosts = 0;           ///< host entries read
  size_t unmatched = 0;       ///< hosts no prefix of the plan covers (default-class traffic)
  bool changed() const { return !activated.empty() || !expired.empty(); }
};

class LazyTracker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LazyTracker(TrackerOptions options = {}) : options_(options) {}

  void setOptions(const TrackerOptions& options) { options_ = options; }
  const TrackerOptions& options() const { return options_; }

  /// A new full plan (start, reload): rebuilds the address table. Active circuits that the new
  /// plan still has stay active with their idle time (carried over by circuit ID); others are
  /// forgotten. O(circuits + addresses).
  void setPlan(const plan::QueuePlan& full, Clock::time_point now);

  /// Makes exactly `active` the active set (a restart adopting the bakery's active plan); each
  /// circuit counts as active since `now`. IDs the plan does not have are ignored.
  void setActive(const ActiveCircuits& active, Clock::time_point now);

  /// One tick over the host counters read at `now`. Activated and expired circuits are already
  /// reflected in active() on return.
  TickDecision observe(std::span<const dataplane::HostCounters> hosts, Clock::time_point now);

  /// Undoes `tick`'s decisions (its apply failed): activated circuits become inactive again and
  /// are retried on their next traffic; expired ones are active again.
  void revert(const TickDecision& tick, Clock::time_point now);

  /// Active circuits by ID (what materialize() takes).
  const ActiveCircuits& active() const { return active_; }
  size_t circuitCount() const { return ids_.size(); }

  /// Index of the circuit whose prefix covers `address` most specifically, or -1.
  int32_t circuitOf(const IpNet& address) const;

 private:
  struct Key {
    uint64_t hi = 0;
    uint64_t lo = 0;
    uint8_t len = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  struct HostState {
    uint64_t bytes = 0;
    uint64_t planGeneration = 0;  ///< circuit is valid for this plan generation
    uint64_t seenTick = 0;
    int32_t circuit = -1;
  };
  static Key keyOf(const IpNet& address, uint8_t len);
  void activate(size_t index, Clock::time_point now);
  /// Index of the circuit with ID `id` in `ids`, or -1 (binary search; `byId` sorts `ids`).
  static int32_t find(const std::vector<std::string>& ids, const std::vector<int32_t>& byId,
                      std::string_view id);
  /// find() over this plan's ids_ / byId_.
  int32_t indexOf(std::string_view id) const;

  TrackerOptions options_;
  std::vector<std::string> ids_;                       ///< circuit index -> ID
  /// Circuit indices sorted by ID (4 bytes per circuit; a hash map of ID strings took ~60).
  std::vector<int32_t> byId_;
  plan::AddressIndex index_;  ///< prefix -> circuit index (full.addresses)
  std::vector<char> on_;                               ///< per circuit: queues exist
  std::vector<Clock::time_point> lastActivity_;        ///< per circuit
  std::vector<uint64_t> growth_;                       ///< per circuit, this tick
  ActiveCircuits active_;
  std::unordered_map<Key, HostState, KeyHash> hosts_;
  uint64_t planGeneration_ = 0;
  uint64_t tick_ = 0;
};

}  // namespace sluice::lazy
