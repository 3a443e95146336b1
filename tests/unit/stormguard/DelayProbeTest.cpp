// StormGuard's delay_probe rules, one by one, from signal traces (Trace.h), plus a closed-loop
// run against a simulated bloated backhaul: the rate must fall to the backhaul's capacity and
// climb back to the planned rate exactly (LibreQoS refuses the last step and stays below it).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "stormguard/Trace.h"

namespace sluice::stormguard {
namespace {

// n ticks of one constant signal, starting at `t0`.
std::vector<TraceTick> flat(double t0, int n, double mbps, std::optional<double> rtt,
                            double retx = 0) {
  std::vector<TraceTick> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({t0 + i, {mbps, rtt, retx}, true});
  }
  return out;
}

std::vector<TraceTick> operator+(std::vector<TraceTick> a, const std::vector<TraceTick>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const TraceStep* firstAction(const std::vector<TraceStep>& steps, Action action) {
  for (const TraceStep& s : steps) {
    if (s.decision.action == action) {
      return &s;
    }
  }
  return nullptr;
}

TEST(DelayProbe, BaselineRisesSlowlyAndFallsFast) {
  DelayProbe p({}, 100, 0.5);
  p.tick({50, 20.0, 0}, 0);
  EXPECT_DOUBLE_EQ(*p.baselineMs(), 20);  // seeded by the first sample
  p.tick({50, 21.0, 0}, 1);
  EXPECT_DOUBLE_EQ(*p.baselineMs(), 20.01);  // + 0.01 x 1
  p.tick({50, 10.01, 0}, 2);
  EXPECT_DOUBLE_EQ(*p.baselineMs(), 19.01);  // + 0.10 x (10.01 - 20.01)
}

TEST(DelayProbe, BloatDoesNotRaiseTheBaselineAboveTheMinimumRate) {
  DelayProbeParams params;
  params.decreaseCooldownSeconds = params.decreaseFastCooldownSeconds = 0;
  DelayProbe p(params, 10, 0.5);  // minimum 5
  p.tick({9, 20.0, 0}, 0);
  p.tick({9, 30.0, 0}, 1);  // ratio 1.5 >= 1.10: bloat, the rate can come down
  EXPECT_DOUBLE_EQ(*p.baselineMs(), 20);
  // At the minimum a lasting rise is the path's own: the baseline follows it.
  p.restore(5);
  p.tick({5, 30.0, 0}, 2);
  EXPECT_DOUBLE_EQ(*p.baselineMs(), 20.1);
}

TEST(DelayProbe, RttIsIgnoredWithoutTraffic) {
  DelayProbe p({}, 100, 0.5);
  p.tick({0.01, 500.0, 0}, 0);  // below min_throughput_mbps_for_rtt
  EXPECT_FALSE(p.baselineMs());
}

TEST(DelayProbe, ADecreaseLandsUnderTheCapacityItMeasured) {
  // A 6 Mbit/s backhaul under a site planned at 20: 5.9 got through while the queue grew.
  // round(5.9 x 0.95) would be 6, the backhaul's own rate, and keep its queue; floor gives 5.
  DelayProbeParams p;
  p.delayThresholdMs = 100;  // the lab's: a 110 ms delay is bloat, not severe
  p.delayThresholdRatio = 100;
  auto steps = replay(p, 20, 0.2, flat(0, 5, 5.9, 0.5) + flat(5, 5, 5.9, 110.0));
  const TraceStep* d = firstAction(steps, Action::Decrease);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->decision.targetMbps, 5) << d->decision.why;
}

TEST(DelayProbe, IncreasesNearTheLastBloatsCapacityArePlainSteps) {
  // The site fell from 20 under a bloat at 5.9 Mbit/s; then the RTT is good under load. Plain
  // steps (x1.15) while a fast one (x1.30) would cross 5.9; once the rate holds good a plain step
  // above it (1.15 x 5.9 = 6.8), the link has grown and fast steps resume.
  DelayProbeParams p;
  p.delayThresholdMs = 100;
  p.delayThresholdRatio = 100;
  p.probeIntervalSeconds = 5;
  auto steps = replay(p, 20, 0.25, flat(0, 3, 5.9, 0.5) + flat(3, 2, 5.9, 120.0) +
                                        flat(5, 40, 25, 0.5));
  std::vector<std::pair<Action, double>> changes;
  for (const TraceStep& s : steps) {
    if (s.decision.action != Action::None) {
      changes.emplace_back(s.decision.action, s.decision.targetMbps);
    }
  }
  ASSERT_GE(changes.size(), 5u);
  EXPECT_EQ(changes[0], std::make_pair(Action::Decrease, 5.0));  // floor(5.9 x 0.95)
  EXPECT_EQ(changes[1], std::make_pair(Action::Increase, 6.0));  // round(5 x 1.15)
  EXPECT_EQ(changes[2], std::make_pair(Action::Increase, 7.0));  // 6 x 1.3 > 5.9: plain
  EXPECT_EQ(changes[3], std::make_pair(Action::IncreaseFast, 9.0));  // 7 >= 6.8: fast again
  EXPECT_EQ(changes[4], std::make_pair(Action::IncreaseFast, 12.0));
}

TEST(DelayProbe, SevereDelayDecreasesFastThenCoolsDown) {
  auto steps = replay({}, 100, 0.5, flat(0, 20, 95, 20.0) + flat(20, 20, 95, 101.0));
  const TraceStep* fast = firstAction(steps, Action::DecreaseFast);
  ASSERT_NE(fast, nullptr);
  EXPECT_EQ(fast->timeSeconds, 20);
  EXPECT_EQ(fast->decision.targetMbps, 83);  // from the achieved 95: floor(95 x 0.88)
  // Nothing during the 7.5 s cooldown, the next fast decrease right after it.
  for (const TraceStep& s : steps) {
    if (s.timeSeconds > 20 && s.timeSeconds < 27.5) {
      EXPECT_EQ(s.decision.action, Action::None) << s.timeSeconds;
    }
  }
  EXPECT_EQ(steps[28].decision.action, Action::DecreaseFast) << steps[28].decision.why;
  EXPECT_EQ(steps[28].decision.targetMbps, 73);  // floor(83 x 0.88)
}

TEST(DelayProbe, ModerateBloatDecreasesByTheSmallStep) {
  // 20 ms baseline, then 62 ms: delay 42 >= 40 but < 80, ratio 3.1 >= 1.2 -> severe by ratio.
  // A ratio-only bloat needs a larger baseline: 200 ms -> 225 ms is delay 25, ratio 1.125.
  auto steps = replay({}, 100, 0.5, flat(0, 10, 95, 200.0) + flat(10, 5, 95, 225.0));
  const TraceStep* d = firstAction(steps, Action::Decrease);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->timeSeconds, 10);
  EXPECT_EQ(d->decision.targetMbps, 90);  // round(95 x 0.95)
  EXPECT_EQ(firstAction(steps, Action::DecreaseFast), nullptr);
}

TEST(DelayProbe, RetransmitsAloneDecrease) {
  // 15-tick window: 6 % everywhere -> moderate; 12 % -> high.
  auto moderate = replay({}, 100, 0.5, flat(0, 3, 95, 20.0, 0.06));
  EXPECT_EQ(moderate[0].decision.action, Action::Decrease);
  auto high = replay({}, 100, 0.5, flat(0, 3, 95, 20.0, 0.12));
  EXPECT_EQ(high[0].decision.action, Action::DecreaseFast);
  // No RTT at all: retransmits still act.
  auto blind = replay({}, 100, 0.5, flat(0, 3, 95, std::nullopt, 0.12));
  EXPECT_EQ(blind[0].decision.action, Action::DecreaseFast);
}

TEST(DelayProbe, IncreaseNeedsGoodRttLoadAndTheProbeInterval) {
  DelayProbeParams params;
  DelayProbe p(params, 100, 0.5);
  p.restore(60);
  // Good RTT but only 50 % load: no increase.
  for (int t = 0; t < 20; ++t) {
    EXPECT_EQ(p.tick({30, 20.0, 0}, t).action, Action::None);
  }
  // At 90 % load the increase comes (the interval has passed long ago) and then waits 10 ticks.
  Decision d = p.tick({54, 20.0, 0}, 20);
  ASSERT_EQ(d.action, Action::Increase) << d.why;
  EXPECT_EQ(d.targetMbps, 69);  // round(60 x 1.15)
  p.reportApplied(d, true, 20);
  for (int t = 21; t < 30; ++t) {
    EXPECT_EQ(p.tick({65, 20.0, 0}, t).action, Action::None) << t;
  }
  // The next one follows an increase with no bloat between: the fast step (x 1.30).
  const Decision again = p.tick({65, 20.0, 0}, 30);
  EXPECT_EQ(again.action, Action::IncreaseFast);
  EXPECT_EQ(again.targetMbps, 90);  // round(69 x 1.30)
}

TEST(DelayProbe, StepsAreClampedToTheBoundsSoThePlanIsReachedExactly) {
  DelayProbe p({}, 100, 0.5);
  p.restore(90);  // 90 x 1.15 = 103.5: LibreQoS refuses this step and stays at 90 for ever
  for (int t = 90; t < 100; ++t) {
    p.tick({85, 20.0, 0}, t);  // the probe interval passes
  }
  Decision up = p.tick({85, 20.0, 0}, 100);
  ASSERT_EQ(up.action, Action::Increase) << up.why;
  EXPECT_EQ(up.targetMbps, 100);
  p.reportApplied(up, true, 100);
  EXPECT_EQ(p.currentMbps(), 100);
  p.restore(52);  // 52 x 0.88 = 45.8 < 50: clamped to the minimum, then nothing more
  Decision down = p.tick({50, 400.0, 0}, 200);
  ASSERT_EQ(down.action, Action::DecreaseFast);
  EXPECT_EQ(down.targetMbps, 50);
  p.reportApplied(down, true, 200);
  EXPECT_EQ(p.tick({50, 400.0, 0}, 300).action, Action::None);
}

TEST(DelayProbe, AFailedApplyStartsNoCooldownAndIsRetried) {
  std::vector<TraceTick> t = flat(0, 5, 95, 20.0) + flat(5, 3, 95, 300.0);
  t[5].applyOk = false;
  auto steps = replay({}, 100, 0.5, t);
  EXPECT_EQ(steps[5].decision.action, Action::DecreaseFast);
  EXPECT_EQ(steps[5].rateAfterMbps, 100);  // not applied
  EXPECT_EQ(steps[6].decision.action, Action::DecreaseFast);  // retried at once
  EXPECT_EQ(steps[6].rateAfterMbps, 83);  // from the achieved 95
  EXPECT_EQ(steps[7].decision.action, Action::None);  // now cooling down
}

TEST(DelayProbe, RecordedBackhaulFadeTrace) {
  std::ifstream in(SLUICE_TEST_DATA_DIR "/stormguard/backhaul-fade.trace");
  std::stringstream text;
  text << in.rdbuf();
  auto ticks = parseTrace(text.str(), "backhaul-fade.trace");
  ASSERT_TRUE(ticks) << ticks.error().message();
  ASSERT_EQ(ticks->size(), 120u);
  auto steps = replay({}, 100, 0.2, *ticks);
  // Quiet before the fade; at t = 30 one fast decrease from the achieved 30 Mbit/s (not from
  // the 100 of the rate): round(30 x 0.88) = 26.
  for (int t = 0; t < 30; ++t) {
    EXPECT_EQ(steps[t].decision.action, Action::None) << t;
  }
  EXPECT_EQ(steps[30].decision.action, Action::DecreaseFast);
  EXPECT_EQ(steps[30].rateAfterMbps, 26);
  // The open-loop recording keeps its 200 ms, so the decreases go on, 7.5 s apart, to the floor.
  EXPECT_EQ(steps[89].rateAfterMbps, 20);
  // After the fade the RTT is good but the recording's 92 Mbit/s is above the 20 Mbit/s rate:
  // the increases come every probe interval, the second and later ones fast.
  ASSERT_NE(firstAction(steps, Action::Increase), nullptr);
  EXPECT_EQ(firstAction(steps, Action::Increase)->timeSeconds, 90);
  ASSERT_NE(firstAction(steps, Action::IncreaseFast), nullptr);
  EXPECT_EQ(firstAction(steps, Action::IncreaseFast)->timeSeconds, 100);
  // 20 -> 23 (x 1.15) -> 30 (x 1.30, still under the 30 Mbit/s the fade measured) -> 35 (a
  // plain x 1.15: x 1.30 would pass that capacity by 30 %).
  EXPECT_EQ(steps[119].rateAfterMbps, 35);
}

TEST(DelayProbe, TraceErrorsNameTheLine) {
  auto bad = parseTrace("0,10,20,0\n1,ten,20,0\n", "x.trace");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("x.trace:2"), std::string::npos);
  EXPECT_NE(bad.error().message().find("ten"), std::string::npos);
}

// Closed loop: a backhaul with a deep FIFO. When the shaper sends more than the backhaul carries,
// the queue (and RTT) grows; below it, the queue drains.
TEST(DelayProbe, ClosedLoopFollowsTheBackhaulDownAndClimbsBackToThePlanExactly) {
  DelayProbe p({}, 100, 0.2);
  double queueMs = 0;
  double fellBelowAt = -1, backAt = -1;
  for (int t = 0; t < 240; ++t) {
    const double capacity = (t >= 30 && t < 120) ? 30 : 100;
    const double rate = p.currentMbps();
    const double offered = rate * 0.98;  // TCP fills the shaper's rate
    // The FIFO grows by the excess and drains by the spare capacity (ms of queue at capacity).
    queueMs = std::clamp(queueMs + (offered - capacity) / capacity * 1000.0, 0.0, 500.0);
    const double throughput = std::min(offered, capacity);
    const Decision d = p.tick({throughput, 20.0 + queueMs, 0}, t);
    p.reportApplied(d, true, t);
    if (t >= 30 && fellBelowAt < 0 && p.currentMbps() <= 30) {
      fellBelowAt = t;
    }
    if (t >= 120 && backAt < 0 && p.currentMbps() == 100) {
      backAt = t;
    }
  }
  std::fprintf(stderr, "closed loop: at or below 30 Mbit/s %.0f s after the fade, back at 100 %.0f s "
               "after the recovery\n", fellBelowAt - 30, backAt - 120);
  ASSERT_GE(fellBelowAt, 0) << "never fell to the backhaul's 30 Mbit/s";
  EXPECT_LE(fellBelowAt - 30, 30) << "took " << fellBelowAt - 30 << " s";
  ASSERT_GE(backAt, 0) << "never climbed back to the plan: " << p.currentMbps();
  EXPECT_LE(backAt - 120, 60) << "took " << backAt - 120 << " s";
  EXPECT_EQ(p.currentMbps(), 100);
}

}  // namespace
}  // namespace sluice::stormguard
