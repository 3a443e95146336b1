// [treeguard] settings read from the loaded config, and a recorded trace replayed end to end.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/Diagnostics.h"
#include "config/ConfigLoader.h"
#include "treeguard/Settings.h"
#include "treeguard/Trace.h"

namespace sluice::treeguard {
namespace {

TEST(TreeguardSettings, DefaultsAreLibreQoSs) {
  auto s = readSettings(config::Config{});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->enabled);
  EXPECT_FALSE(s->dryRun);
  EXPECT_EQ(s->tickSeconds, 1u);
  EXPECT_EQ(s->cpu.mode, CpuMode::CpuAware);
  EXPECT_EQ(s->cpu.cpuHighPct, 75);
  EXPECT_EQ(s->cpu.cpuLowPct, 55);
  EXPECT_FALSE(s->links.enabled);
  EXPECT_EQ(s->links.unvirtualizeUtilPct, 5.0);
  EXPECT_EQ(s->links.maxLinkChangesPerHour, 4u);
  EXPECT_EQ(s->links.topLevelSafeUtilPct, 85);
  EXPECT_TRUE(s->circuits.enabled);
  EXPECT_EQ(s->circuits.idleMinMinutes, 15u);
  EXPECT_EQ(s->circuits.minSwitchDwellMinutes, 30u);
  EXPECT_EQ(s->circuits.maxSwitchesPerHour, 4u);
  EXPECT_EQ(s->circuits.upgradeUtilPct, 5.0);
  EXPECT_TRUE(s->qoo.enabled);
  EXPECT_EQ(s->qoo.minScore, 70);
}

TEST(TreeguardSettings, ReadsNestedKeys) {
  config::Config c;
  c.otherSections["treeguard"] = {
      {"dry_run", "true"},
      {"tick_seconds", "2"},
      {"cpu.mode", "\"traffic_rtt_only\""},
      {"cpu.cpu_high_pct", "80"},
      {"links.enabled", "true"},
      {"links.all_nodes", "false"},
      {"links.nodes", "[ \"Site A\", \"Site B\" ]"},
      {"links.idle_min_minutes", "20"},
      {"circuits.circuits", "[ \"c1\" ]"},
      {"circuits.independent_directions", "false"},
      {"circuits.upgrade_util_pct", "6.5"},
      {"circuits.max_switches_per_hour", "2"},
      {"qoo.min_score", "60"},
  };
  auto s = readSettings(c);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->dryRun);
  EXPECT_EQ(s->tickSeconds, 2u);
  EXPECT_EQ(s->cpu.mode, CpuMode::TrafficRttOnly);
  EXPECT_EQ(s->cpu.cpuHighPct, 80);
  EXPECT_TRUE(s->links.enabled);
  EXPECT_FALSE(s->links.allNodes);
  EXPECT_EQ(s->links.nodes, (std::vector<std::string>{"Site A", "Site B"}));
  EXPECT_EQ(s->links.idleMinMinutes, 20u);
  EXPECT_EQ(s->circuits.circuits, (std::vector<std::string>{"c1"}));
  EXPECT_FALSE(s->circuits.independentDirections);
  EXPECT_EQ(s->circuits.upgradeUtilPct, 6.5);
  EXPECT_EQ(s->circuits.maxSwitchesPerHour, 2u);
  EXPECT_EQ(s->qoo.minScore, 60);
}

// The LibreQoS example lqos.conf sets every [treeguard] key to a non-default value; read through
// the real loader, each must arrive.
TEST(TreeguardSettings, EveryKeyFromTheLibreQoSExampleConfig) {
  Diagnostics diags;
  auto config =
      config::loadConfig(SLUICE_TEST_DATA_DIR "/config/lqos-libreqos-example.conf", diags);
  ASSERT_TRUE(config);
  auto s = readSettings(*config);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_FALSE(s->enabled);
  EXPECT_TRUE(s->dryRun);
  EXPECT_EQ(s->tickSeconds, 2u);
  EXPECT_EQ(s->cpu.mode, CpuMode::TrafficRttOnly);
  EXPECT_EQ(s->cpu.cpuHighPct, 80);
  EXPECT_EQ(s->cpu.cpuLowPct, 50);
  const LinkSettings& l = s->links;
  EXPECT_FALSE(l.enabled);
  EXPECT_FALSE(l.allNodes);
  EXPECT_EQ(l.nodes, (std::vector<std::string>{"Tower-North", "Tower-South"}));
  EXPECT_EQ(l.idleUtilPct, 1.5);
  EXPECT_EQ(l.idleMinMinutes, 20u);
  EXPECT_EQ(l.rttMissingSeconds, 90u);
  EXPECT_EQ(l.unvirtualizeUtilPct, 6.5);
  EXPECT_EQ(l.minStateDwellMinutes, 45u);
  EXPECT_EQ(l.maxLinkChangesPerHour, 3u);
  EXPECT_EQ(l.reloadCooldownMinutes, 12u);
  EXPECT_FALSE(l.topLevelAutoVirtualize);
  EXPECT_EQ(l.topLevelSafeUtilPct, 70.0);
  const CircuitSettings& c = s->circuits;
  EXPECT_FALSE(c.enabled);
  EXPECT_FALSE(c.allCircuits);
  EXPECT_EQ(c.circuits, (std::vector<std::string>{"circuit-17"}));
  EXPECT_FALSE(c.switchingEnabled);
  EXPECT_FALSE(c.independentDirections);
  EXPECT_EQ(c.idleUtilPct, 3.0);
  EXPECT_EQ(c.idleMinMinutes, 10u);
  EXPECT_EQ(c.rttMissingSeconds, 60u);
  EXPECT_EQ(c.upgradeUtilPct, 7.5);
  EXPECT_EQ(c.minSwitchDwellMinutes, 20u);
  EXPECT_EQ(c.maxSwitchesPerHour, 2u);
  EXPECT_FALSE(c.persistSqmOverrides);
  EXPECT_FALSE(s->qoo.enabled);
  EXPECT_EQ(s->qoo.minScore, 65.0);
}

TEST(TreeguardSettings, ErrorsNameTheKeyAndValue) {
  auto check = [](std::map<std::string, std::string> keys, const std::string& key) {
    config::Config c;
    c.otherSections["treeguard"] = std::move(keys);
    auto s = readSettings(c);
    ASSERT_FALSE(s) << key;
    EXPECT_NE(s.error().message().find(key), std::string::npos) << s.error().message();
  };
  check({{"cpu.cpu_low_pct", "90"}}, "treeguard.cpu.cpu_low_pct = 90");
  check({{"circuits.upgrade_util_pct", "1"}}, "treeguard.circuits.upgrade_util_pct = 1");
  check({{"links.unvirtualize_util_pct", "1"}}, "treeguard.links.unvirtualize_util_pct = 1");
  check({{"cpu.mode", "\"turbo\""}}, "treeguard.cpu.mode = \"turbo\"");
  check({{"tick_seconds", "0"}}, "treeguard.tick_seconds = 0");
}

// A value of the wrong type is the schema's to report (with file, line and value) when the config
// is loaded; readSettings reads configs that passed it.
TEST(TreeguardSettings, WrongTypesAreTheLoadersErrors) {
  Diagnostics diags;
  auto config = config::parseConfig("[treeguard.links]\nenabled = 1\n", "lqos.conf", diags);
  EXPECT_FALSE(config.has_value());
  EXPECT_TRUE(diags.hasErrors());
  bool named = false;
  for (const auto& d : diags.errors()) {
    named = named || d.toString().find("enabled") != std::string::npos;
  }
  EXPECT_TRUE(named);
}

TEST(TreeguardTrace, RecordedEvening) {
  std::ifstream in(SLUICE_TEST_DATA_DIR "/treeguard/evening.trace");
  std::stringstream text;
  text << in.rdbuf();
  auto trace = parseTrace(text.str(), "evening.trace");
  ASSERT_TRUE(trace) << trace.error().message();
  ASSERT_EQ(trace->ticks.size(), 90u);
  Settings s;
  s.links.enabled = true;
  std::vector<std::string> got;
  for (const TraceStep& step : replay(s, *trace)) {
    for (const SqmChange& c : step.sqm) {
      got.push_back(fmt::format("{} {}/{} {}", step.timeSeconds, c.circuitId,
                                directionName(c.direction), sqmName(c.to)));
    }
    for (const NodeChange& n : step.nodes) {
      got.push_back(fmt::format("{} {} {}", step.timeSeconds, n.nodeId,
                                n.toVirtual ? "virtual" : "restored"));
    }
  }
  const std::vector<std::string> want{
      // 15 min idle at 85 % CPU: the idle circuits' CAKE directions and the idle node.
      "900 fqbase/up fq_codel", "900 quiet/down fq_codel", "900 quiet/up fq_codel",
      "900 site virtual",
      // 10 Mbit/s on quiet's 50 Mbit/s download from 3000: EWMA 2.0, 3.8, 5.4 % -> CAKE.
      "3120 quiet/down cake",
      // The busiest core falls to 50 % (<= cpu_low_pct) at 3300: the rest go back to CAKE.
      "3300 fqbase/up cake", "3300 quiet/up cake",
      // 100 Mbit/s through the site from 3600: its EWMA reaches 5 % on the seventh tick.
      "3960 site restored"};
  EXPECT_EQ(got, want);
}

TEST(TreeguardTrace, ErrorsNameTheLine) {
  auto expectError = [](const std::string& text, const std::string& where,
                        const std::string& value) {
    auto t = parseTrace(text, "x.trace");
    ASSERT_FALSE(t) << text;
    EXPECT_NE(t.error().message().find(where), std::string::npos) << t.error().message();
    EXPECT_NE(t.error().message().find(value), std::string::npos) << t.error().message();
  };
  expectError("circuit,c1,100,20\ntick,0,80\nc2,1,1\n", "x.trace:3", "c2");
  expectError("circuit,c1,100,20\ntick,0,80\nc1,ten,1\n", "x.trace:3", "ten");
  expectError("circuit,c1,100,20\ntick,60,80\ntick,60,80\n", "x.trace:3", "60");
  expectError("circuit,c1,100,20,cake,codel\n", "x.trace:1", "codel");
  expectError("circuit,c1,100,20\ncircuit,c1,10,10\n", "x.trace:2", "c1");
  expectError("circuit,c1,100,20\nc1,1,1\n", "x.trace:2", "before the first tick");
}

}  // namespace
}  // namespace sluice::treeguard
