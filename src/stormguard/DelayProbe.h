#pragma once
// StormGuard's `delay_probe` strategy for one direction of one watched node: a passive,
// cake-autorate-style controller of the node's HTB rate from the RTT, retransmits and throughput
// Sluice already measures (LibreQoS lqos_stormguard's rules, shared/reference §2), with two
// corrections: a step that would cross a bound is clamped to it instead of refused (LibreQoS can
// never climb back exactly to the planned rate from just below it), and the controller is a pure
// function of its state and the tick's sample, so recorded traces replay exactly in tests.
//
// Per tick (1 s):
//   baseline b <- b + alpha (rtt - b), alpha = alpha_up (0.01) when rtt > b else alpha_down (0.10),
//                 seeded by the first sample; used floored at 1 ms; not raised by a bloat sample
//                 above the minimum rate (below)
//   delay = max(0, rtt - b), ratio = rtt / b       (only when throughput >= min_throughput)
//   bloat  = delay >= T      or ratio >= R          (T = delay_threshold_ms, R = ..._ratio)
//   severe = delay >= 2T     or ratio >= 1 + 2(R-1)
//   good   = delay <= T/2   and ratio <= 1 + (R-1)/2
//   retransmits: the mean of the last 15 ticks' fractions; high >= 10 %, moderate >= 5 %
//   1. at both bounds                                   -> none
//   2. can decrease and (severe or high retransmits)   -> DecreaseFast (x decrease_fast_multiplier)
//   3. can decrease and (bloat or moderate)            -> Decrease     (x decrease_multiplier)
//   4. can increase and good and load >= 80 % and probe_interval ticks since the last change
//                                                      -> Increase     (x increase_multiplier)
// A decision applied starts that action's cooldown; no decision is taken while cooling down. A
// failed apply (reportApplied(false)) starts no cooldown and is retried on the next tick.
//
// Where Sluice departs from LibreQoS (whose defaults need ~75 s to follow a backhaul from 100 to
// 30 Mbit/s and ~100 s to climb back):
//   - a decrease steps from the achieved throughput when it is below the current rate
//     (cake-autorate's rule): the bottleneck's capacity is what got through while the queue grew,
//     so the rate lands under it at once instead of after many ×0.88 steps;
//   - an increase that follows an increase (no bloat in between) uses increase_fast_multiplier
//     (LibreQoS reads the key but never uses it in delay_probe), so recovery is geometric;
//   - steps are clamped to [minimum, planned], so the plan is reached exactly;
//   - an increase near the capacity the last bloat measured (the throughput a decrease stepped
//     from, when below the rate) is a plain step even after an increase: the fast multiplier
//     would overshoot a link known to saturate there by up to 30 % and rebuild the queue it just
//     drained (TCP's slow-start threshold, applied to a rate). Once the rate holds good a plain
//     step above that capacity, the link has grown and fast steps resume;
//   - the baseline rises only from samples that do not show bloat, unless the rate is at its
//     minimum (LibreQoS raises it from every sample, so a long queue lifts it and hides itself);
//   - steps are whole Mbit/s, a decrease rounded down (it must land under the capacity it
//     measured, not on it), an increase rounded to the nearest.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace sluice::stormguard {

/// The `[stormguard]` tunables the controller reads (LibreQoS's names and defaults).
struct DelayProbeParams {
  double delayThresholdMs = 40;       ///< delay_threshold_ms (T)
  double delayThresholdRatio = 1.10;  ///< delay_threshold_ratio (R), > 1
  double baselineAlphaUp = 0.01;      ///< baseline_alpha_up
  double baselineAlphaDown = 0.10;    ///< baseline_alpha_down
  double minThroughputMbpsForRtt = 0.05;
  double probeIntervalSeconds = 10;   ///< ticks between increases, at least 1
  double increaseMultiplier = 1.15;
  double increaseFastMultiplier = 1.30;
  double decreaseMultiplier = 0.95;
  double decreaseFastMultiplier = 0.88;
  double increaseCooldownSeconds = 1.0;
  double increaseFastCooldownSeconds = 2.0;
  double decreaseCooldownSeconds = 3.75;
  double decreaseFastCooldownSeconds = 7.5;
  /// A load at or above this share of the current rate counts as "using the link" (LibreQoS 0.80).
  double increaseLoadShare = 0.80;
  /// The smallest rate a step may produce, Mbps (LibreQoS: 4).
  double floorMbps = 4;
  bool operator==(const DelayProbeParams&) const = default;
};

/// What one tick measured for one direction of the node.
struct Sample {
  double throughputMbps = 0;         ///< the node's traffic in the last second
  std::optional<double> rttMs;       ///< the tick's p90 TCP RTT; nullopt when no sample
  double retransmitFraction = 0;     ///< retransmitted / TCP packets in the last second (0..1)
};

enum class Action : uint8_t { None, Increase, IncreaseFast, Decrease, DecreaseFast };
const char* actionName(Action action);

struct Decision {
  Action action = Action::None;
  double targetMbps = 0;  ///< the new rate when action != None (clamped to [min, max])
  std::string why;        ///< "delay 92.0 ms >= 80 ms (severe)", "cooldown 2.5 s", ...
  /// A decrease stepped from the throughput (below the rate, while the queue grew): the
  /// capacity it measured, Mbps; kept by reportApplied() as the point near which increases are
  /// plain steps.
  std::optional<double> capacityMbps;
};

/// The controller of one direction of one node. Rates in Mbps; time in seconds of any monotonic
/// clock (the caller's tick time).
class DelayProbe {
 public:
  /// `plannedMbps`: the node's rate from the plan (the upper bound); `minimumShare`:
  /// minimum_download_percentage / minimum_upload_percentage (0..1], the lower bound as a share
  /// of the plan (floored at params.floorMbps when the plan is above it). Starts at the plan.
  DelayProbe(const DelayProbeParams& params, double plannedMbps, double minimumShare);

  /// Updates the baseline and the retransmit window with `sample` and decides. Does not change
  /// the current rate: the caller applies the decision and calls reportApplied().
  Decision tick(const Sample& sample, double nowSeconds);
  /// The outcome of applying the last decision: success moves the current rate to its target
  /// and starts its cooldown; failure changes nothing (the next tick decides again).
  void reportApplied(const Decision& decision, bool ok, double nowSeconds);
  /// Replaces the current rate (a persisted adjustment replayed at start), clamped to the bounds.
  void restore(double currentMbps);

  double currentMbps() const { return current_; }
  /// The capacity the last bloat measured, until the rate holds good well above it.
  std::optional<double> capacityMbps() const { return capacity_; }
  double plannedMbps() const { return max_; }
  double minimumMbps() const { return min_; }
  /// The RTT baseline in ms; nullopt before the first usable sample.
  std::optional<double> baselineMs() const { return baseline_; }
  /// The mean retransmit fraction over the window (0..1).
  double retransmitAverage() const;

 private:
  /// delay >= T or ratio >= R against `baseMs` (the baseline, floored at 1 ms).
  bool isBloat(double rttMs, double baseMs) const;

  DelayProbeParams p_;
  double max_;
  double min_;
  double current_;
  std::optional<double> baseline_;
  static constexpr size_t kWindow = 15;  ///< ticks in the retransmit window (LibreQoS: 15)
  std::array<double, kWindow> retx_{};
  size_t retxCount_ = 0;
  size_t retxNext_ = 0;
  uint64_t ticksSinceChange_ = 0;
  Action lastApplied_ = Action::None;
  std::optional<double> capacity_;  ///< the last bloat's measured capacity, Mbps
  double cooldownUntil_ = -1;
};

}  // namespace sluice::stormguard
