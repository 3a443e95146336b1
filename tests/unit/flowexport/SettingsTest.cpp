// [flows] read through the real config loader: LibreQoS's keys, netflow_enabled honoured,
// several collectors, and errors that name the file, the line and the value.

#include "flowexport/Settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/ConfigLoader.h"

namespace sluice::flowexport {
namespace {

const std::string kBase = R"([bridge]
to_internet = "eth0"
to_network = "eth1"
[queues]
downlink_bandwidth_mbps = 1000
uplink_bandwidth_mbps = 1000
)";

struct Loaded {
  std::string path;
  Result<FlowSettings> settings;
};

/// Writes kBase + `flows` to a file, loads it with the real loader and reads [flows].
Loaded load(const std::string& flows) {
  static int n = 0;
  const std::string path = ::testing::TempDir() + "flows-" + std::to_string(getpid()) + "-" +
                           std::to_string(n++) + ".conf";
  std::ofstream(path) << kBase << flows;
  Diagnostics diags;
  auto config = config::loadConfig(path, diags);
  EXPECT_TRUE(config.has_value()) << flows;
  for (const auto& d : diags.all()) {
    ADD_FAILURE() << "diagnostic: " << d.message;  // every key must be known to the schema
  }
  Loaded out{path, readFlowSettings(config.value_or(config::Config{}), path)};
  std::remove(path.c_str());
  return out;
}

TEST(FlowSettings, DefaultsExportNothing) {
  auto l = load("");
  ASSERT_TRUE(l.settings.has_value()) << l.settings.error().message();
  EXPECT_FALSE(l.settings->enabled);
  EXPECT_EQ(l.settings->flowTimeoutSeconds, 30u);
  EXPECT_EQ(l.settings->activeTimeoutSeconds, 60u);
  EXPECT_TRUE(l.settings->collectors.empty());
}

TEST(FlowSettings, NetflowEnabledIsHonoured) {
  // LibreQoS exports whenever ip, port and version are set; Sluice waits for the switch.
  auto off =
      load("[flows]\nnetflow_ip = \"192.0.2.5\"\nnetflow_port = 2055\nnetflow_version = 9\n");
  ASSERT_TRUE(off.settings.has_value());
  EXPECT_FALSE(off.settings->enabled);
  EXPECT_EQ(off.settings->collectors.size(), 1u);
  auto on = load(
      "[flows]\nnetflow_enabled = true\nnetflow_ip = \"192.0.2.5\"\n"
      "netflow_port = 2055\nnetflow_version = 5\nflow_timeout_seconds = 10\n");
  ASSERT_TRUE(on.settings.has_value()) << on.settings.error().message();
  EXPECT_TRUE(on.settings->enabled);
  EXPECT_EQ(on.settings->flowTimeoutSeconds, 10u);
  ASSERT_EQ(on.settings->collectors.size(), 1u);
  EXPECT_EQ(on.settings->collectors[0].host, "192.0.2.5");
  EXPECT_EQ(on.settings->collectors[0].port, 2055);
  EXPECT_EQ(on.settings->collectors[0].format, WireFormat::kNetflowV5);
}

TEST(FlowSettings, SeveralCollectorsWithTheirOwnVersions) {
  auto l = load(
      "[flows]\nnetflow_enabled = true\nnetflow_version = 10\n"
      "netflow_collectors = [\"127.0.0.1:2055/5\", \"[::1]:4739\", "
      "\"10.1.2.3:9995/9\"]\nactive_timeout_seconds = 120\n"
      "template_refresh_seconds = 30\nobservation_domain_id = 9\n");
  ASSERT_TRUE(l.settings.has_value()) << l.settings.error().message();
  const auto& c = l.settings->collectors;
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].format, WireFormat::kNetflowV5);
  EXPECT_EQ(c[1].host, "::1");
  EXPECT_EQ(c[1].port, 4739);
  EXPECT_EQ(c[1].format, WireFormat::kIpfix);
  EXPECT_EQ(c[1].label(), "[::1]:4739");
  EXPECT_EQ(c[2].format, WireFormat::kNetflowV9);
  EXPECT_EQ(l.settings->activeTimeoutSeconds, 120u);
  EXPECT_EQ(l.settings->templateRefreshSeconds, 30u);
  EXPECT_EQ(l.settings->observationDomainId, 9u);
}

void expectError(const std::string& flows, int line, const std::string& needle) {
  auto l = load(flows);
  ASSERT_FALSE(l.settings.has_value()) << flows;
  const std::string m = l.settings.error().message();
  EXPECT_NE(m.find(l.path + ":" + std::to_string(line)), std::string::npos) << m;
  EXPECT_NE(m.find(needle), std::string::npos) << m;
  EXPECT_EQ(l.settings.error().errnum, EINVAL);
}

TEST(FlowSettings, BadValuesNameFileLineAndValue) {
  // kBase has 6 lines; [flows] is line 7.
  expectError("[flows]\nnetflow_version = 7\n", 8, "flows.netflow_version = 7");
  expectError(
      "[flows]\nnetflow_enabled = true\nnetflow_ip = \"collector.example\"\n"
      "netflow_port = 2055\n",
      9, "flows.netflow_ip = \"collector.example\"");
  expectError("[flows]\nnetflow_ip = \"192.0.2.1\"\n", 8, "netflow_port");
  expectError("[flows]\nnetflow_collectors = [\"192.0.2.1\"]\n", 8, "192.0.2.1");
  expectError("[flows]\nnetflow_collectors = [\"2001:db8::1:2055\"]\n", 8, "[ADDRESS]:PORT");
  expectError("[flows]\nnetflow_collectors = [\"192.0.2.1:2055/6\"]\n", 8, "5, 9 or 10");
  expectError("[flows]\nnetflow_enabled = true\n", 8, "no collector");
  expectError("[flows]\nflow_timeout_seconds = 0\n", 8, "flows.flow_timeout_seconds = 0");
}

TEST(FlowSettings, ParseCollectorEdgeCases) {
  EXPECT_FALSE(parseCollector("192.0.2.1:0", WireFormat::kIpfix).has_value());
  EXPECT_FALSE(parseCollector("192.0.2.1:65536", WireFormat::kIpfix).has_value());
  EXPECT_FALSE(parseCollector(":2055", WireFormat::kIpfix).has_value());
  auto ok = parseCollector("192.0.2.1:65535", WireFormat::kIpfix);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->port, 65535);
  EXPECT_EQ(ok->label(), "192.0.2.1:65535");
}

}  // namespace
}  // namespace sluice::flowexport
