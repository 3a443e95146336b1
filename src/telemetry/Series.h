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
#include <string_view>
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
  /// Compact rings (the circuits' 1 s rings) hold 3.2 bytes per step instead of 6: down and up
  /// in 12 bits each (code12 = round(code16 / 10.24), i.e. 100·log2(1+v): relative error
  /// ≤ 0.35 %, up to 2^40.9 ≈ 2 Tbit/s) and one RTT code (16 bits) per kCompactRttSteps steps,
  /// the RTT of the newest step written in that block (for the 1 s rings: the p50 of the 10 s
  /// RTT window at the block's last second). `slots` must then be a multiple of
  /// kCompactRttSteps.
  static constexpr uint32_t kCompactRttSteps = 10;
  Ring(uint32_t slots, uint32_t stepSeconds, bool compact = false);
  /// Stores the point of the step containing unix time `t`. Writes older than the newest step
  /// already written are ignored unless they still fall inside the ring (history reload).
  void put(int64_t t, const Point& p);
  /// Points of the last `count` steps up to and including the newest written step, oldest first,
  /// missing ones left out.
  std::vector<Sample> last(uint32_t count) const;
  /// The point of the step containing `t`, nullopt when missing or outside the ring.
  std::optional<Point> at(int64_t t) const;
  /// The newest written step's start (unix seconds), or -1 when empty.
  int64_t newest() const { return newestStep_ < 0 ? -1 : newestStep_ * step_; }
  uint32_t slots() const { return slots_; }
  bool compact() const { return compact_; }
  /// Heap bytes of the ring (object included).
  size_t heapBytes() const;

 private:
  void set(size_t slot, const Point& p);
  Point get(size_t slot) const;
  std::vector<Point> points_;      ///< full rings
  std::vector<uint8_t> rates_;     ///< compact: 3 bytes per slot (down, up 12 bits each)
  std::vector<uint16_t> rttCodes_; ///< compact: one per kCompactRttSteps slots
  uint32_t slots_;
  uint32_t step_;
  bool compact_;
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
  /// The average as a point, over max(n, ticks) samples (samples not added count as 0); rttUs
  /// 0 when no RTT was added.
  Point average(uint32_t ticks = 0) const;
  bool empty() const { return n == 0; }
};

/// One hour of a circuit's minute points (slot i = minute `hourStart + 60 i`), kept in memory
/// only while the hour is open; finished hours go to SQLite (History::appendMinuteBlocks).
struct MinuteBlock {
  static constexpr uint32_t kSlots = 60;
  int64_t hourStart = 0;  ///< unix seconds, a multiple of 3600
  std::array<Point, kSlots> points{};  ///< kMissing where no minute was stored
  /// The stored slots [first, last] as History's blob (6 bytes per minute, little-endian
  /// down/up/rtt codes); `t` gets the first stored minute's start. Empty when nothing is stored.
  std::string blob(int64_t& t) const;
};

/// One series (the totals, a node or a circuit): 600 s at 1 s, `minuteSlots` min at 1 min
/// (default 2880 = 48 h), 6 bytes per point.
///
/// Nodes (`allocateOnTraffic`) allocate their rings with their first non-zero sample.
///
/// Circuits (`releaseIdle`) are lazy: their rings are allocated by the first non-zero sample
/// (rate or RTT) and released again after kIdleReleaseSeconds without one, so memory follows the
/// circuits active in the last 10 min; a second or minute a circuit has no point for reads as 0
/// when the totals have one (the collector was running). With `minuteBlocks` a circuit keeps no
/// 48 h ring: only the open hour (MinuteBlock, 366 bytes) is in memory and record() hands
/// finished hours back for SQLite.
struct Series {
  static constexpr uint32_t kSecondSlots = 600;
  static constexpr uint32_t kMinuteSlots = 2880;
  static constexpr int64_t kIdleReleaseSeconds = 600;
  std::string kind;  ///< "total", "node", "circuit"
  std::string name;  ///< circuit ID, node name, "" for the totals
  std::unique_ptr<Ring> seconds;
  std::unique_ptr<Ring> minutes;  ///< null when minuteSlots is 0 (or not allocated)
  std::unique_ptr<MinuteBlock> block;  ///< the open hour (minuteBlocks only)
  uint32_t minuteSlots = kMinuteSlots;
  bool releaseIdle = false;   ///< circuits: rings follow activity (see above)
  /// Nodes: rings allocated by the first non-zero sample and then kept (a node that never
  /// carried traffic holds none: 21 KB less each); its minute and persistence averages count
  /// the zero seconds before as they would with rings.
  bool allocateOnTraffic = false;
  bool minuteBlocks = false;  ///< circuits with a history database: minutes go to SQLite
  int64_t lastActive = -1;    ///< unix second of the newest non-zero sample
  Accumulator minute;   ///< the current minute
  int64_t minuteStart = -1;
  Accumulator persist;  ///< the current persistence interval
  bool allocated() const { return seconds != nullptr; }
  /// Whether record() must be called for a zero sample (rings held or a minute open).
  bool active() const { return seconds != nullptr || !minute.empty(); }
  void allocate();
  /// Records the 1 s values at unix second `t`; closes the minute when `t` enters a new one.
  /// `minuteTicks` (> 0): the ticks of the minute being closed, the denominator of its average
  /// (a lazy circuit has no samples for the seconds before it became active or after it was
  /// released; they count as 0). 0 = the samples recorded. Returns the finished hour block,
  /// if `t`'s minute closed the last one of an hour (minuteBlocks only), else null.
  std::unique_ptr<MinuteBlock> record(int64_t t, double downBps, double upBps,
                                      std::optional<double> rttUs, uint32_t minuteTicks = 0);
  /// Takes the open hour block, null when there is none.
  std::unique_ptr<MinuteBlock> takeBlock() { return std::move(block); }
  /// Shutdown: stores the open minute's average so far in the block and takes the block.
  std::unique_ptr<MinuteBlock> flushBlock();
  /// Closes the open minute into the rings/block (average over max(samples, ticks)); returns
  /// the block of an earlier hour it displaced, if any.
  std::unique_ptr<MinuteBlock> closeMinute(uint32_t ticks);
  /// Bytes this series holds on the heap (rings, block; not the object itself).
  size_t heapBytes() const;
};

/// Decodes History's minute blob (MinuteBlock::blob) starting at minute `t` into
/// onPoint(minuteStart, point); slots that are kMissing are skipped.
template <typename F>
void decodeMinuteBlob(int64_t t, std::string_view blob, F&& onPoint) {
  for (size_t i = 0; i + 6 <= blob.size(); i += 6) {
    auto u16 = [&](size_t at) {
      return static_cast<uint16_t>(static_cast<uint8_t>(blob[at]) |
                                   static_cast<uint8_t>(blob[at + 1]) << 8);
    };
    Point p{u16(i), u16(i + 2), u16(i + 4)};
    if (p.downBps != kMissing) {
      onPoint(t + static_cast<int64_t>(i / 6) * 60, p);
    }
  }
}

/// A decoded point (Ring::last's conversion).
Sample decodePoint(int64_t t, const Point& p);

/// The p-th percentile (0 < p ≤ 100) by the nearest-rank method (the ceil(p/100 * n)-th smallest
/// value); reorders `values`. nullopt for no values.
std::optional<double> percentile(std::span<double> values, double p);

/// Upper bounds (ms) of the RTT histogram's buckets; a sample above the last goes in the last.
inline constexpr std::array<double, 12> kRttBucketsMs = {5,   10,  20,  30,  50,   75,
                                                          100, 150, 200, 300, 500, 10000};
/// Index into kRttBucketsMs of the first bound ≥ rttMs.
size_t rttBucket(double rttMs);

}  // namespace sluice::telemetry
