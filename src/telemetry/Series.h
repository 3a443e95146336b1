#pragma once
// Time series storage of telemetry: compact fixed-size rings at 1 s and 1 min resolution, and
// the statistics helpers the rollups use (percentiles, the RTT histogram's buckets).

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sluice::telemetry {

/// A non-negative value in 16 bits on a log scale: code = round(1024 * log2(1 + v)), so the
/// relative error is at most 2^(1/2048) - 1 ≈ 0.034 % (plus ±0.5 absolute near zero) and the
/// largest encodable value is 2^63 (far above any link rate in bits/s or any RTT in µs).
/// kMissing marks a slot with no sample.
inline constexpr uint16_t kMissing = 0xFFFF;
uint16_t encodeLog16(double value);
double decodeLog16(uint16_t code);

/// One stored point: rates in bits/s, RTT p50 in µs (0 = no RTT sample), all log-encoded.
struct Point {
  uint16_t downBps = kMissing;
  uint16_t upBps = kMissing;
  uint16_t rttUs = kMissing;
};

/// A decoded point for queries. rttMs is nullopt when the interval had no RTT sample.
struct Sample {
  int64_t t = 0;  ///< unix seconds (start of the minute for minute points)
  double downBps = 0;
  double upBps = 0;
  std::optional<double> rttMs;
};

/// A ring of `slots` points at `stepSeconds` resolution indexed by time: point t lives in slot
/// (t / step) % slots. Writing a later step marks the skipped steps missing (a gap, e.g. the
/// daemon was down), so reads never return stale values from a previous lap.
class Ring {
 public:
  Ring(uint32_t slots, uint32_t stepSeconds);
  /// Stores the point of the step containing unix time `t`. Writes older than the newest step
  /// already written are ignored unless they still fall inside the ring (history reload).
  void put(int64_t t, const Point& p);
  /// Points of the last `count` steps up to and including the newest written step, oldest first,
  /// missing ones left out.
  std::vector<Sample> last(uint32_t count) const;
  /// The newest written step's start (unix seconds), or -1 when empty.
  int64_t newest() const { return newestStep_ < 0 ? -1 : newestStep_ * step_; }
  uint32_t slots() const { return static_cast<uint32_t>(points_.size()); }

 private:
  std::vector<Point> points_;
  uint32_t step_;
  int64_t newestStep_ = -1;
};

/// Sums for averaging over an interval (a minute, a persistence interval).
struct Accumulator {
  double downBps = 0;
  double upBps = 0;
  double rttUs = 0;
  uint32_t n = 0;
  uint32_t rttN = 0;
  void add(double down, double up, std::optional<double> rttUsSample);
  /// The average as a point; rttUs 0 when no RTT was added.
  Point average() const;
  bool empty() const { return n == 0; }
};

/// One series (the totals, a node or a circuit): 600 s at 1 s, `minuteSlots` min at 1 min
/// (default 2880 = 48 h). Rings are allocated on the first put (circuits that never carry
/// traffic cost nothing): 6 bytes per point, 20.9 KB per series with the defaults.
struct Series {
  static constexpr uint32_t kSecondSlots = 600;
  static constexpr uint32_t kMinuteSlots = 2880;
  std::string kind;  ///< "total", "node", "circuit"
  std::string name;  ///< circuit ID, node name, "" for the totals
  std::unique_ptr<Ring> seconds;
  std::unique_ptr<Ring> minutes;  ///< null when minuteSlots is 0
  uint32_t minuteSlots = kMinuteSlots;
  Accumulator minute;   ///< the current minute
  int64_t minuteStart = -1;
  Accumulator persist;  ///< the current persistence interval
  bool allocated() const { return seconds != nullptr; }
  void allocate();
  /// Records the 1 s values at unix second `t`; closes the minute when `t` enters a new one.
  void record(int64_t t, double downBps, double upBps, std::optional<double> rttUs);
};

/// The p-th percentile (0 < p ≤ 100) by the nearest-rank method (the ceil(p/100 * n)-th smallest
/// value); reorders `values`. nullopt for no values.
std::optional<double> percentile(std::span<double> values, double p);

/// Upper bounds (ms) of the RTT histogram's buckets; a sample above the last goes in the last.
inline constexpr std::array<double, 12> kRttBucketsMs = {5,   10,  20,  30,  50,   75,
                                                          100, 150, 200, 300, 500, 10000};
/// Index into kRttBucketsMs of the first bound ≥ rttMs.
size_t rttBucket(double rttMs);

}  // namespace sluice::telemetry
