#include "stormguard/DelayProbe.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sluice::stormguard {

const char* actionName(Action action) {
  switch (action) {
    case Action::None:
      return "none";
    case Action::Increase:
      return "increase";
    case Action::IncreaseFast:
      return "increase_fast";
    case Action::Decrease:
      return "decrease";
    case Action::DecreaseFast:
      return "decrease_fast";
  }
  return "?";
}

DelayProbe::DelayProbe(const DelayProbeParams& params, double plannedMbps, double minimumShare)
    : p_(params), max_(plannedMbps) {
  min_ = std::floor(plannedMbps * std::clamp(minimumShare, 0.0, 1.0));
  // The floor of a step applies to the bounds too, unless the plan itself is below it.
  min_ = std::min(std::max(min_, p_.floorMbps), max_);
  current_ = max_;
}

void DelayProbe::restore(double currentMbps) { current_ = std::clamp(currentMbps, min_, max_); }

double DelayProbe::retransmitAverage() const {
  if (retxCount_ == 0) {
    return 0;
  }
  double sum = 0;
  for (size_t i = 0; i < retxCount_; ++i) {
    sum += retx_[i];
  }
  return sum / static_cast<double>(retxCount_);
}

bool DelayProbe::isBloat(double rttMs, double baseMs) const {
  return rttMs - baseMs >= p_.delayThresholdMs || rttMs / baseMs >= p_.delayThresholdRatio;
}

Decision DelayProbe::tick(const Sample& sample, double nowSeconds) {
  ++ticksSinceChange_;
  retx_[retxNext_] = std::clamp(sample.retransmitFraction, 0.0, 1.0);
  retxNext_ = (retxNext_ + 1) % kWindow;
  retxCount_ = std::min(retxCount_ + 1, kWindow);

  // The RTT counts only when there is traffic to measure it on.
  std::optional<double> rtt;
  if (sample.rttMs && sample.throughputMbps >= p_.minThroughputMbpsForRtt) {
    rtt = *sample.rttMs;
    if (!baseline_) {
      baseline_ = rtt;
    } else if (*rtt <= *baseline_) {
      *baseline_ += p_.baselineAlphaDown * (*rtt - *baseline_);
    } else {
      // A sample that shows bloat does not raise the baseline while the rate can still come
      // down: it measures the queue StormGuard is draining, not the path. (LibreQoS raises it
      // from every sample: 20 s of a 400 ms queue lifted it from 15 to 130 ms in the lab, and
      // with it the point where a queue counts as "good".) At the minimum rate nothing is left to
      // drain, so a lasting rise is the path's own (a longer route) and the baseline follows it.
      if (!isBloat(*rtt, std::max(1.0, *baseline_)) || current_ <= min_) {
        *baseline_ += p_.baselineAlphaUp * (*rtt - *baseline_);
      }
    }
  }

  Decision d;
  if (nowSeconds < cooldownUntil_) {
    d.why = fmt::format("cooldown {:.1f} s", cooldownUntil_ - nowSeconds);
    return d;
  }
  if (min_ >= max_) {
    d.why = "minimum equals the planned rate";
    return d;
  }
  const double T = p_.delayThresholdMs;
  const double R = p_.delayThresholdRatio;
  bool bloat = false, severe = false, good = false;
  std::string rttWhy = "no RTT sample";
  if (rtt) {
    const double base = std::max(1.0, *baseline_);
    const double delay = std::max(0.0, *rtt - base);
    const double ratio = *rtt / base;
    bloat = isBloat(*rtt, base);
    severe = delay >= 2 * T || ratio >= 1 + 2 * (R - 1);
    good = delay <= T / 2 && ratio <= 1 + (R - 1) / 2;
    rttWhy = fmt::format("rtt {:.1f} ms, baseline {:.1f} ms, delay {:.1f} ms, ratio {:.2f}", *rtt,
                         base, delay, ratio);
  }
  const double retx = retransmitAverage();
  const bool highLoss = retx >= 0.10;
  const bool moderateLoss = retx >= 0.05;
  const double load = current_ > 0 ? sample.throughputMbps / current_ : 0;
  const bool canDecrease = current_ > min_;
  const bool canIncrease = current_ < max_;
  const auto probeTicks =
      static_cast<uint64_t>(std::llround(std::max(1.0, p_.probeIntervalSeconds)));

  auto step = [&](Action action, double multiplier, std::string why) {
    // Decreases step from what got through when that is below the rate (see the header), when
    // the RTT shows a queue: only then is the link full, so that what got through is its
    // capacity (a decrease for retransmits alone steps from the rate).
    const bool down = action == Action::Decrease || action == Action::DecreaseFast;
    const double from = down && bloat && sample.throughputMbps > 0
                            ? std::min(current_, sample.throughputMbps)
                            : current_;
    // Whole Mbit/s, as LibreQoS sets them; a decrease rounds down, so that it lands under the
    // capacity it measured instead of on it (at 6 Mbit/s, round(5.9 x 0.95) = 6 kept the
    // backhaul's queue: tools/stormguard-lab.sh, 2026-12-07).
    const double rounded = down ? std::floor(from * multiplier) : std::round(from * multiplier);
    const double raw = std::max(p_.floorMbps, rounded);
    const double target = std::clamp(raw, min_, max_);  // clamped, never refused (see header)
    if (target == current_) {
      return Decision{Action::None, 0, why + "; already at the bound", std::nullopt};
    }
    return Decision{action, target, std::move(why),
                    down && from < current_ ? std::optional<double>(from) : std::nullopt};
  };
  if (canDecrease && (severe || highLoss)) {
    return step(Action::DecreaseFast, p_.decreaseFastMultiplier,
                fmt::format("severe: {}; retransmits {:.1f} %", rttWhy, retx * 100));
  }
  if (canDecrease && (bloat || moderateLoss)) {
    return step(Action::Decrease, p_.decreaseMultiplier,
                fmt::format("bloat: {}; retransmits {:.1f} %", rttWhy, retx * 100));
  }
  if (canIncrease && good && load >= p_.increaseLoadShare && ticksSinceChange_ >= probeTicks) {
    if (capacity_ && current_ >= *capacity_ * p_.increaseMultiplier) {
      capacity_.reset();  // good a plain step above the last bloat's capacity: the link grew
    }
    const bool nearCapacity = capacity_ && current_ * p_.increaseFastMultiplier > *capacity_;
    const bool fast = !nearCapacity &&
                      (lastApplied_ == Action::Increase || lastApplied_ == Action::IncreaseFast);
    std::string why = fmt::format("good under load {:.0f} %: {}", load * 100, rttWhy);
    if (nearCapacity) {
      why += fmt::format("; near the {:.1f} Mbit/s the last bloat measured: a plain step",
                         *capacity_);
    }
    return step(fast ? Action::IncreaseFast : Action::Increase,
                fast ? p_.increaseFastMultiplier : p_.increaseMultiplier, std::move(why));
  }
  d.why = fmt::format("hold: {}; load {:.0f} %; retransmits {:.1f} %", rttWhy, load * 100,
                      retx * 100);
  return d;
}

void DelayProbe::reportApplied(const Decision& decision, bool ok, double nowSeconds) {
  if (!ok || decision.action == Action::None) {
    return;
  }
  current_ = decision.targetMbps;
  ticksSinceChange_ = 0;
  if (decision.capacityMbps) {
    capacity_ = decision.capacityMbps;
  }
  lastApplied_ = decision.action;
  double cooldown = 0;
  switch (decision.action) {
    case Action::Increase:
      cooldown = p_.increaseCooldownSeconds;
      break;
    case Action::IncreaseFast:
      cooldown = p_.increaseFastCooldownSeconds;
      break;
    case Action::Decrease:
      cooldown = p_.decreaseCooldownSeconds;
      break;
    case Action::DecreaseFast:
      cooldown = p_.decreaseFastCooldownSeconds;
      break;
    case Action::None:
      break;
  }
  cooldownUntil_ = nowSeconds + cooldown;
}

}  // namespace sluice::stormguard
