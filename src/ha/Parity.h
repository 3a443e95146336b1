#pragma once
// Pair parity (docs/ha.md): would the backup shape as the primary does? Each sluiced describes
// itself in an "HA identity" document (GET /api/ha, built by the daemon); `sluice ha compare`
// fetches both and compareShapers() says what differs; `sluice ha check` runs checkPair(), the
// readiness checklist of the pair. Pure functions over JSON: no sockets, no HTTP.
//
// HA identity (every field optional to the readers below; a missing one is reported, not
// guessed):
//   { "version": "0.1.0", "node_name": "shaper-a", "role": "primary"|"backup"|"",
//     "fail_mode": "open"|"closed", "queue_mode": "shape"|"observe",
//     "inputs": {"network_sha256": hex, "devices_sha256": hex, "overrides_sha256": hex|""},
//     "plan_sha256": hex,            // the planner's plan, interface names left out
//     "leaf": "cake"|"pfifo"|...,    // the leaf kind the kernel runs (after any fallback)
//     "queues": 8,                   // shaping queues per direction
//     "interfaces": [{"role": "to_internet"|"to_network"|"single", "name": "eth0",
//                     "speed_mbps": 10000 | null, "tx_queues": 8}],
//     "ready": {"ready": bool, "reason": "...", ...},          // ha/Readiness.h
//     "hook": {...},                                          // ha/RoutingHook.h
//     "peak": {"down_mbps": x, "up_mbps": y, "window_s": n} | null,  // telemetry's busiest second
//     "last_failover": "2026-12-01T10:00:00Z" | null,          // the hook's last drain
//     "last_drill": "2026-12-01T10:00:00Z" | null }            // [ha] drill_record's date

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::ha {

/// One thing that differs between two shapers.
struct Difference {
  std::string what;   ///< e.g. "plan_sha256", "interface to_network speed_mbps"
  std::string local;  ///< the value here, as text ("missing" when absent)
  std::string peer;
  /// True when the backup would shape differently (inputs, plan, leaf kind, capacity, queue
  /// mode); false for what only deserves a look (software version, fail mode).
  bool shapingDiffers = false;
};

/// Compares two HA identity documents field by field. Interfaces are matched by role, not name
/// (the two hosts may name their NICs differently). Empty = identical where it matters and
/// where it does not.
std::vector<Difference> compareShapers(const nlohmann::json& local, const nlohmann::json& peer);

/// {"identical": bool, "shaping_differs": bool, "differences": [{"what","local","peer",
/// "shaping_differs"}]}
nlohmann::json differencesJson(const std::vector<Difference>& differences);

struct PairCheckOptions {
  /// A drill older than this (or none on record) fails the "drill" item.
  double maxDrillAgeDays = 90;
  /// The peer must carry the pair's peak times this (headroom) on each direction.
  double capacityHeadroom = 1.0;
  /// "now" in seconds since the epoch (for the drill's age).
  int64_t nowUnix = 0;
};

/// One item of the pair's checklist.
struct PairItem {
  std::string name;  ///< paths | capacity | inputs | drill
  bool ok = false;
  std::string detail;
};

/// The HA pair's readiness checklist:
///   paths     both shapers report ready (each identity's "ready")
///   capacity  each shaper's interfaces (the slower of its ports per direction) carry the
///             busier of the two peaks ("peak") times capacityHeadroom; a speed or a peak that is
///             unknown fails with the reason
///   inputs    input hashes and plan hashes are equal (compareShapers' shaping differences)
///   drill     the newer of the two "last_drill" dates is within maxDrillAgeDays
std::vector<PairItem> checkPair(const nlohmann::json& local, const nlohmann::json& peer,
                                const PairCheckOptions& options);

/// {"ok": bool, "items": [{"name","ok","detail"}]}
nlohmann::json pairJson(const std::vector<PairItem>& items);

/// Seconds since the epoch of an ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SSZ"; nullopt otherwise.
std::optional<int64_t> parseIsoTime(const std::string& text);

}  // namespace sluice::ha
