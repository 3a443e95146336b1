// Defaults, fixtures and storage of the lqos.conf loader.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ConfigTestUtil.h"

namespace sluice::config {
namespace {

using testing::parse;

const std::string kDataDir = SLUICE_TEST_DATA_DIR "/config/";

TEST(ConfigDefaults, MinimalBridgeConfigGetsLibreQosDefaults) {
  Diagnostics diags;
  auto config = parse("[bridge]\n", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(diags.all().size(), 0u) << testing::dump(diags);

  EXPECT_EQ(config->version, "1.5");
  EXPECT_EQ(config->lqosDirectory, "/opt/libreqos/src");
  EXPECT_EQ(config->nodeName, "LibreQoS");
  EXPECT_EQ(config->packetCaptureTimeSeconds, 10u);
  EXPECT_EQ(config->queueCheckPeriodMs, 1000u);

  ASSERT_TRUE(config->bridge);
  EXPECT_FALSE(config->onAStick());
  EXPECT_TRUE(config->bridge->useXdpBridge);
  EXPECT_EQ(config->bridge->toInternet, "eth0");
  EXPECT_EQ(config->bridge->toNetwork, "eth1");

  const QueuesConfig& q = config->queues;
  EXPECT_EQ(q.defaultSqm, "cake diffserv4");
  EXPECT_EQ(q.queueMode, QueueMode::Shape);
  EXPECT_FALSE(q.monitorOnly);
  EXPECT_EQ(q.uplinkBandwidthMbps, 1000);
  EXPECT_EQ(q.downlinkBandwidthMbps, 1000);
  EXPECT_EQ(q.generatedPnDownloadMbps, 1000);
  EXPECT_EQ(q.generatedPnUploadMbps, 1000);
  EXPECT_FALSE(q.dryRun);
  EXPECT_FALSE(q.sudo);
  EXPECT_FALSE(q.overrideAvailableQueues);
  EXPECT_FALSE(q.useBinpacking);
  EXPECT_EQ(q.lazyQueues, LazyQueues::No);
  EXPECT_EQ(q.lazyExpireSeconds, 600u);
  EXPECT_FALSE(q.lazyThresholdBytes);
  EXPECT_FALSE(q.fastQueuesFqCodel);

  EXPECT_EQ(config->defaultLeaf.kind, plan::LeafKind::Cake);
  EXPECT_EQ(config->defaultLeaf.cake.diffserv, plan::CakeDiffserv::Diffserv4);

  EXPECT_TRUE(config->ipRanges.ignoreSubnets.empty());
  EXPECT_EQ(
      config->ipRanges.allowSubnets,
      (std::vector<std::string>{"172.16.0.0/12", "10.0.0.0/8", "100.64.0.0/10", "192.168.0.0/16"}));
  EXPECT_TRUE(config->ipRanges.unknownIpHonorsIgnore);
  EXPECT_TRUE(config->ipRanges.unknownIpHonorsAllow);

  EXPECT_EQ(config->sluice.networkJson, "/opt/libreqos/src/network.json");
  EXPECT_EQ(config->sluice.shapedDevicesCsv, "/opt/libreqos/src/ShapedDevices.csv");
  EXPECT_EQ(config->sluice.stateDirectory, "/var/lib/sluice");
  EXPECT_EQ(config->sluice.leafFallback, "");
  EXPECT_EQ(config->sluice.controlSocket, "/run/sluice/sluiced.sock");
  EXPECT_EQ(config->sluice.webserverListen, "127.0.0.1:9123");
  EXPECT_TRUE(config->otherSections.empty());
}

TEST(ConfigDefaults, EmptySingleInterfaceGetsLibreQosDefaults) {
  Diagnostics diags;
  auto config = parse("[single_interface]\n", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  ASSERT_TRUE(config->onAStick());
  EXPECT_FALSE(config->bridge);
  EXPECT_EQ(config->singleInterface->interface, "eth0");
  EXPECT_EQ(config->singleInterface->internetVlan, 2);
  EXPECT_EQ(config->singleInterface->networkVlan, 3);
}

TEST(ConfigDefaults, SluicePathsFollowLqosDirectory) {
  Diagnostics diags;
  auto config = parse("lqos_directory = \"/srv/lq\"\n[bridge]\n", diags);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->sluice.networkJson, "/srv/lq/network.json");
  EXPECT_EQ(config->sluice.shapedDevicesCsv, "/srv/lq/ShapedDevices.csv");
}

TEST(ConfigQueues, LegacyMonitorOnlyMeansObserveWhenQueueModeAbsent) {
  Diagnostics diags;
  auto config = parse("[bridge]\n[queues]\nmonitor_only = true\n", diags);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->queues.queueMode, QueueMode::Observe);
  EXPECT_TRUE(config->queues.monitorOnly);
}

TEST(ConfigQueues, QueueModeWinsOverMonitorOnly) {
  Diagnostics diags;
  auto config = parse("[bridge]\n[queues]\nmonitor_only = true\nqueue_mode = \"shape\"\n", diags);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->queues.queueMode, QueueMode::Shape);
}

TEST(ConfigQueues, OverrideAvailableQueuesZeroMeansUnset) {
  Diagnostics diags;
  auto config = parse("[bridge]\n[queues]\noverride_available_queues = 0\n", diags);
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->queues.overrideAvailableQueues);
}

TEST(ConfigQueues, LazyQueuesFull) {
  Diagnostics diags;
  auto config = parse("[bridge]\n[queues]\nlazy_queues = \"Full\"\n", diags);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->queues.lazyQueues, LazyQueues::Full);
}

TEST(ConfigFixtures, LibreQosExampleLoadsCleanly) {
  Diagnostics diags;
  auto config = loadConfig(kDataDir + "lqos-libreqos-example.conf", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(diags.errorCount(), 0u) << testing::dump(diags);
  EXPECT_EQ(diags.warningCount(), 0u) << testing::dump(diags);

  EXPECT_EQ(config->nodeId, "fixture-node-0001");
  EXPECT_EQ(config->nodeName, "Fixture shaper");
  EXPECT_EQ(config->packetCaptureTimeSeconds, 12u);
  EXPECT_EQ(config->queueCheckPeriodMs, 750u);
  ASSERT_TRUE(config->bridge);
  EXPECT_FALSE(config->bridge->useXdpBridge);
  EXPECT_EQ(config->bridge->toInternet, "enp3s0f0");
  EXPECT_EQ(config->bridge->toNetwork, "enp3s0f1");
  EXPECT_EQ(config->queues.uplinkBandwidthMbps, 2500);
  EXPECT_EQ(config->queues.downlinkBandwidthMbps, 5000);
  EXPECT_EQ(config->queues.generatedPnDownloadMbps, 800);
  EXPECT_EQ(config->queues.generatedPnUploadMbps, 400);
  EXPECT_TRUE(config->queues.dryRun);
  EXPECT_TRUE(config->queues.useBinpacking);
  EXPECT_EQ(config->queues.overrideAvailableQueues, 6u);
  EXPECT_EQ(config->defaultLeaf.kind, plan::LeafKind::Cake);
  EXPECT_TRUE(config->defaultLeaf.cake.ackFilter);
  EXPECT_EQ(config->ipRanges.ignoreSubnets, std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_EQ(config->ipRanges.allowSubnets.size(), 3u);
  EXPECT_EQ(config->sluice.networkJson, "/srv/shaper/lqos/network.json");

  const auto& other = config->otherSections;
  for (const char* section :
       {"", "tuning", "treeguard", "long_term_stats", "integration_common", "splynx_integration",
        "netzur_integration", "visp_integration", "uisp_integration", "powercode_integration",
        "sonar_integration", "influxdb"}) {
    EXPECT_TRUE(other.contains(section)) << section;
  }
  EXPECT_FALSE(other.contains("queues"));
  EXPECT_EQ(other.at("").at("enable_circuit_heatmaps"), "false");
  EXPECT_EQ(other.at("tuning").at("disable_offload"), "[ \"gro\", \"lro\" ]");
  EXPECT_EQ(other.at("treeguard").at("cpu.mode"), "\"traffic_rtt_only\"");
  EXPECT_EQ(other.at("treeguard").at("links.idle_util_pct"), "1.5");
  EXPECT_EQ(other.at("treeguard").at("qoo.min_score"), "65.0");
  EXPECT_EQ(other.at("uisp_integration").at("exception_cpes"),
            "[ { \"cpe\" = \"cpe-barn\", \"parent\" = \"Tower-North\" } ]");
  EXPECT_EQ(other.at("visp_integration").at("isp_id"), "42");
  EXPECT_EQ(other.at("integration_common").at("queue_refresh_interval_mins"), "15");
}

TEST(ConfigFixtures, BridgeMode) {
  Diagnostics diags;
  auto config = loadConfig(kDataDir + "lqos-bridge.conf", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(diags.all().size(), 0u) << testing::dump(diags);
  ASSERT_TRUE(config->bridge);
  EXPECT_FALSE(config->singleInterface);
  EXPECT_EQ(config->bridge->toInternet, "ens1f0");
  EXPECT_EQ(config->bridge->toNetwork, "ens1f1");
  EXPECT_EQ(config->queues.queueMode, QueueMode::Observe);
  EXPECT_DOUBLE_EQ(config->queues.uplinkBandwidthMbps, 9400.5);
  EXPECT_EQ(config->queues.lazyQueues, LazyQueues::Htb);
  EXPECT_EQ(config->queues.lazyExpireSeconds, 900u);
  EXPECT_EQ(config->queues.lazyThresholdBytes, 65536u);
  EXPECT_EQ(config->queues.fastQueuesFqCodel, 2000.0);
  EXPECT_EQ(config->defaultLeaf.kind, plan::LeafKind::FqCodel);
  EXPECT_EQ(config->defaultLeaf.fqCodel.targetUs, 5000u);
  EXPECT_EQ(config->defaultLeaf.fqCodel.intervalUs, 100'000u);
  EXPECT_TRUE(config->defaultLeaf.fqCodel.ecn);
  EXPECT_FALSE(config->ipRanges.unknownIpHonorsIgnore);
  EXPECT_EQ(config->ipRanges.allowSubnets, std::vector<std::string>{"100.64.0.0/10"});
  // lqos_directory ends in '/': no doubled separator.
  EXPECT_EQ(config->sluice.networkJson, "/opt/libreqos/src/network.json");
  EXPECT_EQ(config->sluice.stateDirectory, "/var/lib/sluice-test");
  EXPECT_EQ(config->sluice.leafFallback, "pfifo limit 1000");
  EXPECT_EQ(config->sluice.controlSocket, "/run/sluice/test.sock");
  EXPECT_EQ(config->sluice.webserverListen, "[::1]:9124");
  EXPECT_EQ(config->otherSections.at("flows").at("netflow_port"), "2055");
  EXPECT_EQ(config->otherSections.at("stormguard").at("strategy"), "\"delay_probe\"");
  EXPECT_EQ(config->otherSections.at("usage_stats").at("send_anonymous"), "false");
  EXPECT_EQ(config->otherSections.at("wispgate_integration").at("wispgate_api_url"),
            "\"https://wispgate.example.net\"");
  EXPECT_EQ(config->otherSections.at("long_term_stats").at("use_insight"), "false");
}

TEST(ConfigFixtures, OnAStick) {
  Diagnostics diags;
  auto config = loadConfig(kDataDir + "lqos-on-a-stick.conf", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(diags.all().size(), 0u) << testing::dump(diags);
  ASSERT_TRUE(config->onAStick());
  EXPECT_FALSE(config->bridge);
  EXPECT_EQ(config->singleInterface->interface, "bond0.100");
  EXPECT_EQ(config->singleInterface->internetVlan, 10);
  EXPECT_EQ(config->singleInterface->networkVlan, 20);
  EXPECT_EQ(config->queues.overrideAvailableQueues, 4u);
  const plan::LeafSpec& leaf = config->defaultLeaf;
  EXPECT_EQ(leaf.kind, plan::LeafKind::Cake);
  EXPECT_EQ(leaf.cake.diffserv, plan::CakeDiffserv::Diffserv4);
  EXPECT_TRUE(leaf.cake.ackFilter);
  EXPECT_TRUE(leaf.cake.nat);
  EXPECT_EQ(leaf.cake.rttUs, 50'000u);
  EXPECT_EQ(config->sluice.networkJson, "/etc/sluice/network.json");
  EXPECT_EQ(config->sluice.shapedDevicesCsv, "/etc/sluice/ShapedDevices.csv");
}

TEST(ConfigOtherSections, LegacySpylnxSpellingIsStoredAsSplynx) {
  Diagnostics diags;
  auto config =
      parse("[bridge]\n[spylnx_integration]\nenable_spylnx = true\napi_key = \"k\"\nurl = \"u\"\n",
            diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(diags.all().size(), 0u) << testing::dump(diags);
  const auto& splynx = config->otherSections.at("splynx_integration");
  EXPECT_EQ(splynx.at("enable_splynx"), "true");
  EXPECT_FALSE(splynx.contains("enable_spylnx"));
  EXPECT_EQ(splynx.at("api_key"), "\"k\"");
  EXPECT_FALSE(config->otherSections.contains("spylnx_integration"));
}

TEST(ConfigOtherSections, CanonicalSplynxWinsOverLegacy) {
  Diagnostics diags;
  auto config =
      parse("[bridge]\n[splynx_integration]\nurl = \"new\"\n[spylnx_integration]\nurl = \"old\"\n",
            diags);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->otherSections.at("splynx_integration").at("url"), "\"new\"");
}

TEST(ConfigOtherSections, StringsAreEscapedTomlText) {
  Diagnostics diags;
  auto config = parse("[bridge]\n[influxdb]\ntoken = \"a\\\"b\\\\c\\td\"\n", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(config->otherSections.at("influxdb").at("token"), "\"a\\\"b\\\\c\\u0009d\"");
}

TEST(ConfigOtherSections, BadValueInUnactedSectionStillRefusesConfig) {
  Diagnostics diags;
  auto config = parse("[bridge]\n[tuning]\nrx_usecs = -1\ntx_usecs = 4\n", diags);
  EXPECT_FALSE(config);
  testing::expectOne(diags, "out-of-range", 3, 12);
}

}  // namespace
}  // namespace sluice::config
