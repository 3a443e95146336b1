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

Ring::Ring(uint32_t slots, uint32_t stepSeconds) : points_(slots), step_(stepSeconds) {}

void Ring::put(int64_t t, const Point& p) {
  const int64_t s = t / step_;
  const int64_t n = static_cast<int64_t>(points_.size());
  if (newestStep_ >= 0 && s <= newestStep_) {
    if (s > newestStep_ - n) {
      points_[static_cast<size_t>(s % n)] = p;
    }
    return;
  }
  if (newestStep_ >= 0) {
    for (int64_t gap = newestStep_ + 1; gap < s && gap <= newestStep_ + n; ++gap) {
      points_[static_cast<size_t>(gap % n)] = Point{};
    }
  }
  points_[static_cast<size_t>(s % n)] = p;
  newestStep_ = s;
}

std::vector<Sample> Ring::last(uint32_t count) const {
  std::vector<Sample> out;
  if (newestStep_ < 0) {
    return out;
  }
  const int64_t n = static_cast<int64_t>(points_.size());
  const int64_t first = newestStep_ - std::min<int64_t>(count, n) + 1;
  out.reserve(static_cast<size_t>(newestStep_ - first + 1));
  for (int64_t s = std::max<int64_t>(first, 0); s <= newestStep_; ++s) {
    const Point& p = points_[static_cast<size_t>(s % n)];
    if (p.downBps == kMissing) {
      continue;
    }
    Sample out1{s * step_, decodeLog16(p.downBps), decodeLog16(p.upBps), std::nullopt};
    if (p.rttUs != 0 && p.rttUs != kMissing) {
      out1.rttMs = decodeLog16(p.rttUs) / 1000.0;
    }
    out.push_back(out1);
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

Point Accumulator::average() const {
  Point p;
  p.downBps = encodeLog16(n ? downBps / n : 0);
  p.upBps = encodeLog16(n ? upBps / n : 0);
  p.rttUs = rttN ? encodeLog16(rttUs / rttN) : 0;
  return p;
}

void Series::allocate() {
  if (!seconds) {
    seconds = std::make_unique<Ring>(kSecondSlots, 1);
    if (minuteSlots > 0) {
      minutes = std::make_unique<Ring>(minuteSlots, 60);
    }
  }
}

void Series::record(int64_t t, double downBps, double upBps, std::optional<double> rttUs) {
  allocate();
  Point p{encodeLog16(downBps), encodeLog16(upBps), rttUs ? encodeLog16(*rttUs) : uint16_t{0}};
  seconds->put(t, p);
  const int64_t m = t - t % 60;
  if (minuteStart >= 0 && m != minuteStart && !minute.empty()) {
    if (minutes) {
      minutes->put(minuteStart, minute.average());
    }
    minute = {};
  }
  minuteStart = m;
  minute.add(downBps, upBps, rttUs);
  persist.add(downBps, upBps, rttUs);
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
