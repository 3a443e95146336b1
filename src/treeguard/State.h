#pragma once
// Signals and change history TreeGuard keeps per circuit direction and per node. Header-only,
// shared by Circuits.h and Nodes.h. Times are seconds of any monotonic clock (the tick time).

#include <deque>
#include <optional>

#include "treeguard/Settings.h"

namespace sluice::treeguard {

/// Utilisation EWMA and idle tracking of one direction (LibreQoS treeguard/state.rs):
/// util % = mbps / capacity x 100, smoothed per tick with alpha 0.1 (seeded by the first tick);
/// idleSince is set on the tick the EWMA first falls below the idle threshold and cleared on
/// the tick it is at or above it.
struct UtilTracker {
  static constexpr double kAlpha = 0.1;  ///< LibreQoS's per-tick EWMA weight
  std::optional<double> ewmaPct;
  std::optional<double> idleSince;

  void update(double mbps, double capacityMbps, double idleUtilPct, double nowSeconds) {
    const double pct = capacityMbps > 0 ? mbps / capacityMbps * 100.0 : 0.0;
    ewmaPct = ewmaPct ? *ewmaPct + kAlpha * (pct - *ewmaPct) : pct;
    if (*ewmaPct < idleUtilPct) {
      if (!idleSince) {
        idleSince = nowSeconds;
      }
    } else {
      idleSince.reset();
    }
  }
  double pct() const { return ewmaPct.value_or(0.0); }
  /// Seconds idle at `nowSeconds` (0 when not idle).
  double idleSeconds(double nowSeconds) const { return idleSince ? nowSeconds - *idleSince : 0; }
};

/// When an entity last changed and its changes of the last hour (the dwell and hourly limits).
struct ChangeHistory {
  std::optional<double> lastChange;
  std::deque<double> recent;  ///< change times within the last 3600 s

  void record(double nowSeconds) {
    lastChange = nowSeconds;
    recent.push_back(nowSeconds);
  }
  void prune(double nowSeconds) {
    while (!recent.empty() && nowSeconds - recent.front() >= 3600) {
      recent.pop_front();
    }
  }
  /// Less than `dwellMinutes` since the last change.
  bool inDwell(double nowSeconds, uint32_t dwellMinutes) const {
    return lastChange && nowSeconds - *lastChange < dwellMinutes * 60.0;
  }
  /// The hourly limit reached (a limit of 0 allows no change, as in LibreQoS).
  bool limited(uint32_t maxPerHour) const { return recent.size() >= maxPerHour; }
};

/// cpu_aware: the busiest core at or above cpu_high_pct (unknown CPU allows nothing);
/// traffic_rtt_only: always (LibreQoS decisions.rs cpu_allows_saving).
inline bool cpuAllowsSaving(const CpuSettings& cpu, std::optional<double> cpuMaxPct) {
  return cpu.mode == CpuMode::TrafficRttOnly || (cpuMaxPct && *cpuMaxPct >= cpu.cpuHighPct);
}

/// cpu_aware: the busiest core at or below cpu_low_pct; traffic_rtt_only: never
/// (LibreQoS decisions.rs cpu_calls_for_revert). Between the two thresholds nothing changes.
inline bool cpuCallsForRevert(const CpuSettings& cpu, std::optional<double> cpuMaxPct) {
  return cpu.mode == CpuMode::CpuAware && cpuMaxPct && *cpuMaxPct <= cpu.cpuLowPct;
}

/// A QoO score below min_score while [treeguard.qoo] is enabled; no score is not bad.
inline bool qooBad(const QooSettings& qoo, std::optional<double> score) {
  return qoo.enabled && score && *score < qoo.minScore;
}

}  // namespace sluice::treeguard
