// delay_probe_active's pure parts: the blend of the active and passive RTT, the validity window
// of an active sample, and the settings it needs (shared/reference §2). The ICMP probe itself
// runs against a real kernel in tests/integration/stormguard/IcmpProbeTest.cpp.

#include <gtest/gtest.h>

#include "common/Diagnostics.h"
#include "config/ConfigLoader.h"
#include "stormguard/ActivePinger.h"
#include "stormguard/IcmpProbe.h"
#include "stormguard/Settings.h"

namespace sluice::stormguard {
namespace {

TEST(ActiveProbeBlend, WeightsBothOrTakesWhicheverExists) {
  EXPECT_DOUBLE_EQ(*blendRtt(10.0, 110.0, 0.7), 0.7 * 110 + 0.3 * 10);
  EXPECT_DOUBLE_EQ(*blendRtt(10.0, 110.0, 0.0), 10.0);
  EXPECT_DOUBLE_EQ(*blendRtt(10.0, 110.0, 1.0), 110.0);
  EXPECT_DOUBLE_EQ(*blendRtt(std::nullopt, 42.0, 0.7), 42.0);
  EXPECT_DOUBLE_EQ(*blendRtt(17.0, std::nullopt, 0.7), 17.0);
  EXPECT_FALSE(blendRtt(std::nullopt, std::nullopt, 0.7).has_value());
}

TEST(ActiveProbeBlend, EveryNodeTakesTheActiveSampleOnlyWhenThereIsOne) {
  std::map<std::string, NodeSignals> signals;
  signals["A"].rttMs = 20.0;
  signals["B"];  // no passive RTT: idle or no TCP timestamps
  blendActive(signals, std::nullopt, 0.5);
  EXPECT_DOUBLE_EQ(*signals["A"].rttMs, 20.0);
  EXPECT_FALSE(signals["B"].rttMs.has_value());
  blendActive(signals, 60.0, 0.5);
  EXPECT_DOUBLE_EQ(*signals["A"].rttMs, 40.0);
  EXPECT_DOUBLE_EQ(*signals["B"].rttMs, 60.0);
}

TEST(ActiveProbeBlend, ASampleIsValidForThreeIntervalsBetweenFiveAndThreeHundredSeconds) {
  EXPECT_DOUBLE_EQ(activeSampleValiditySeconds(10), 30);
  EXPECT_DOUBLE_EQ(activeSampleValiditySeconds(1), 5);
  EXPECT_DOUBLE_EQ(activeSampleValiditySeconds(200), 300);
}

std::optional<config::Config> parse(const std::string& stormguard, Diagnostics& diags) {
  return config::parseConfig(
      "[bridge]\nto_internet = \"eth0\"\nto_network = \"eth1\"\n[stormguard]\n" + stormguard,
      "lqos.conf", diags);
}

TEST(ActiveProbeSettings, TheTargetMustBeAnAddressUnderTheActiveStrategy) {
  Diagnostics diags;
  // The config loader refuses a host name (file:line:column, tests/unit/config); readSettings
  // refuses it too for a config built in memory.
  EXPECT_FALSE(parse("enabled = true\ntargets = [\"A\"]\nstrategy = \"delay_probe_active\"\n"
                     "active_ping_target = \"one.one.one.one\"\n",
                     diags));
  auto passiveFirst = parse("enabled = true\ntargets = [\"A\"]\nactive_ping_target = \"x\"\n", diags);
  ASSERT_TRUE(passiveFirst);
  passiveFirst->otherSections["stormguard"]["strategy"] = "\"delay_probe_active\"";
  auto s = readSettings(*passiveFirst);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("active_ping_target"), std::string::npos)
      << s.error().message();

  auto v6 = parse("enabled = true\ntargets = [\"A\"]\nstrategy = \"delay_probe_active\"\n"
                  "active_ping_target = \"2606:4700:4700::1111\"\nactive_ping_weight = 0.5\n",
                  diags);
  ASSERT_TRUE(v6);
  auto ok = readSettings(*v6);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->activePingTarget, "2606:4700:4700::1111");
  EXPECT_DOUBLE_EQ(ok->activePingWeight, 0.5);

  // The passive strategy never pings, so its target is not checked.
  auto passive = parse("enabled = true\ntargets = [\"A\"]\nactive_ping_target = \"x\"\n", diags);
  ASSERT_TRUE(passive);
  EXPECT_TRUE(readSettings(*passive));
}

TEST(ActiveProbeSettings, OpenRefusesAHostName) {
  auto p = IcmpProbe::open("one.one.one.one");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().errnum, EINVAL);
}

TEST(ActivePinger, OffUnlessEnabledWithTheActiveStrategy) {
  ActivePinger pinger;
  Settings s;
  s.enabled = true;
  s.strategy = "delay_probe";
  pinger.configure(s);
  EXPECT_TRUE(pinger.status().is_null());
  EXPECT_FALSE(pinger.latestMs());
}

}  // namespace
}  // namespace sluice::stormguard
