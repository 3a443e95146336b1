#include "telemetry/Series.h"

#include <algorithm>

namespace sluice::telemetry {

uint16_t encodeLog16(double value) {
  if (!(value > 0)) {
    return 0;
  }
  double code = std::round(1024.0 * std::log2(1.0 + value));
  return static_cast<uint16_t>(std::min(code, static_cast<double>(kMissing - 1)));
}

double decodeLog16(uint16_t code) {
  if (code == 0 || code == kMissing) {
    return 0;
  }
  return std::exp2(code / 1024.0) - 1.0;
}

namespace {

constexpr uint16_t kMissing12 = 0xFFF;

uint16_t to12(uint16_t code16) {
  if (code16 == kMissing) {
    return kMissing12;
  }
  return static_cast<uint16_t>(std::min(std::lround(code16 / 10.24), long{kMissing12 - 1}));
}

uint16_t from12(uint16_t code12) {
  return static_cast<uint16_t>(std::lround(code12 * 10.24));
}

}  // namespace

Ring::Ring(uint32_t slots, uint32_t stepSeconds, bool compact)
    : slots_(slots), step_(stepSeconds), compact_(compact) {
  if (compact_) {
    rates_.assign(static_cast<size_t>(slots) * 3, 0xFF);  // every slot missing
    rttCodes_.assign((slots + kCompactRttSteps - 1) / kCompactRttSteps, 0);
  } else {
    points_.resize(slots);
  }
}

void Ring::set(size_t slot, const Point& p) {
  if (!compact_) {
    points_[slot] = p;
    return;
  }
  const uint16_t down = to12(p.downBps), up = to12(p.upBps);
  uint8_t* b = rates_.data() + slot * 3;
  b[0] = static_cast<uint8_t>(down & 0xFF);
  b[1] = static_cast<uint8_t>((down >> 8) | ((up & 0x0F) << 4));
  b[2] = static_cast<uint8_t>(up >> 4);
  if (p.downBps != kMissing) {
    // A missing step (gap) leaves its block's RTT to the steps that have one.
    rttCodes_[slot / kCompactRttSteps] = p.rttUs;
  }
}

Point Ring::get(size_t slot) const {
  if (!compact_) {
    return points_[slot];
  }
  const uint8_t* b = rates_.data() + slot * 3;
  const uint16_t down = static_cast<uint16_t>(b[0] | (b[1] & 0x0F) << 8);
  const uint16_t up = static_cast<uint16_t>(b[1] >> 4 | b[2] << 4);
  if (down == kMissing12) {
    return Point{};
  }
  const uint16_t rtt = rttCodes_[slot / kCompactRttSteps];
  return Point{from12(down), from12(up), rtt == kMissing ? uint16_t{0} : rtt};
}

size_t Ring::heapBytes() const {
  return sizeof(Ring) + points_.capacity() * sizeof(Point) + rates_.capacity() +
         rttCodes_.capacity() * sizeof(uint16_t);
}

void Ring::put(int64_t t, const Point& p) {
  const int64_t s = t / step_;
  const int64_t n = slots_;
  if (newestStep_ >= 0 && s <= newestStep_) {
    if (s > newestStep_ - n) {
      set(static_cast<size_t>(s % n), p);
    }
    return;
  }
  if (newestStep_ >= 0) {
    for (int64_t gap = newestStep_ + 1; gap < s && gap <= newestStep_ + n; ++gap) {
      set(static_cast<size_t>(gap % n), Point{});
    }
  }
  set(static_cast<size_t>(s % n), p);
  newestStep_ = s;
}

std::optional<Point> Ring::at(int64_t t) const {
  const int64_t s = t / step_;
  const int64_t n = slots_;
  if (newestStep_ < 0 || s > newestStep_ || s <= newestStep_ - n || s < 0) {
    return std::nullopt;
  }
  const Point p = get(static_cast<size_t>(s % n));
  if (p.downBps == kMissing) {
    return std::nullopt;
  }
  return p;
}

Sample decodePoint(int64_t t, const Point& p) {
  Sample out{t, decodeLog16(p.downBps), decodeLog16(p.upBps), std::nullopt};
  if (p.rttUs != 0 && p.rttUs != kMissing) {
    out.rttMs = decodeLog16(p.rttUs) / 1000.0;
  }
  return out;
}

std::vector<Sample> Ring::last(uint32_t count) const {
  std::vector<Sample> out;
  if (newestStep_ < 0) {
    return out;
  }
  const int64_t n = slots_;
  const int64_t first = newestStep_ - std::min<int64_t>(count, n) + 1;
  out.reserve(static_cast<size_t>(newestStep_ - first + 1));
  for (int64_t s = std::max<int64_t>(first, 0); s <= newestStep_; ++s) {
    const Point p = get(static_cast<size_t>(s % n));
    if (p.downBps == kMissing) {
      continue;
    }
    out.push_back(decodePoint(s * step_, p));
  }
  return out;
}

std::string MinuteBlock::blob(int64_t& t) const {
  size_t first = kSlots, last = 0;
  for (size_t i = 0; i < kSlots; ++i) {
    if (points[i].downBps != kMissing) {
      first = std::min(first, i);
      last = i;
    }
  }
  std::string out;
  if (first == kSlots) {
    return out;
  }
  t = hourStart + static_cast<int64_t>(first) * 60;
  out.reserve((last - first + 1) * 6);
  for (size_t i = first; i <= last; ++i) {
    for (uint16_t v : {points[i].downBps, points[i].upBps, points[i].rttUs}) {
      out.push_back(static_cast<char>(v & 0xFF));
      out.push_back(static_cast<char>(v >> 8));
    }
  }
  return out;
}

void Accumulator::add(double down, double up, std::optional<double> rttUsSample) {
  downBps += down;
  upBps += up;
  ++n;
  if (rttUsSample) {
    rttUs += *rttUsSample;
    ++rttN;
  }
}

Point Accumulator::average(uint32_t ticks) const {
  const double d = std::max(n, ticks);
  Point p;
  p.downBps = encodeLog16(d > 0 ? downBps / d : 0);
  p.upBps = encodeLog16(d > 0 ? upBps / d : 0);
  p.rttUs = rttN ? encodeLog16(rttUs / rttN) : 0;
  return p;
}

void Series::allocate() {
  if (!seconds) {
    seconds = std::make_unique<Ring>(kSecondSlots, 1, /*compact=*/releaseIdle);
  }
  if (!minutes && minuteSlots > 0) {
    minutes = std::make_unique<Ring>(minuteSlots, 60);
  }
}

std::unique_ptr<MinuteBlock> Series::record(int64_t t, double downBps, double upBps,
                                            std::optional<double> rttUs, uint32_t minuteTicks) {
  const bool nonZero = downBps > 0 || upBps > 0 || rttUs.has_value();
  if (nonZero) {
    lastActive = t;
  }
  if (nonZero || (!releaseIdle && !allocateOnTraffic)) {
    allocate();
  }
  std::unique_ptr<MinuteBlock> done;
  const int64_t m = t - t % 60;
  if (minuteStart >= 0 && m != minuteStart && !minute.empty()) {
    done = closeMinute(minuteTicks);
  }
  minuteStart = m;
  if (seconds) {
    seconds->put(t, Point{encodeLog16(downBps), encodeLog16(upBps),
                          rttUs ? encodeLog16(*rttUs) : uint16_t{0}});
    minute.add(downBps, upBps, rttUs);
    if (!minuteBlocks) {
      persist.add(downBps, upBps, rttUs);
    }
  } else if (allocateOnTraffic) {
    minute.add(downBps, upBps, rttUs);  // zeros (no rings yet) that the averages count
    persist.add(downBps, upBps, rttUs);
  }
  if (releaseIdle && seconds && t - lastActive >= kIdleReleaseSeconds) {
    // Ten minutes of zeros: every second of the ring reads as 0 without it.
    seconds.reset();  // (a minute ring, kept only without a history database, stays)
  }
  return done;
}

std::unique_ptr<MinuteBlock> Series::closeMinute(uint32_t ticks) {
  std::unique_ptr<MinuteBlock> done;
  const Point avg = minute.average(ticks);
  minute = {};
  if (minutes) {
    minutes->put(minuteStart, avg);
  }
  if (minuteBlocks) {
    const int64_t hour = minuteStart - minuteStart % 3600;
    if (block && block->hourStart != hour) {
      done = std::move(block);
    }
    if (!block && (avg.downBps != 0 || avg.upBps != 0 || avg.rttUs != 0)) {
      block = std::make_unique<MinuteBlock>();
      block->hourStart = hour;
      block->points.fill(Point{});
    }
    if (block) {
      block->points[static_cast<size_t>((minuteStart - hour) / 60)] = avg;
    }
  }
  return done;
}

std::unique_ptr<MinuteBlock> Series::flushBlock() {
  if (!minuteBlocks) {
    return nullptr;
  }
  std::unique_ptr<MinuteBlock> done;
  if (minuteStart >= 0 && !minute.empty()) {
    done = closeMinute(0);
  }
  if (done) {
    return done;  // a block of an earlier hour; the open minute's stays for the next flush
  }
  return takeBlock();
}

size_t Series::heapBytes() const {
  size_t bytes = 0;
  for (const Ring* r : {seconds.get(), minutes.get()}) {
    if (r != nullptr) {
      bytes += r->heapBytes();
    }
  }
  if (block) {
    bytes += sizeof(MinuteBlock);
  }
  for (const std::string* s : {&kind, &name}) {
    if (s->capacity() > 15) {
      bytes += s->capacity() + 1;
    }
  }
  return bytes;
}

std::optional<double> percentile(std::span<double> values, double p) {
  if (values.empty()) {
    return std::nullopt;
  }
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(rank), values.end());
  return values[rank];
}

size_t rttBucket(double rttMs) {
  auto it = std::lower_bound(kRttBucketsMs.begin(), kRttBucketsMs.end(), rttMs);
  return it == kRttBucketsMs.end() ? kRttBucketsMs.size() - 1
                                   : static_cast<size_t>(it - kRttBucketsMs.begin());
}

}  // namespace sluice::telemetry
