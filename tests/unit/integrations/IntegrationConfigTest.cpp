// The typed integration config: LibreQoS's defaults, every key read, and the values refused.

#include "integrations/IntegrationConfig.h"

#include <gtest/gtest.h>

#include <string>

#include "config/ConfigLoader.h"

namespace sluice::integrations {
namespace {

const std::string kBase = R"(
[bridge]
to_internet = "eth0"
to_network = "eth1"
[queues]
generated_pn_download_mbps = 700
generated_pn_upload_mbps = 300
downlink_bandwidth_mbps = 5000
uplink_bandwidth_mbps = 2000
[ip_ranges]
ignore_subnets = ["100.64.9.0/24"]
allow_subnets = ["100.64.0.0/10"]
)";

config::Config load(const std::string& extra) {
  Diagnostics diags;
  auto config = config::parseConfig(kBase + extra, "lqos.conf", diags);
  EXPECT_TRUE(config.has_value()) << extra;
  return config.value_or(config::Config{});
}

Result<IntegrationConfig> parse(const std::string& extra) {
  return parseIntegrationConfig(load(extra));
}

TEST(IntegrationConfig, DefaultsAreLibreQoSs) {
  auto c = parse("");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_FALSE(c->common.circuitNameAsAddress);
  EXPECT_EQ(c->common.queueRefreshIntervalMins, 30u);
  EXPECT_EQ(c->common.clientBandwidthMultiplier, 1.0);
  EXPECT_TRUE(c->common.ethernetPortLimitsEnabled);
  EXPECT_EQ(c->common.ethernetPortLimitMultiplier, 0.94);
  EXPECT_FALSE(c->compileMode.has_value());
  EXPECT_FALSE(c->uisp.enabled);
  EXPECT_EQ(c->uisp.suspendedStrategy, SuspendedStrategy::None);
  EXPECT_EQ(c->uisp.airmaxCapacity, 1.0);
  EXPECT_EQ(c->uisp.airmaxFlexibleFrameDownloadRatio, 0.8);
  EXPECT_EQ(c->uisp.ltuCapacity, 1.0);
  EXPECT_EQ(c->uisp.bandwidthOverheadFactor, 1.0);
  EXPECT_EQ(c->uisp.commitBandwidthMultiplier, 1.0);
  EXPECT_TRUE(c->uisp.infrastructureTransportCapsEnabled);
  EXPECT_FALSE(c->uisp.insecureSsl);
  EXPECT_EQ(c->splynx.strategy, "ap_site");
  EXPECT_EQ(c->sonar.snmpCommunity, "public");
}

TEST(IntegrationConfig, ReadsEveryKey) {
  auto c = parse(R"(
[integration_common]
circuit_name_as_address = true
queue_refresh_interval_mins = 15
promote_to_root = ["Core"]
client_bandwidth_multiplier = 1.1
ethernet_port_limits_enabled = false
ethernet_port_limit_multiplier = 0.9
[topology]
compile_mode = "ap_only"
[uisp_integration]
enable_uisp = true
token = "t0k"
url = "https://uisp.example.net/"
site = "HQ"
strategy = "full2"
suspended_strategy = "slow"
airmax_capacity = 0.8
airmax_flexible_frame_download_ratio = 0.75
ltu_capacity = 0.9
exclude_sites = ["Lab"]
bandwidth_overhead_factor = 1.15
commit_bandwidth_multiplier = 0.98
exception_cpes = [{cpe = "cpe-1", parent = "Tower"}, "cpe-2:Hill", {"cpe-3" = "Ridge"}]
ignore_calculated_capacity = true
infrastructure_transport_caps_enabled = false
insecure_ssl = true
[splynx_integration]
enable_splynx = true
api_key = "k"
api_secret = "s"
url = "https://splynx.example.net"
strategy = "flat"
[sonar_integration]
enable_sonar = true
sonar_api_url = "https://sonar.example.net"
sonar_api_key = "sk"
snmp_community = "private"
airmax_model_ids = ["1", "2"]
active_status_ids = ["7"]
recurring_service_rates = [{service_name = "Wifi Plus", download_mbps = 50, upload_mbps = 10}]
recurring_excluded_service_names = ["Router rental"]
)");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->common.circuitNameAsAddress);
  EXPECT_EQ(c->common.queueRefreshIntervalMins, 15u);
  EXPECT_EQ(c->common.promoteToRoot, std::vector<std::string>{"Core"});
  EXPECT_EQ(c->common.clientBandwidthMultiplier, 1.1);
  EXPECT_FALSE(c->common.ethernetPortLimitsEnabled);
  EXPECT_EQ(c->common.ethernetPortLimitMultiplier, 0.9);
  EXPECT_EQ(c->compileMode, CompileMode::ApOnly);
  EXPECT_TRUE(c->uisp.enabled);
  EXPECT_EQ(c->uisp.token, "t0k");
  EXPECT_EQ(c->uisp.site, "HQ");
  EXPECT_EQ(c->uisp.suspendedStrategy, SuspendedStrategy::Slow);
  EXPECT_EQ(c->uisp.airmaxCapacity, 0.8);
  EXPECT_EQ(c->uisp.airmaxFlexibleFrameDownloadRatio, 0.75);
  EXPECT_EQ(c->uisp.ltuCapacity, 0.9);
  EXPECT_EQ(c->uisp.excludeSites, std::vector<std::string>{"Lab"});
  EXPECT_EQ(c->uisp.bandwidthOverheadFactor, 1.15);
  EXPECT_EQ(c->uisp.commitBandwidthMultiplier, 0.98);
  ASSERT_EQ(c->uisp.exceptionCpes.size(), 3u);
  EXPECT_EQ(c->uisp.exceptionCpes[0].node, "cpe-1");
  EXPECT_EQ(c->uisp.exceptionCpes[0].parent, "Tower");
  EXPECT_EQ(c->uisp.exceptionCpes[1].node, "cpe-2");
  EXPECT_EQ(c->uisp.exceptionCpes[1].parent, "Hill");
  EXPECT_EQ(c->uisp.exceptionCpes[2].parent, "Ridge");
  EXPECT_TRUE(c->uisp.ignoreCalculatedCapacity);
  EXPECT_FALSE(c->uisp.infrastructureTransportCapsEnabled);
  EXPECT_TRUE(c->uisp.insecureSsl);
  EXPECT_TRUE(c->splynx.enabled);
  EXPECT_EQ(c->splynx.strategy, "flat");
  EXPECT_EQ(c->sonar.apiKey, "sk");
  EXPECT_EQ(c->sonar.airmaxModelIds, (std::vector<std::string>{"1", "2"}));
  ASSERT_EQ(c->sonar.recurringServiceRates.size(), 1u);
  EXPECT_EQ(c->sonar.recurringServiceRates[0].serviceName, "Wifi Plus");
  EXPECT_EQ(c->sonar.recurringServiceRates[0].downloadMbps, 50);
  EXPECT_TRUE(c->sonar.recurringServiceRates[0].enabled);
  EXPECT_EQ(c->sonar.recurringExcludedServiceNames, std::vector<std::string>{"Router rental"});
}

TEST(IntegrationConfig, RefusesWhatLibreQoSRefusesNamingKeyAndValue) {
  const std::pair<const char*, const char*> cases[] = {
      {"[uisp_integration]\nsuspended_strategy = \"pause\"\n",
       "uisp_integration.suspended_strategy = \"pause\""},
      {"[uisp_integration]\nairmax_flexible_frame_download_ratio = 1.0\n",
       "uisp_integration.airmax_flexible_frame_download_ratio = 1.0"},
      {"[integration_common]\nethernet_port_limit_multiplier = 1.5\n",
       "integration_common.ethernet_port_limit_multiplier = 1.5"},
      {"[topology]\ncompile_mode = \"tree\"\n", "topology.compile_mode = \"tree\""},
      {"[uisp_integration]\nexception_cpes = [\"no-colon\"]\n", "uisp_integration.exception_cpes"},
      {"[sonar_integration]\nrecurring_service_rates = [{service_name = \"x\"}]\n",
       "sonar_integration.recurring_service_rates"},
  };
  for (auto [text, expected] : cases) {
    auto c = parse(text);
    ASSERT_FALSE(c.has_value()) << text;
    EXPECT_EQ(c.error().errnum, EINVAL);
    EXPECT_NE(c.error().message().find(expected), std::string::npos) << c.error().message();
  }
}

TEST(IntegrationConfig, CompileModeResolution) {
  auto none = parse("");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(resolveCompileMode(*none, "", "x.strategy", CompileMode::ApSite), CompileMode::ApSite);
  EXPECT_EQ(resolveCompileMode(*none, "flat", "x.strategy", CompileMode::Full), CompileMode::Flat);
  auto bad = resolveCompileMode(*none, "star", "uisp_integration.strategy", CompileMode::Full);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("uisp_integration.strategy = \"star\""),
            std::string::npos);
  auto topology = parse("[topology]\ncompile_mode = \"ap_site\"\n");
  ASSERT_TRUE(topology.has_value());
  EXPECT_EQ(resolveCompileMode(*topology, "flat", "x", CompileMode::Full), CompileMode::ApSite);
}

TEST(IntegrationConfig, CommonGraphOptionsCarryNoVendorRules) {
  config::Config config = load("[uisp_integration]\nexclude_sites = [\"Lab\"]\n"
                               "exception_cpes = [\"a:b\"]\n"
                               "[integration_common]\npromote_to_root = [\"Core\"]\n");
  auto c = parseIntegrationConfig(config);
  ASSERT_TRUE(c.has_value());
  GraphOptions o = commonGraphOptions(config, *c);
  EXPECT_EQ(o.generatedPnDownloadMbps, 700);
  EXPECT_EQ(o.generatedPnUploadMbps, 300);
  EXPECT_EQ(o.downlinkBandwidthMbps, 5000);
  EXPECT_EQ(o.uplinkBandwidthMbps, 2000);
  ASSERT_EQ(o.ignoreSubnets.size(), 1u);
  ASSERT_EQ(o.allowSubnets.size(), 1u);
  EXPECT_EQ(o.allowSubnets[0].toString(), "100.64.0.0/10");
  EXPECT_EQ(o.promoteToRoot, std::vector<std::string>{"Core"});
  EXPECT_TRUE(o.excludeNames.empty());
  EXPECT_TRUE(o.parentExceptions.empty());
}

}  // namespace
}  // namespace sluice::integrations
