// TreeGuard's node virtualisation rules (Nodes.h N1-N6), driven with 60 s ticks.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "Helpers.h"

namespace sluice::treeguard {
namespace {

using test::constantCpu;
using test::Event;
using test::run;

using NodeSignals = std::map<std::string, NodeSignal>;
NodeSignals quiet(double) {
  return {};
}

Settings linksOn() {
  Settings s;
  s.links.enabled = true;
  return s;
}

// `down` Mbit/s through `id` while `when(t)`.
std::function<NodeSignals(double)> traffic(const std::string& id, double down,
                                           std::function<bool(double)> when, bool rtt = true) {
  return [=](double t) {
    NodeSignals out;
    if (when(t)) {
      out[id] = NodeSignal{down, 0, rtt, std::nullopt, std::nullopt};
    }
    return out;
  };
}

TEST(NodeGuard, OffByDefault) {
  NodeGuard g(Settings{});
  g.enrol({"n1", 1000, 1000}, 0);
  EXPECT_TRUE(run(g, 0, 3600, quiet, constantCpu(90)).empty());
  Settings off = linksOn();
  off.enabled = false;  // [treeguard] enabled = false turns the links part off too
  NodeGuard none(off);
  none.enrol({"n1", 1000, 1000}, 0);
  EXPECT_TRUE(run(none, 0, 3600, quiet, constantCpu(90)).empty());
}

TEST(NodeGuard, OnlyAllowlistedNodesWhenNotAllNodes) {
  Settings s = linksOn();
  s.links.allNodes = false;
  s.links.nodes = {"b"};
  NodeGuard g(s);
  g.enrol({"a", 1000, 1000}, 0);
  g.enrol({"b", 1000, 1000}, 0);
  auto events = run(g, 0, 1200, quiet, constantCpu(80));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].change.nodeId, "b");
}

TEST(NodeGuard, IdleNodeBecomesVirtualAndTrafficRestoresItAtOnce) {
  NodeGuard g(linksOn());
  g.enrol({"n1", 1000, 1000}, 0);
  auto events =
      run(g, 0, 1200, traffic("n1", 600, [](double t) { return t >= 1020; }), constantCpu(80));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].t, 900);
  EXPECT_TRUE(events[0].change.toVirtual);
  EXPECT_EQ(events[1].t, 1020);  // EWMA 6 % >= 5 %, inside the dwell: restores are not held
  EXPECT_FALSE(events[1].change.toVirtual);
  EXPECT_NE(events[1].change.why.find("traffic"), std::string::npos);
  EXPECT_EQ(g.isVirtual("n1"), false);
  // Below cpu_high_pct nothing is virtualised.
  NodeGuard cool(linksOn());
  cool.enrol({"n1", 1000, 1000}, 0);
  EXPECT_TRUE(run(cool, 0, 3600, quiet, constantCpu(70)).empty());
}

TEST(NodeGuard, UploadTrafficAloneRestores) {
  NodeGuard g(linksOn());
  g.enrol({"n1", 1000, 100}, 0);
  auto up = [](double t) {
    NodeSignals out;
    if (t >= 1020) {
      out["n1"] = NodeSignal{0, 60, true, std::nullopt, std::nullopt};  // 60 % of 100
    }
    return out;
  };
  auto events = run(g, 0, 1200, up, constantCpu(80));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].t, 1020);  // upload EWMA 6 % >= 5 %
  EXPECT_FALSE(events[1].change.toVirtual);
}

TEST(NodeGuard, DwellHoldsTheNextVirtualisation) {
  NodeGuard g(linksOn());
  g.enrol({"n1", 1000, 1000}, 0);
  auto events =
      run(g, 0, 3600, traffic("n1", 600, [](double t) { return t == 1020; }), constantCpu(80));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].t, 1020);
  // Idle again from 1680 (6 x 0.9^11 < 2 %), sustained at 2580, but the dwell from the restore
  // at 1020 lasts until 2820.
  EXPECT_EQ(events[2].t, 2820);
  EXPECT_TRUE(events[2].change.toVirtual);
}

TEST(NodeGuard, HourlyLimitHoldsTheThirdChange) {
  Settings s = linksOn();
  s.links.minStateDwellMinutes = 0;
  s.links.maxLinkChangesPerHour = 2;
  NodeGuard g(s);
  g.enrol({"n1", 1000, 1000}, 0);
  auto events =
      run(g, 0, 5000, traffic("n1", 600, [](double t) { return t == 1020; }), constantCpu(80));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].t, 4500);  // not 2580: the change at 900 leaves the hour at 4500
}

TEST(NodeGuard, MissingRttRestoresANodeThatIsNoLongerIdle) {
  // 3 % (above idle, below unvirtualize_util_pct) with no RTT sample: the EWMA reaches 2 % at
  // 1560 (idle ends) and the last RTT was at enrolment: restore.
  NodeGuard g(linksOn());
  g.enrol({"n1", 1000, 1000}, 0);
  auto events = run(g, 0, 2000,
                    traffic(
                        "n1", 30, [](double t) { return t >= 960; }, false),
                    constantCpu(80));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].t, 1560);
  EXPECT_NE(events[1].change.why.find("no RTT"), std::string::npos) << events[1].change.why;
  // The same traffic with RTT samples keeps it virtual.
  NodeGuard seen(linksOn());
  seen.enrol({"n1", 1000, 1000}, 0);
  EXPECT_EQ(run(seen, 0, 2000,
                traffic(
                    "n1", 30, [](double t) { return t >= 960; }, true),
                constantCpu(80))
                .size(),
            1u);
}

TEST(NodeGuard, PoorQualityRestoresAndBlocks) {
  auto poor = [](double from) {
    return [from](double t) {
      NodeSignals out;
      if (t >= from) {
        out["n1"] = NodeSignal{0, 0, false, std::nullopt, 40.0};
      }
      return out;
    };
  };
  NodeGuard g(linksOn());
  g.enrol({"n1", 1000, 1000}, 0);
  auto events = run(g, 0, 1200, poor(960), constantCpu(80));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].t, 960);
  NodeGuard blocked(linksOn());
  blocked.enrol({"n1", 1000, 1000}, 0);
  EXPECT_TRUE(run(blocked, 0, 3600, poor(0), constantCpu(80)).empty());
}

TEST(NodeGuard, EnrolmentPerTickBudgetAndTheVirtualCap) {
  Settings s = linksOn();
  s.links.allNodes = false;
  for (int i = 0; i < 70; ++i) {
    s.links.nodes.push_back(fmt::format("n{:02}", i));
  }
  s.links.nodes.push_back("n-plan");
  NodeGuard g(s);
  for (int i = 0; i < 70; ++i) {
    g.enrol({fmt::format("n{:02}", i), 1000, 1000}, 0);
  }
  g.enrol({"unlisted", 1000, 1000}, 0);
  g.enrol({"n-plan", 1000, 1000, true}, 0);  // virtual in network.json: never managed
  auto events = run(g, 0, 900 + 20 * 60, quiet, constantCpu(80));
  size_t at900 = 0;
  for (const auto& e : events) {
    at900 += e.t == 900;
    EXPECT_NE(e.change.nodeId, "unlisted");
    EXPECT_NE(e.change.nodeId, "n-plan");
  }
  EXPECT_EQ(at900, kMaxNodeChangesPerTick);    // 4
  EXPECT_EQ(events.size(), kMaxVirtualNodes);  // 64 of the 70, 4 a tick
  EXPECT_EQ(g.virtualCount(), 64u);
}

TEST(NodeGuard, FailedVirtualisationBacksOff) {
  NodeGuard g(linksOn());
  g.enrol({"n1", 1000, 1000}, 0);
  run(g, 0, 900, quiet, constantCpu(80));
  auto first = g.tick({}, 80, 900);
  ASSERT_EQ(first.size(), 1u);
  g.reportApplied(first[0], false, 900);
  auto events = run(g, 960, 2000, quiet, constantCpu(80));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].t, 1800);  // 900 + 15 min
}

}  // namespace
}  // namespace sluice::treeguard
