// UISP device capacity rules (UispCapacity.h) one by one, and client-name normalisation.

#include "integrations/UispCapacity.h"

#include <gtest/gtest.h>

namespace sluice::integrations::uisp {
namespace {

constexpr double kM = 1e6;

Device airmaxAp() {
  Device d;
  d.id = "ap";
  d.type = "airMax";
  d.role = "ap";
  d.model = "R5AC-PTMP";
  d.wirelessMode = "ap-ptmp";
  d.totalCapacityBps = 500 * kM;
  d.downlinkCapacityBps = 450 * kM;
  d.uplinkCapacityBps = 300 * kM;
  Interface wlan;
  wlan.type = "wlan";
  wlan.name = "wlan0";
  d.interfaces.push_back(wlan);
  return d;
}

TEST(UispCapacity, FlexibleFrameSplitsTheTotalByTheActiveDlRatio) {
  CapacityRules rules;
  Device d = airmaxAp();
  d.interfaces[0].dlRatio = 75;  // a percentage
  d.wirelessActiveInterfaceIds = {"wlan0"};
  Capacity c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 375);
  EXPECT_EQ(c.uploadMbps, 125);
  d.interfaces[0].dlRatio = 0.6;  // a fraction
  c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 300);
  EXPECT_EQ(c.uploadMbps, 200);
  rules.airmaxCapacity = 0.8;
  c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 240);
  EXPECT_EQ(c.uploadMbps, 160);
}

TEST(UispCapacity, FlexibleFrameWithoutDlRatioUsesTheConfiguredRatioAndTheStrongerSide) {
  CapacityRules rules;
  rules.airmaxDownloadRatio = 0.7;
  Device d = airmaxAp();
  d.theoreticalTotalCapacityBps = 600 * kM;  // marks flexible framing
  d.totalCapacityBps.reset();                // max(450, 300) = 450
  Capacity c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 315);
  EXPECT_EQ(c.uploadMbps, 135);
}

TEST(UispCapacity, OtherRadiosUseTheirDirectionalCapacityWithModelMultipliers) {
  CapacityRules rules;
  rules.airmaxCapacity = 0.5;
  rules.ltuCapacity = 0.25;
  Device d = airmaxAp();  // no dlRatio, no theoretical capacity: not flexible frame
  Capacity c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 225);  // 450 x 0.5 (model contains 5AC)
  EXPECT_EQ(c.uploadMbps, 150);
  d.model = "LTU-Rocket";
  c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 112);  // 450 x 0.25, rounded down
  EXPECT_EQ(c.uploadMbps, 75);
  d.model = "EdgeRouter";
  d.downlinkCapacityBps.reset();
  d.uplinkCapacityBps = 0;
  rules.generatedDownloadMbps = 800;
  rules.generatedUploadMbps = 200;
  c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 800);  // nothing reported: the generated rate
  EXPECT_EQ(c.uploadMbps, 200);
}

TEST(UispCapacity, TransportCapFromTheFastestPortElseTheModelCeiling) {
  CapacityRules rules;
  Device d;
  d.model = "AF-5XHD";
  d.downlinkCapacityBps = 1400 * kM;
  d.uplinkCapacityBps = 300 * kM;
  Interface slow;
  slow.type = "eth";
  slow.name = "eth0";
  slow.currentSpeed = "100-full";
  Interface fast;
  fast.type = "";
  fast.name = "sfp1";
  fast.speed = "1Gbps";
  fast.status = "connected";
  Interface down;
  down.type = "eth";
  down.name = "eth1";
  down.speed = "10000";
  down.status = "disconnected";  // plain speed of a port that is not up: ignored
  d.interfaces = {slow, fast, down};
  EXPECT_EQ(transportLineRateMbps(d), 1000);
  EXPECT_EQ(subscriberEthernetMbps(d), 100);
  Capacity c = deviceCapacity(d, rules);
  EXPECT_EQ(c.downloadMbps, 940);
  EXPECT_EQ(c.uploadMbps, 300);
  EXPECT_EQ(c.transportCapMbps, 940);
  rules.transportCaps = false;
  EXPECT_EQ(deviceCapacity(d, rules).downloadMbps, 1400);

  rules.transportCaps = true;
  Device af60;
  af60.model = "AF60-LR";
  af60.downlinkCapacityBps = 1800 * kM;
  af60.uplinkCapacityBps = 1800 * kM;
  c = deviceCapacity(af60, rules);
  EXPECT_EQ(c.downloadMbps, 940);
  EXPECT_EQ(c.uploadMbps, 940);
}

TEST(UispCapacity, SpeedTexts) {
  EXPECT_EQ(parseSpeedMbps("1000-full"), 1000);
  EXPECT_EQ(parseSpeedMbps("100Mbps-Full"), 100);
  EXPECT_EQ(parseSpeedMbps("2.5Gbps"), 2500);
  EXPECT_EQ(parseSpeedMbps("10G"), 10000);
  EXPECT_FALSE(parseSpeedMbps("auto"));
  EXPECT_FALSE(parseSpeedMbps(""));
  EXPECT_FALSE(parseSpeedMbps("0"));
}

TEST(UispNames, LastCommaFirstIsTurnedAroundForPeopleOnly) {
  EXPECT_EQ(normaliseClientName("Anderson, Anna"), "Anna Anderson");
  EXPECT_EQ(normaliseClientName("  Ito ,  Ivy "), "Ivy Ito");
  EXPECT_EQ(normaliseClientName("Bob's Bakery, LLC"), "Bob's Bakery, LLC");
  EXPECT_EQ(normaliseClientName("Acme, Inc."), "Acme, Inc.");
  EXPECT_EQ(normaliseClientName("Unit 4, Smith"), "Unit 4, Smith");
  EXPECT_EQ(normaliseClientName("A, B, C"), "A, B, C");
  EXPECT_EQ(normaliseClientName("Plain Name"), "Plain Name");
  EXPECT_EQ(normaliseClientName("Smith,"), "Smith,");
}

}  // namespace
}  // namespace sluice::integrations::uisp
