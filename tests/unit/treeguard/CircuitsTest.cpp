// TreeGuard's circuit rules (Circuits.h C1-C7), one by one, driven tick by tick with 60 s ticks.
// Each expectation names the tick a rule fixes; removing the rule moves or removes that tick.

#include <gtest/gtest.h>

#include "Helpers.h"

namespace sluice::treeguard {
namespace {

using test::constantCpu;
using test::Event;
using test::run;
using test::silence;

std::vector<Event<SqmChange>> only(const std::vector<Event<SqmChange>>& events,
                                   const std::string& id, Direction d) {
  std::vector<Event<SqmChange>> out;
  for (const auto& e : events) {
    if (e.change.circuitId == id && e.change.direction == d) {
      out.push_back(e);
    }
  }
  return out;
}

// `mbps` Mbit/s down on circuit `id` while `when(t)`.
test::CircuitSignals downTraffic(const std::string& id, double mbps,
                                 std::function<bool(double)> when) {
  return [=](double t) {
    std::map<std::string, CircuitSignal> out;
    if (when(t)) {
      out[id].mbps = {mbps, 0};
    }
    return out;
  };
}

TEST(CircuitGuard, IdleCircuitSwitchesToFqCodelAfterIdleMinutesWhenCpuIsHigh) {
  CircuitGuard g(Settings{});
  g.enrol({"c1", {100, 20}});
  auto events = run(g, 0, 1200, silence, constantCpu(80));
  ASSERT_EQ(events.size(), 2u);  // both directions, once
  for (const auto& e : events) {
    EXPECT_EQ(e.t, 900);  // idle since the first tick (t = 0) for 15 min
    EXPECT_EQ(e.change.to, Sqm::FqCodel);
    EXPECT_NE(e.change.why.find("idle 15.0 min"), std::string::npos) << e.change.why;
    EXPECT_NE(e.change.why.find("busiest core 80 % >= 75 %"), std::string::npos) << e.change.why;
  }
  EXPECT_EQ(g.current("c1", Direction::Up), Sqm::FqCodel);
}

TEST(CircuitGuard, CpuBelowHighOrUnknownKeepsCake) {
  CircuitGuard low(Settings{});
  low.enrol({"c1", {100, 20}});
  EXPECT_TRUE(run(low, 0, 3600, silence, constantCpu(74)).empty());
  CircuitGuard unknown(Settings{});
  unknown.enrol({"c1", {100, 20}});
  EXPECT_TRUE(run(unknown, 0, 3600, silence, constantCpu(std::nullopt)).empty());
  // traffic_rtt_only ignores the CPU.
  Settings s;
  s.cpu.mode = CpuMode::TrafficRttOnly;
  CircuitGuard any(s);
  any.enrol({"c1", {100, 20}});
  auto events = run(any, 0, 1200, silence, constantCpu(10));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].t, 900);
}

TEST(CircuitGuard, CpuHysteresisRevertsOnlyAtOrBelowCpuLow) {
  CircuitGuard g(Settings{});
  g.enrol({"c1", {100, 0}});
  auto cpu = [](double t) -> std::optional<double> { return t < 960 ? 80 : t < 4000 ? 60 : 55; };
  auto events = run(g, 0, 4200, silence, cpu);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].t, 900);
  EXPECT_EQ(events[1].t, 4020);  // 60 % sits between low and high: nothing until 55 %
  EXPECT_EQ(events[1].change.to, Sqm::Cake);
  EXPECT_NE(events[1].change.why.find("CPU headroom"), std::string::npos);
}

TEST(CircuitGuard, DwellHoldsACpuRevert) {
  CircuitGuard g(Settings{});
  g.enrol({"c1", {100, 0}});
  auto events = run(g, 0, 3600, silence, [](double t) { return t < 960 ? 80.0 : 50.0; });
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].t, 2700);  // 900 + min_switch_dwell_minutes (30)
  EXPECT_EQ(events[1].change.to, Sqm::Cake);
}

TEST(CircuitGuard, TrafficRevertsAtOnceEvenInDwellAndOverTheHourlyLimit) {
  Settings s;
  s.circuits.maxSwitchesPerHour = 1;  // the save at 900 uses it up
  CircuitGuard g(s);
  g.enrol({"c1", {100, 20}});
  auto events =
      run(g, 0, 1500, downTraffic("c1", 20, [](double t) { return t >= 960; }), constantCpu(80));
  auto down = only(events, "c1", Direction::Down);
  ASSERT_EQ(down.size(), 2u);
  // 20 % of capacity: the EWMA reads 2.0, 3.8, 5.42 % -> at or above upgrade_util_pct (5 %)
  // on the third tick of traffic.
  EXPECT_EQ(down[1].t, 1080);
  EXPECT_EQ(down[1].change.to, Sqm::Cake);
  EXPECT_NE(down[1].change.why.find("traffic: util 5.4 %"), std::string::npos)
      << down[1].change.why;
  // The silent upload direction stays on fq_codel (independent_directions).
  EXPECT_EQ(g.current("c1", Direction::Up), Sqm::FqCodel);
}

TEST(CircuitGuard, PoorQualityRevertsAndBlocksSaving) {
  auto poorFrom = [](double from) {
    return [from](double t) {
      std::map<std::string, CircuitSignal> out;
      if (t >= from) {
        out["c1"].qooScore = {50.0, std::nullopt};
      }
      return out;
    };
  };
  CircuitGuard g(Settings{});
  g.enrol({"c1", {100, 0}});
  auto events = run(g, 0, 1200, poorFrom(960), constantCpu(80));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].t, 960);
  EXPECT_NE(events[1].change.why.find("poor quality: QoO 50 < 70"), std::string::npos);
  // A poor score from the start: never saved.
  CircuitGuard blocked(Settings{});
  blocked.enrol({"c1", {100, 0}});
  EXPECT_TRUE(run(blocked, 0, 3600, poorFrom(0), constantCpu(80)).empty());
  // With [treeguard.qoo] disabled the score does nothing.
  Settings off;
  off.qoo.enabled = false;
  CircuitGuard ignoring(off);
  ignoring.enrol({"c1", {100, 0}});
  auto saved = run(ignoring, 0, 1200, poorFrom(0), constantCpu(80));
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].t, 900);
}

TEST(CircuitGuard, HourlyLimitHoldsTheThirdSwitch) {
  Settings s;
  s.circuits.minSwitchDwellMinutes = 0;
  s.circuits.maxSwitchesPerHour = 2;
  CircuitGuard g(s);
  g.enrol({"c1", {100, 0}});
  auto cpu = [](double t) { return t == 960 ? 50.0 : 80.0; };
  auto events = run(g, 0, 5000, silence, cpu);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].t, 900);   // save
  EXPECT_EQ(events[1].t, 960);   // CPU revert
  EXPECT_EQ(events[2].t, 4500);  // not 1020: the save at 900 leaves the hour at 4500
}

TEST(CircuitGuard, DwellHoldsASaveAfterATrafficRevert) {
  Settings s;
  s.circuits.idleMinMinutes = 1;
  CircuitGuard g(s);
  g.enrol({"c1", {100, 0}});
  auto events =
      run(g, 0, 2400, downTraffic("c1", 60, [](double t) { return t == 120; }), constantCpu(80));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].t, 60);
  EXPECT_EQ(events[1].t, 120);  // EWMA 6 % at once: traffic is never held
  // Idle again from t = 780 (6 x 0.9^11 < 2 %) and for a minute at 840, but the dwell
  // from the revert at 120 holds the save until 1920.
  EXPECT_EQ(events[2].t, 1920);
}

TEST(CircuitGuard, BudgetTakesTheLongestIdleFirst) {
  CircuitGuard g(Settings{}, 2);
  for (int i = 1; i <= 5; ++i) {
    g.enrol({"c" + std::to_string(i), {100, 0}});  // upload capacity unknown: never switched
  }
  // ci carries 50 Mbit/s until 60 (6 - i) s: c5 goes idle first, c1 last.
  auto signals = [](double t) {
    std::map<std::string, CircuitSignal> out;
    for (int i = 1; i <= 5; ++i) {
      if (t < 60.0 * (6 - i)) {
        out["c" + std::to_string(i)].mbps = {50, 0};
      }
    }
    return out;
  };
  std::vector<size_t> deferred;
  std::vector<Event<SqmChange>> events;
  for (double t = 0; t < 4300; t += 60) {
    auto changes = g.tick(signals(t), t < 4000 ? 50.0 : 80.0, t);
    if (!changes.empty()) {
      deferred.push_back(g.deferredLastTick());
    }
    for (auto& c : changes) {
      g.reportApplied(c, true, t);
      events.push_back({t, c});
    }
  }
  ASSERT_EQ(events.size(), 5u);
  const std::vector<std::pair<double, std::string>> want{
      {4020, "c5"}, {4020, "c4"}, {4080, "c3"}, {4080, "c2"}, {4140, "c1"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(events[i].t, want[i].first) << i;
    EXPECT_EQ(events[i].change.circuitId, want[i].second) << i;
  }
  EXPECT_EQ(deferred, (std::vector<size_t>{3, 1, 0}));
}

TEST(CircuitGuard, BudgetTakesRevertsBeforeSaves) {
  CircuitGuard g(Settings{}, 1);
  for (const char* id : {"a", "b", "z"}) {
    g.enrol({id, {100, 0}});
  }
  // a and b: 3 % at t = 0, idle (EWMA < 2 %) from 240, so sustained at 1140; z idle from 0,
  // saved at 900, then 60 % traffic from 1140: its revert competes with a's and b's saves.
  auto signals = [](double t) {
    std::map<std::string, CircuitSignal> out;
    if (t == 0) {
      out["a"].mbps = out["b"].mbps = {3, 0};
    }
    if (t >= 1140) {
      out["z"].mbps = {60, 0};
    }
    return out;
  };
  auto events = run(g, 0, 1400, signals, constantCpu(80));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].t, 900);
  EXPECT_EQ(events[0].change.circuitId, "z");
  EXPECT_EQ(events[1].t, 1140);
  EXPECT_EQ(events[1].change.circuitId, "z");
  EXPECT_EQ(events[1].change.to, Sqm::Cake);
  EXPECT_EQ(events[2].change.circuitId, "a");
  EXPECT_EQ(events[2].t, 1200);
  EXPECT_EQ(events[3].change.circuitId, "b");
}

TEST(CircuitGuard, JointDirectionsNeedBothIdleAndRevertTogether) {
  Settings s;
  s.circuits.independentDirections = false;
  CircuitGuard g(s);
  g.enrol({"c1", {100, 20}});
  auto signals = [](double t) {
    std::map<std::string, CircuitSignal> out;
    if (t < 600 || t >= 5040) {
      out["c1"].mbps = {0, 10};  // upload only
    }
    return out;
  };
  auto events = run(g, 0, 5400, signals, constantCpu(80));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_GT(events[0].t, 1500);  // not at 900: the upload was busy until 600
  EXPECT_EQ(events[0].t, events[1].t);
  EXPECT_EQ(events[0].change.to, Sqm::FqCodel);
  EXPECT_NE(events[0].change.direction, events[1].change.direction);
  EXPECT_EQ(events[0].t, 3300);  // the upload's EWMA is under 2 % from 2400, + 15 min
  EXPECT_EQ(events[2].t, 5040);  // upload traffic reverts both
  EXPECT_EQ(events[3].t, 5040);
  EXPECT_EQ(g.current("c1", Direction::Down), Sqm::Cake);
  // An fq_codel upload base is never switched, but its traffic still keeps the download on CAKE.
  CircuitGuard mixed(s);
  mixed.enrol({"c1", {100, 20}, {Sqm::Cake, Sqm::FqCodel}});
  auto mixedEvents = run(mixed, 0, 3400, signals, constantCpu(80));
  ASSERT_EQ(mixedEvents.size(), 1u);
  EXPECT_EQ(mixedEvents[0].t, 3300);
  EXPECT_EQ(mixedEvents[0].change.direction, Direction::Down);
}

TEST(CircuitGuard, EnrolmentRules) {
  Settings s;
  s.circuits.allCircuits = false;
  s.circuits.circuits = {"listed", "fq", "nocap"};
  CircuitGuard g(s);
  g.enrol({"listed", {100, 20}});
  g.enrol({"unlisted", {100, 20}});
  g.enrol({"fq", {100, 20}, {Sqm::FqCodel, Sqm::Cake}});  // an fq_codel base is never touched
  g.enrol({"nocap", {0, 0}});                             // utilisation unknown
  auto events = run(g, 0, 1200, silence, constantCpu(80));
  std::vector<std::string> got;
  for (const auto& e : events) {
    got.push_back(e.change.circuitId + "/" + directionName(e.change.direction));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"fq/up", "listed/down", "listed/up"}));
  // switching_enabled, [treeguard.circuits] enabled and [treeguard] enabled each turn it off.
  for (int which = 0; which < 3; ++which) {
    Settings off;
    (which == 0   ? off.circuits.switchingEnabled
     : which == 1 ? off.circuits.enabled
                  : off.enabled) = false;
    CircuitGuard none(off);
    none.enrol({"c1", {100, 20}});
    EXPECT_TRUE(run(none, 0, 1200, silence, constantCpu(80)).empty()) << which;
  }
}

TEST(CircuitGuard, FailedApplyChangesNothingAndIsRetried) {
  CircuitGuard g(Settings{});
  g.enrol({"c1", {100, 0}});
  run(g, 0, 900, silence, constantCpu(80));
  auto first = g.tick({}, 80, 900);
  ASSERT_EQ(first.size(), 1u);
  g.reportApplied(first[0], false, 900);
  EXPECT_EQ(g.current("c1", Direction::Down), Sqm::Cake);
  auto retry = g.tick({}, 80, 960);
  ASSERT_EQ(retry.size(), 1u);
  g.reportApplied(retry[0], true, 960);
  // The dwell starts at the successful apply (960), not at the failed one.
  auto events = run(g, 1020, 3000, silence, constantCpu(50));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].t, 2760);
}

}  // namespace
}  // namespace sluice::treeguard
