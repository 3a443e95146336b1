// The Splynx integration against the fake server serving tests/data/integrations/splynx/api
// (written from the Splynx API 2.0 documentation): golden outputs per compile mode, paging,
// burst, status filter, missing tariff, duplicates, failures.

#include "integrations/SplynxIntegration.h"

#include <gtest/gtest.h>

#include <cerrno>

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

[splynx_integration]
enable_splynx = true
api_key = "splynx-key"
api_secret = "splynx-secret"
url = "http://127.0.0.1:9"
)";

std::string fixtures() { return std::string(SLUICE_TEST_DATA_DIR) + "/integrations/splynx/api"; }

config::Config loadTestConfig(const std::string& text = kConfig) {
  Diagnostics diags;
  auto config = config::parseConfig(text, "lqos.conf", diags);
  for (const auto& d : diags.errors()) {
    ADD_FAILURE() << d.toString();
  }
  return config.value_or(config::Config{});
}

HttpOptions fastHttp() {
  return HttpOptions{.totalTimeoutMs = 3000, .maxAttempts = 2, .initialBackoffMs = 10,
                     .maxBackoffMs = 20};
}

// An integration against `server` paging 2 rows at a time.
SplynxIntegration makeIntegration(const VendorServer& server, CompileMode mode,
                                  const std::string& secret = "splynx-secret") {
  config::Config config = loadTestConfig();
  auto integrations = parseIntegrationConfig(config);
  EXPECT_TRUE(integrations) << integrations.error().message();
  SplynxFetchOptions fetch{.url = server.url() + "/", .apiKey = "splynx-key",
                           .apiSecret = secret, .pageSize = 2};
  SplynxBuildOptions build{.mode = mode, .graph = commonGraphOptions(config, *integrations)};
  return SplynxIntegration(fetch, build, std::make_shared<HttpClient>(fastHttp()));
}

ShapingFiles buildOrFail(SplynxIntegration& integration) {
  auto files = integration.build();
  EXPECT_TRUE(files) << files.error().message();
  return files.value_or(ShapingFiles{});
}

struct ModeCase {
  CompileMode mode;
  const char* golden;
};

class SplynxGoldenTest : public ::testing::TestWithParam<ModeCase> {};

TEST_P(SplynxGoldenTest, MatchesGoldenAndTheModelAcceptsIt) {
  VendorServer server({"--splynx", fixtures()});
  auto integration = makeIntegration(server, GetParam().mode);
  ShapingFiles files = buildOrFail(integration);
  testing::expectGolden(files, "splynx", GetParam().golden);
  // Services 1, 2, 3, 4, 5, 10 have circuits: 6 and 9 lack a usable tariff, 7 and 11 are not
  // active, 8 has no address anywhere.
  EXPECT_EQ(files.circuits, 6u);
  EXPECT_EQ(testing::expectModelAccepts(files, kConfig), 6u);
}

INSTANTIATE_TEST_SUITE_P(Modes, SplynxGoldenTest,
                         ::testing::Values(ModeCase{CompileMode::ApSite, "ap_site"},
                                           ModeCase{CompileMode::Full, "full"},
                                           ModeCase{CompileMode::ApOnly, "ap_only"},
                                           ModeCase{CompileMode::Flat, "flat"}),
                         [](const auto& info) { return std::string(info.param.golden); });

TEST(SplynxTest, WithoutNetworkSitesTheMonitoringTreeIsUsed) {
  VendorServer server({"--splynx", fixtures()});
  server.control("PUT", "/_control/fixture/splynx/admin/networking/network-sites.json", "[]");
  auto integration = makeIntegration(server, CompileMode::Full);
  ShapingFiles files = buildOrFail(integration);
  testing::expectGolden(files, "splynx", "full_without_network_sites");
  EXPECT_EQ(testing::expectModelAccepts(files, kConfig), 6u);
}

TEST(SplynxTest, PagesThroughEveryListWithLimitAndOffset) {
  VendorServer server({"--splynx", fixtures()});
  auto integration = makeIntegration(server, CompileMode::ApSite);
  buildOrFail(integration);
  auto requests = nlohmann::json::parse(server.control("GET", "/_control/requests"));
  std::vector<std::string> offsets;
  for (const auto& r : requests) {
    if (r["path"] == "/api/2.0/admin/customers/customer/0/internet-services") {
      EXPECT_EQ(r["query"]["limit"][0], "2");
      EXPECT_EQ(r["query"]["main_attributes[status]"][0], "active");
      EXPECT_EQ(r["query"]["order[id]"][0], "ASC");
      offsets.push_back(r["query"]["offset"][0]);
    }
  }
  // 10 active rows (one id twice) in pages of 2, then the empty page that ends the list.
  EXPECT_EQ(offsets, (std::vector<std::string>{"0", "2", "4", "6", "8", "10"}));
}

TEST(SplynxTest, TariffBurstLimitsRaiseThePlan) {
  SplynxData data;
  typeSplynxTariffs(nlohmann::json::parse(R"([
      {"id": "1", "speed_download": "100000", "speed_upload": "20000",
       "burst_limit_fixed_down": "120000", "burst_limit_fixed_up": "10000"},
      {"id": "2", "speed_download": 8000, "speed_upload": 1000},
      {"id": "3", "speed_download": "fast", "speed_upload": "1000"}])")
                        .get<std::vector<nlohmann::json>>(),
                    data);
  ASSERT_EQ(data.tariffs.size(), 2u);
  EXPECT_DOUBLE_EQ(data.tariffs[0].downloadMbps, 120);  // the burst, larger than the plan
  EXPECT_DOUBLE_EQ(data.tariffs[0].uploadMbps, 20);     // the plan, larger than the burst
  EXPECT_DOUBLE_EQ(data.tariffs[1].downloadMbps, 8);
  EXPECT_DOUBLE_EQ(data.tariffs[1].uploadMbps, 1);
  ASSERT_EQ(data.warnings.size(), 1u);
  EXPECT_NE(data.warnings[0].find("tariff 3"), std::string::npos);
}

TEST(SplynxTest, APlanChangeInSplynxChangesTheCircuitRate) {
  VendorServer server({"--splynx", fixtures()});
  auto tariffs = nlohmann::json::parse(
      testing::readText(fixtures() + "/admin/tariffs/internet.json"));
  tariffs[0]["speed_download"] = "50000";  // tariff 1 (services 1, 4, 5, 10): 25 -> 50 Mbps
  server.control("PUT", "/_control/fixture/splynx/admin/tariffs/internet.json", tariffs.dump());
  auto integration = makeIntegration(server, CompileMode::Flat);
  ShapingFiles files = buildOrFail(integration);
  EXPECT_NE(files.shapedDevicesCsv.find(R"("1","Alice Example","splynx_service_1")"),
            std::string::npos);
  EXPECT_NE(files.shapedDevicesCsv.find(R"("49","4.9","50","5")"), std::string::npos)
      << files.shapedDevicesCsv;
}

TEST(SplynxTest, AnEmptyServiceListBuildsNoCircuitAndSaysSo) {
  VendorServer server({"--splynx", fixtures(), "--fail", "empty", "--fail-path",
                       "internet-services"});
  auto integration = makeIntegration(server, CompileMode::ApSite);
  ShapingFiles files = buildOrFail(integration);
  EXPECT_EQ(files.circuits, 0u);
  EXPECT_NE(std::ranges::find(files.warnings,
                              "Splynx returned no active internet service with a known tariff"),
            files.warnings.end());
}

struct FailureCase {
  std::vector<std::string> args;
  int errnum;
  const char* cause;
};

class SplynxFailureTest : public ::testing::TestWithParam<FailureCase> {};

TEST_P(SplynxFailureTest, FailsWholeNamingTheUrlAndTheCause) {
  std::vector<std::string> args{"--splynx", fixtures()};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  VendorServer server(args);
  auto integration = makeIntegration(server, CompileMode::ApSite);
  auto files = integration.build();
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().errnum, GetParam().errnum) << files.error().message();
  EXPECT_NE(files.error().message().find(server.url() + "/api/2.0/admin/customers/customer"),
            std::string::npos)
      << files.error().message();
  EXPECT_NE(files.error().message().find(GetParam().cause), std::string::npos)
      << files.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Failures, SplynxFailureTest,
    ::testing::Values(
        FailureCase{{"--fail", "401", "--fail-path", "customers/customer"}, EACCES, "HTTP 401"},
        FailureCase{{"--fail", "500", "--fail-path", "customers/customer"}, EIO, "HTTP 500"},
        FailureCase{{"--fail", "malformed", "--fail-path", "customers/customer"}, EBADMSG,
                    "malformed JSON"},
        FailureCase{{"--fail", "truncated", "--fail-path", "customers/customer"}, EPIPE,
                    "truncated body"}));

TEST(SplynxTest, AWrongSecretIsRefused) {
  VendorServer server({"--splynx", fixtures()});
  auto integration = makeIntegration(server, CompileMode::ApSite, "not-the-secret");
  auto files = integration.build();
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().errnum, EACCES);
}

// Canned answers: HttpClient is substituted, no server.
class CannedHttp : public HttpClient {
 public:
  explicit CannedHttp(std::function<std::string(const Request&)> answer)
      : answer_(std::move(answer)) {}
  Result<Response> fetch(const Request& request) override {
    return Response{200, answer_(request)};
  }

 private:
  std::function<std::string(const Request&)> answer_;
};

TEST(SplynxTest, AnObjectWhereAListBelongsIsAnError) {
  CannedHttp http([](const auto&) { return R"({"error": "maintenance"})"; });
  auto rows = fetchSplynxList(http, {.url = "https://splynx.example"}, "admin/tariffs/internet",
                              "");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().errnum, EPROTO);
  EXPECT_NE(rows.error().message().find("expected a JSON array, got object"), std::string::npos);
}

TEST(SplynxTest, AServerIgnoringOffsetIsAnErrorNotALoop) {
  CannedHttp http([](const auto&) { return R"([{"id": "1"}, {"id": "2"}])"; });
  auto rows = fetchSplynxList(http, {.url = "https://splynx.example", .pageSize = 2},
                              "admin/tariffs/internet", "");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().errnum, EPROTO);
  EXPECT_NE(rows.error().message().find("ignores `offset`"), std::string::npos);
}

TEST(SplynxTest, AServerIgnoringLimitGivesItsOneAnswer) {
  CannedHttp http([](const auto&) { return R"([{"id": "1"}, {"id": "2"}, {"id": "3"}])"; });
  auto rows = fetchSplynxList(http, {.url = "https://splynx.example", .pageSize = 2},
                              "admin/tariffs/internet", "");
  ASSERT_TRUE(rows) << rows.error().message();
  EXPECT_EQ(rows->size(), 3u);
}

TEST(SplynxTest, TheFactoryNamesAMissingKey) {
  config::Config config = loadTestConfig();
  auto integrations = parseIntegrationConfig(config);
  ASSERT_TRUE(integrations);
  integrations->splynx.apiSecret.clear();
  auto made = makeSplynxIntegration(config, *integrations, std::make_shared<HttpClient>());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().errnum, EINVAL);
  EXPECT_NE(made.error().message().find("splynx_integration.api_secret"), std::string::npos);
}

TEST(SplynxTest, IsTheEnabledIntegrationWhenEnableSplynxIsSet) {
  auto made = makeEnabledIntegration(loadTestConfig(), std::make_shared<HttpClient>());
  ASSERT_TRUE(made) << made.error().message();
  ASSERT_NE(*made, nullptr);
  EXPECT_EQ((*made)->name(), "splynx");
}

}  // namespace
}  // namespace sluice::integrations
