// The Sonar integration against the fake server's GraphQL endpoint serving
// tests/data/integrations/sonar/api (written from Sonar's GraphQL API documentation), with the
// APs' SNMP answers canned: golden outputs, paging, status filters, DATA and recurring rates,
// floor, duplicates, failures.

#include "integrations/SonarIntegration.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>

#include <nlohmann/json.hpp>

#include "GoldenFiles.h"
#include "VendorServer.h"
#include "config/ConfigLoader.h"

namespace sluice::integrations {
namespace {

using testing::VendorServer;

constexpr const char* kConfig = R"(version = "1.5"
lqos_directory = "/tmp"

[bridge]
to_internet = "eth0"
to_network = "eth1"

[queues]
uplink_bandwidth_mbps = 10000
downlink_bandwidth_mbps = 10000

[ip_ranges]
allow_subnets = ["100.64.0.0/10", "2001:db8::/32"]

[sonar_integration]
enable_sonar = true
sonar_api_url = "http://127.0.0.1:9"
sonar_api_key = "sonar-test-token"
airmax_model_ids = ["45"]
ltu_model_ids = ["77"]
recurring_service_rates = [{ service_name = "fixed wireless 50", download_mbps = 50, upload_mbps = 10 }]
recurring_excluded_service_names = ["Static IP Fee"]
)";

std::string fixtures() { return std::string(SLUICE_TEST_DATA_DIR) + "/integrations/sonar/api"; }

// The APs' SNMP agents: station tables and sysName per AP address.
class CannedSnmp : public SnmpWalker {
 public:
  Result<std::vector<SnmpVar>> walk(const std::string& agent, const std::string& community,
                                    std::string_view rootOid) override {
    if (community != "public") {
      return makeError(ETIMEDOUT, "SNMP walk at " + agent, "wrong community");
    }
    auto it = answers_.find({agent, std::string(rootOid)});
    if (agent == "10.20.3.2") {
      return makeError(ETIMEDOUT, "SNMP walk at " + agent, "no answer");
    }
    return it == answers_.end() ? std::vector<SnmpVar>{} : it->second;
  }

 private:
  static SnmpVar octets(std::string oid, std::string bytes) { return {oid, bytes, true}; }
  std::map<std::pair<std::string, std::string>, std::vector<SnmpVar>> answers_ = {
      {{"10.20.0.2", std::string(kAirMaxStationMacOid)},
       {octets(".1.3.6.1.4.1.41112.1.4.7.1.1.1.1", std::string("\xaa\xbb\xcc\x00\x00\x01", 6)),
        octets(".1.3.6.1.4.1.41112.1.4.7.1.1.1.2", std::string("\xaa\xbb\xcc\x00\x00\x07", 6))}},
      {{"10.20.0.2", std::string(kSysNameOid)}, {octets(".1.3.6.1.2.1.1.5.0", "ridge-ap-1")}},
      {{"10.20.1.2", std::string(kLtuStationMacOid)},
       {octets(".1.3.6.1.4.1.41112.1.10.1.4.1.11.1", "AA:BB:CC:00:00:02"),
        octets(".1.3.6.1.4.1.41112.1.10.1.4.1.11.2", std::string("\xaa\xbb\xcc\x00\x00\x09", 6))}},
      {{"10.20.1.2", std::string(kSysNameOid)}, {octets(".1.3.6.1.2.1.1.5.0", "valley-ltu")}},
  };
};

config::Config loadTestConfig() {
  Diagnostics diags;
  auto config = config::parseConfig(kConfig, "lqos.conf", diags);
  for (const auto& d : diags.errors()) {
    ADD_FAILURE() << d.toString();
  }
  return config.value_or(config::Config{});
}

SonarIntegration makeIntegration(const VendorServer& server, CompileMode mode,
                                 std::vector<std::string> statuses = {}) {
  config::Config config = loadTestConfig();
  auto integrations = parseIntegrationConfig(config);
  EXPECT_TRUE(integrations) << integrations.error().message();
  SonarBuildOptions build{.mode = mode,
                          .graph = commonGraphOptions(config, *integrations),
                          .sonar = integrations->sonar};
  build.sonar.activeStatusIds = std::move(statuses);
  auto http = std::make_shared<HttpClient>(HttpOptions{
      .totalTimeoutMs = 3000, .maxAttempts = 2, .initialBackoffMs = 10, .maxBackoffMs = 20});
  return SonarIntegration({.url = server.url(), .apiKey = "sonar-test-token", .pageSize = 2},
                          build, http, std::make_shared<CannedSnmp>());
}

TEST(SonarTest, FullModeMatchesGoldenAndTheModelAcceptsIt) {
  VendorServer server({"--sonar", fixtures()});
  auto integration = makeIntegration(server, CompileMode::Full);
  auto files = integration.build();
  ASSERT_TRUE(files) << files.error().message();
  testing::expectGolden(*files, "sonar", "full");
  // 201, 202, 203, 207, 208, 209: 204 has only an excluded recurring service, 205 no address,
  // 206 an inactive status.
  EXPECT_EQ(files->circuits, 6u);
  EXPECT_EQ(testing::expectModelAccepts(*files, kConfig), 6u);
}

TEST(SonarTest, FlatModeMatchesGoldenAndPollsNoAp) {
  VendorServer server({"--sonar", fixtures()});
  auto integration = makeIntegration(server, CompileMode::Flat);
  auto files = integration.build();
  ASSERT_TRUE(files) << files.error().message();
  testing::expectGolden(*files, "sonar", "flat");
  EXPECT_EQ(files->networkJson, "{}\n");
  EXPECT_EQ(testing::expectModelAccepts(*files, kConfig), 6u);
}

TEST(SonarTest, PagesEachQueryToTotalPagesAndAsksPerStatus) {
  VendorServer server({"--sonar", fixtures()});
  auto integration = makeIntegration(server, CompileMode::Full);
  ASSERT_TRUE(integration.build());
  auto requests = nlohmann::json::parse(server.control("GET", "/_control/requests"));
  std::vector<std::string> seen;
  for (const auto& r : requests) {
    std::string what = r["field"].get<std::string>() + " p" +
                       std::to_string(r["variables"]["paginator"]["page"].get<int>());
    if (r["field"] == "accounts") {
      what += " s" + r["variables"]["search"][0]["integer_fields"][0]["search_value"].dump();
    }
    EXPECT_EQ(r["variables"]["paginator"]["records_per_page"], 2);
    seen.push_back(what);
  }
  // Statuses 1 and 2 activate accounts (3 does not: one page of 2); 4 sites; status 1 has 6
  // accounts (one twice), status 2 has 2.
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "account_statuses p1", "network_sites p1",
                      "network_sites p2", "accounts p1 s1", "accounts p2 s1", "accounts p3 s1",
                      "accounts p1 s2"}));
}

TEST(SonarTest, ConfiguredStatusIdsAreUsedWithoutAsking) {
  VendorServer server({"--sonar", fixtures()});
  auto integration = makeIntegration(server, CompileMode::Flat, {"2"});
  auto files = integration.build();
  ASSERT_TRUE(files) << files.error().message();
  EXPECT_EQ(files->circuits, 2u);  // Bob and Hank
  auto requests = nlohmann::json::parse(server.control("GET", "/_control/requests"));
  for (const auto& r : requests) {
    EXPECT_NE(r["field"], "account_statuses");
  }
}

TEST(SonarTest, GraphQlErrorsFailTheBuild) {
  VendorServer server({"--sonar", fixtures(), "--fail", "gql-error", "--fail-path", "accounts"});
  auto integration = makeIntegration(server, CompileMode::Full);
  auto files = integration.build();
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().errnum, EPROTO);
  EXPECT_NE(files.error().message().find("injected GraphQL error"), std::string::npos);
  EXPECT_NE(files.error().message().find("/api/graphql (accounts)"), std::string::npos);
}

TEST(SonarTest, HttpFailuresFailTheBuildNamingTheQuery) {
  for (const char* mode : {"401", "500", "malformed", "truncated"}) {
    VendorServer server({"--sonar", fixtures(), "--fail", mode, "--fail-path", "network_sites"});
    auto integration = makeIntegration(server, CompileMode::Full);
    auto files = integration.build();
    ASSERT_FALSE(files) << mode;
    EXPECT_NE(files.error().message().find(server.url() + "/api/graphql"), std::string::npos)
        << files.error().message();
    EXPECT_NE(files.error().message().find("network_sites"), std::string::npos)
        << files.error().message();
  }
}

TEST(SonarTest, AWrongTokenIsRefused) {
  VendorServer server({"--sonar", fixtures(), "--sonar-token", "another"});
  auto integration = makeIntegration(server, CompileMode::Full);
  auto files = integration.build();
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().errnum, EACCES);
}

TEST(SonarTest, TheFactoryRefusesAnApSiteCompileMode) {
  config::Config config = loadTestConfig();
  auto integrations = parseIntegrationConfig(config);
  ASSERT_TRUE(integrations);
  integrations->compileMode = CompileMode::ApSite;
  auto made = makeSonarIntegration(config, *integrations, std::make_shared<HttpClient>());
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message().find("topology.compile_mode"), std::string::npos);
  integrations->compileMode.reset();
  integrations->sonar.apiKey.clear();
  made = makeSonarIntegration(config, *integrations, std::make_shared<HttpClient>());
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message().find("sonar_integration.sonar_api_key"), std::string::npos);
}

TEST(SonarTest, IsTheEnabledIntegrationWhenEnableSonarIsSet) {
  auto made = makeEnabledIntegration(loadTestConfig(), std::make_shared<HttpClient>());
  ASSERT_TRUE(made) << made.error().message();
  ASSERT_NE(*made, nullptr);
  EXPECT_EQ((*made)->name(), "sonar");
}

TEST(SonarTest, EndpointGetsTheGraphqlPathOnce) {
  EXPECT_EQ(sonarEndpoint("https://isp.sonar.software"), "https://isp.sonar.software/api/graphql");
  EXPECT_EQ(sonarEndpoint("https://isp.sonar.software/api/graphql/"),
            "https://isp.sonar.software/api/graphql");
}

TEST(SonarTest, MacsAreNormalisedFromEveryWriting) {
  EXPECT_EQ(stationMacs({{".1.1", std::string("\xaa\xbb\xcc\x00\x00\x01", 6), true},
                         {".1.2", "AA:BB:CC:00:00:02", true},
                         {".1.3", "sector 1", true}}),
            (std::vector<std::string>{"aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"}));
  EXPECT_EQ(normalizeMac("SN0009"), "");  // six characters of text are not six bytes
  EXPECT_EQ(normalizeMac("AA-BB-CC-00-00-01"), "aa:bb:cc:00:00:01");
  EXPECT_EQ(normalizeMac("aabb.cc00.0001"), "aa:bb:cc:00:00:01");
  EXPECT_EQ(normalizeMac("AA BB CC 00 00 01"), "aa:bb:cc:00:00:01");
  EXPECT_EQ(normalizeMac("not a mac"), "");
  EXPECT_EQ(normalizeMac("aa:bb:cc"), "");
}

}  // namespace
}  // namespace sluice::integrations
