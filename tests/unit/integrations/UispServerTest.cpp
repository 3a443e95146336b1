// The UISP integration's whole path (lqos.conf -> makeEnabledIntegration -> libcurl -> the fake
// vendor server on loopback -> files) against the same fixture and golden as UispTest.cpp, plus
// a plan change and a failing server.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "GoldenFiles.h"
#include "VendorServer.h"
#include "config/ConfigLoader.h"
#include "integrations/HttpClient.h"
#include "integrations/Integration.h"

namespace sluice::integrations {
namespace {

using testing::VendorServer;

const std::string kFixture = SLUICE_TEST_DATA_DIR "/integrations/uisp/network";

std::unique_ptr<Integration> makeFor(const VendorServer& server) {
  const std::string text = R"(
[bridge]
to_internet = "eth0"
to_network = "eth1"
[queues]
downlink_bandwidth_mbps = 2000
uplink_bandwidth_mbps = 2000
[ip_ranges]
allow_subnets = ["100.64.0.0/10", "2001:db8::/32"]
[uisp_integration]
enable_uisp = true
site = "HQ"
token = "uisp-test-token"
exception_cpes = ["cpe-kim:site-north"]
url = ")" + server.url() + "/\"\n";
  Diagnostics diags;
  auto config = config::parseConfig(text, "lqos.conf", diags);
  EXPECT_TRUE(config.has_value());
  auto http = std::make_shared<HttpClient>(
      HttpOptions{.totalTimeoutMs = 3000, .maxAttempts = 2, .initialBackoffMs = 10});
  auto integration = makeEnabledIntegration(config.value_or(config::Config{}), http);
  EXPECT_TRUE(integration.has_value()) << integration.error().message();
  return integration ? std::move(*integration) : nullptr;
}

TEST(UispServer, BuildsTheGoldenFilesOverHttp) {
  VendorServer server({"--uisp", kFixture});
  auto integration = makeFor(server);
  ASSERT_NE(integration, nullptr);
  auto files = integration->build();
  ASSERT_TRUE(files.has_value()) << files.error().message();
  testing::expectGolden(*files, "uisp", "full");

  auto requests = nlohmann::json::parse(server.control("GET", "/_control/requests"));
  ASSERT_EQ(requests.size(), 3u) << requests.dump();
  EXPECT_EQ(requests[1]["path"], "/nms/api/v2.1/devices");
  EXPECT_NE(requests[1]["query"].dump().find("withInterfaces"), std::string::npos)
      << requests[1].dump();
  for (const auto& r : requests) {
    EXPECT_EQ(r["status"], 200) << r.dump();  // the token was accepted
  }
}

TEST(UispServer, APlanChangeReachesTheCircuit) {
  VendorServer server({"--uisp", kFixture});
  auto sites = nlohmann::json::parse(testing::readText(kFixture + "/sites.json"));
  for (auto& site : sites) {
    if (site["id"] == "c-anna") {
      site["qos"]["downloadSpeed"] = 75000000;
    }
  }
  server.control("PUT", "/_control/fixture/uisp/sites.json", sites.dump());
  auto integration = makeFor(server);
  ASSERT_NE(integration, nullptr);
  auto files = integration->build();
  ASSERT_TRUE(files.has_value()) << files.error().message();
  EXPECT_NE(files->shapedDevicesCsv.find("\"c-anna\",\"Anna Anderson\",\"cpe-anna\",\"cpe-anna\","
                                         "\"HQ AP1\",\"uisp:device:dev-hq-ap1\",\"uisp:device:"
                                         "dev-hq-ap1\",\"24:5A:4C:10:00:01\",\"100.64.10.2\",\"\","
                                         "\"75\",\"10\",\"75\",\"10\""),
            std::string::npos)
      << files->shapedDevicesCsv;
}

TEST(UispServer, FailuresAreErrorsNamingTheUrlNeverAnEmptyNetwork) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const Case cases[] = {
      {{"--fail", "500", "--fail-path", "data-links"}, "HTTP 500"},
      {{"--fail", "malformed", "--fail-path", "devices"}, "malformed JSON"},
      {{"--fail", "truncated", "--fail-path", "sites"}, "truncated"},
      {{"--fail", "empty", "--fail-path", "sites"}, "no site while /devices listed"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--uisp", kFixture};
    args.insert(args.end(), c.args.begin(), c.args.end());
    VendorServer server(args);
    auto integration = makeFor(server);
    ASSERT_NE(integration, nullptr);
    auto files = integration->build();
    ASSERT_FALSE(files.has_value()) << c.expected;
    EXPECT_NE(files.error().message().find(c.expected), std::string::npos)
        << files.error().message();
  }
  VendorServer wrongToken({"--uisp", kFixture, "--uisp-token", "another"});
  auto integration = makeFor(wrongToken);
  ASSERT_NE(integration, nullptr);
  auto refused = integration->build();
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("HTTP 401"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("/nms/api/v2.1/sites"), std::string::npos);
}

}  // namespace
}  // namespace sluice::integrations
