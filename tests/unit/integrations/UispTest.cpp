// The UISP integration end to end from fixtures (tests/data/integrations/uisp/<fixture>/, written
// from UISP's API documentation) served by an in-process HttpClient: golden outputs per compile
// mode and per rule (tests/data/integrations/uisp/expected/<case>/), each also read back by the
// model reader. SLUICE_UPDATE_GOLDEN=1 rewrites the goldens (review the diff).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "GoldenFiles.h"
#include "config/ConfigLoader.h"
#include "integrations/HttpClient.h"
#include "integrations/Integration.h"
#include "integrations/UispIntegration.h"

namespace sluice::integrations {
namespace {

using testing::expectGolden;
using testing::expectModelAccepts;
using testing::readText;

const std::string kFixtures = SLUICE_TEST_DATA_DIR "/integrations/uisp/";
const std::string kToken = "fixture-token";

/// Serves <dir>/<resource>.json for GET https://uisp.test/nms/api/v2.1/<resource>[?query];
/// `bodies` replaces a resource's body; a wrong token is refused as UISP does (401).
class FixtureHttp : public HttpClient {
 public:
  explicit FixtureHttp(std::string dir) : dir_(std::move(dir)) {}

  Result<Response> fetch(const Request& request) override {
    requests.push_back(request);
    const std::string prefix = "https://uisp.test/nms/api/v2.1/";
    const std::string what = request.method + " " + request.url;
    bool authorised = false;
    for (const auto& [name, value] : request.headers) {
      authorised = authorised || (name == "X-Auth-Token" && value == kToken);
    }
    if (!authorised) {
      return makeError(EACCES, what, "HTTP 401");
    }
    if (!request.url.starts_with(prefix)) {
      return makeError(ENOENT, what, "HTTP 404");
    }
    std::string resource = request.url.substr(prefix.size());
    resource = resource.substr(0, resource.find('?'));
    if (auto it = bodies.find(resource); it != bodies.end()) {
      return Response{200, it->second};
    }
    if (!std::filesystem::exists(dir_ + "/" + resource + ".json")) {
      return makeError(ENOENT, what, "HTTP 404");
    }
    return Response{200, readText(dir_ + "/" + resource + ".json")};
  }

  std::vector<Request> requests;
  std::map<std::string, std::string> bodies;

 private:
  std::string dir_;
};

std::string configText(const std::string& extra, const std::string& uisp = "site = \"HQ\"\n") {
  return R"(
[bridge]
to_internet = "eth0"
to_network = "eth1"
[queues]
downlink_bandwidth_mbps = 2000
uplink_bandwidth_mbps = 2000
generated_pn_download_mbps = 1000
generated_pn_upload_mbps = 1000
[ip_ranges]
allow_subnets = ["100.64.0.0/10", "2001:db8::/32"]
[uisp_integration]
enable_uisp = true
url = "https://uisp.test/"
token = "fixture-token"
exception_cpes = ["cpe-kim:site-north"]
)" + uisp + extra;
}

config::Config parseConfigText(const std::string& text) {
  Diagnostics diags;
  auto config = config::parseConfig(text, "lqos.conf", diags);
  EXPECT_TRUE(config.has_value()) << text;
  for (const auto& d : diags.all()) {
    ADD_FAILURE() << d.toString();
  }
  return config.value_or(config::Config{});
}

Result<ShapingFiles> run(const std::string& fixture, const std::string& text,
                         std::shared_ptr<FixtureHttp> http = nullptr) {
  if (!http) {
    http = std::make_shared<FixtureHttp>(kFixtures + fixture);
  }
  auto integration = makeEnabledIntegration(parseConfigText(text), http);
  if (!integration) {
    return std::unexpected(integration.error());
  }
  EXPECT_NE(*integration, nullptr);
  EXPECT_EQ((*integration)->name(), "uisp");
  return (*integration)->build();
}

/// Builds `fixture` with `text`, compares with the golden case and reads it back.
ShapingFiles golden(const std::string& fixture, const std::string& text, const std::string& name) {
  auto files = run(fixture, text);
  EXPECT_TRUE(files.has_value()) << files.error().message();
  if (!files) {
    return {};
  }
  expectGolden(*files, "uisp", name);
  EXPECT_EQ(expectModelAccepts(*files, text), files->circuits);
  return *files;
}

/// The network.json node called `name`, wherever it is in the tree (null when absent).
nlohmann::json findNode(const nlohmann::json& nodes, const std::string& name) {
  if (!nodes.is_object()) {
    return nullptr;
  }
  if (nodes.contains(name)) {
    return nodes[name];
  }
  for (const auto& [key, value] : nodes.items()) {
    if (value.contains("children")) {
      if (auto found = findNode(value["children"], name); !found.is_null()) {
        return found;
      }
    }
  }
  return nullptr;
}

/// The node `name` of `files`' network.json, or its child `child`.
nlohmann::json node(const ShapingFiles& files, const std::string& name,
                    const std::string& child = "") {
  auto found = findNode(nlohmann::json::parse(files.networkJson), name);
  return child.empty() || found.is_null() ? found : found["children"][child];
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Uisp, FetchesTheThreeResourcesWithTheToken) {
  auto http = std::make_shared<FixtureHttp>(kFixtures + "network");
  ASSERT_TRUE(run("network", configText(""), http).has_value());
  ASSERT_EQ(http->requests.size(), 3u);
  EXPECT_EQ(http->requests[0].url, "https://uisp.test/nms/api/v2.1/sites");
  EXPECT_EQ(http->requests[1].url, "https://uisp.test/nms/api/v2.1/devices?withInterfaces=true");
  EXPECT_EQ(http->requests[2].url, "https://uisp.test/nms/api/v2.1/data-links");
  EXPECT_EQ(uisp::apiBase(" https://uisp.test/nms/api/v2.1/ "), "https://uisp.test/nms/api/v2.1");
}

// The full tree, with the configured root: capacity rules (flexible frame, model multipliers,
// transport caps), the fattest of two equal-hop backhauls, Orphans, client-to-AP mapping by
// apDevice / device link / site link, name normalisation and disambiguation, an exception CPE,
// address filtering, the subscriber Ethernet cap.
TEST(Uisp, FullTreeGolden) {
  ShapingFiles files = golden("network", configText(""), "full");
  // Spot checks of rules whose effect is easy to miss in a golden diff.
  EXPECT_EQ(node(files, "HQ AP1")["downloadBandwidthMbps"], 375)
      << "flexible frame: 500 x dlRatio 75 %";
  EXPECT_EQ(node(files, "HQ AP1")["uploadBandwidthMbps"], 125);
  EXPECT_EQ(node(files, "HQ to North")["downloadBandwidthMbps"], 940) << "AF60-LR port ceiling";
  EXPECT_TRUE(node(files, "HQ to Ridge (XHD)", "Ridge from HQ (XHD)")["children"].contains(
      "Ridge"))
      << "the 700 Mbit/s backhaul, not the 100 one";
  EXPECT_TRUE(node(files, "Orphans", "Hill")["children"].contains("Hill AP"));
  EXPECT_FALSE(has(files.networkJson, "Ridge Switch")) << "an idle leaf device is culled";
  EXPECT_EQ(node(files, "HQ")["virtual"], true) << "the root site shapes nothing itself";
  EXPECT_TRUE(has(files.shapedDevicesCsv, "\"Jo Jones (9 Pine Rd)\""));
  EXPECT_TRUE(has(files.shapedDevicesCsv, "\"Jo Jones (Home 20)\""));
  EXPECT_TRUE(has(files.shapedDevicesCsv, "\"c-anna\",\"Anna Anderson\""));
  EXPECT_TRUE(has(files.shapedDevicesCsv, "\"c-bob\",\"Bob's Bakery, LLC\""));
  EXPECT_TRUE(has(files.shapedDevicesCsv,
                  "\"c-kim\",\"Kim Kay\",\"cpe-kim\",\"cpe-kim\",\"North Tower\",\"uisp:site:"))
      << "exception_cpes puts the otherwise orphaned CPE under North Tower";
  EXPECT_TRUE(has(files.shapedDevicesCsv, "\"c-ed\",\"Ed Evans\",\"cpe-ed\",\"cpe-ed\",\"Ridge AP\""))
      << "mapped through the data link of its site";
  EXPECT_FALSE(has(files.shapedDevicesCsv, "c-lee")) << "its only address is not allowed";
}

TEST(Uisp, RootDetectedFromTheSingleUplinkMatchesTheConfiguredRoot) {
  auto configured = run("network", configText(""));
  auto detected = run("network", configText("", "site = \"\"\n"));
  ASSERT_TRUE(configured && detected);
  EXPECT_EQ(configured->networkJson, detected->networkJson);
  EXPECT_EQ(configured->shapedDevicesCsv, detected->shapedDevicesCsv);
}

TEST(Uisp, SeveralUplinksHangUnderAGeneratedRoot) {
  ShapingFiles files = golden("two-uplinks", configText("", ""), "two_uplinks");
  EXPECT_TRUE(has(files.networkJson, "\"West POP\""));
  EXPECT_TRUE(has(files.networkJson, "\"East POP\""));
}

TEST(Uisp, NoRootIsAnError) {
  auto none = run("no-uplink", configText("", ""));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().errnum, ENOENT);
  EXPECT_TRUE(has(none.error().message(), "canDelete = false")) << none.error().message();
  auto unknown = run("network", configText("", "site = \"Nowhere\"\n"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_TRUE(has(unknown.error().message(), "uisp_integration.site = \"Nowhere\" names no UISP"))
      << unknown.error().message();
  auto client = run("network", configText("", "site = \"Fay Fox\"\n"));
  ASSERT_FALSE(client.has_value());
  EXPECT_TRUE(has(client.error().message(), "client (endpoint) site"));
}

TEST(Uisp, CompileModesGolden) {
  golden("network", configText("[topology]\ncompile_mode = \"flat\"\n"), "flat");
  golden("network", configText("[topology]\ncompile_mode = \"ap_only\"\n"), "ap_only");
  golden("network", configText("[topology]\ncompile_mode = \"ap_site\"\n"), "ap_site");
  // The legacy strategy key chooses the mode when [topology] does not.
  auto viaStrategy = run("network", configText("", "site = \"HQ\"\nstrategy = \"ap_site\"\n"));
  ASSERT_TRUE(viaStrategy.has_value());
  EXPECT_EQ(viaStrategy->networkJson,
            readText(kFixtures + "expected/ap_site/network.json"));
}

TEST(Uisp, CapacityMultipliersAndTransportCapsGolden) {
  ShapingFiles files = golden("network",
                              configText("airmax_capacity = 0.8\nltu_capacity = 0.5\n"
                                         "infrastructure_transport_caps_enabled = false\n"),
                              "capacity");
  EXPECT_EQ(node(files, "HQ AP1")["downloadBandwidthMbps"], 300)
      << "flexible frame: 500 x 0.8 x 75 %";
  EXPECT_EQ(node(files, "HQ to North")["downloadBandwidthMbps"], 1000)
      << "no transport cap: 1800, clamped to the generated rate of the path";
}

TEST(Uisp, CommitAndOverheadMultipliersGolden) {
  ShapingFiles files = golden(
      "network", configText("commit_bandwidth_multiplier = 0.9\nbandwidth_overhead_factor = 1.2\n"),
      "multipliers");
  // Anna: 50/10 plan -> min 45/9, max 60/12.
  EXPECT_TRUE(has(files.shapedDevicesCsv, "\"45\",\"9\",\"60\",\"12\"")) << files.shapedDevicesCsv;
}

TEST(Uisp, SuspendedStrategiesGolden) {
  ShapingFiles none = golden("network", configText("suspended_strategy = \"none\"\n"),
                             "suspended_none");
  EXPECT_TRUE(has(none.shapedDevicesCsv, "\"c-ivy\",\"Ivy Ito\""));
  ShapingFiles ignore = golden("network", configText("suspended_strategy = \"ignore\"\n"),
                               "suspended_ignore");
  EXPECT_FALSE(has(ignore.shapedDevicesCsv, "\"c-ivy\""));
  EXPECT_EQ(ignore.circuits + 1, none.circuits);
  ShapingFiles slow = golden("network", configText("suspended_strategy = \"slow\"\n"),
                             "suspended_slow");
  EXPECT_TRUE(has(slow.shapedDevicesCsv, "\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"\"\n"));
}

TEST(Uisp, ExcludedSitesGolden) {
  ShapingFiles files =
      golden("network", configText("exclude_sites = [\"Ridge\", \"Fay Fox\"]\n"), "exclusions");
  EXPECT_FALSE(has(files.networkJson, "\"Ridge"));
  EXPECT_FALSE(has(files.shapedDevicesCsv, "c-fay"));
}

TEST(Uisp, AnswersThatCannotBeRightAreErrors) {
  auto http = std::make_shared<FixtureHttp>(kFixtures + "network");
  http->bodies["sites"] = "[]";
  auto noSites = run("network", configText(""), http);
  ASSERT_FALSE(noSites.has_value());
  EXPECT_EQ(noSites.error().errnum, EBADMSG);
  EXPECT_TRUE(has(noSites.error().message(), "no site while /devices listed"));

  http->bodies["sites"] = R"({"error": "maintenance"})";
  auto notArray = run("network", configText(""), http);
  ASSERT_FALSE(notArray.has_value());
  EXPECT_TRUE(has(notArray.error().message(), "GET https://uisp.test/nms/api/v2.1/sites"));
  EXPECT_TRUE(has(notArray.error().message(), "expected a JSON array"));

  http->bodies.erase("sites");
  http->bodies["devices"] = R"([{"identification": {"hostname": "no id"}}])";
  auto noId = run("network", configText(""), http);
  ASSERT_FALSE(noId.has_value());
  EXPECT_TRUE(has(noId.error().message(), "element 0 is not an object with an id"));

  http->bodies["devices"] = R"([{"identification": )";
  auto truncated = run("network", configText(""), http);
  ASSERT_FALSE(truncated.has_value());
  EXPECT_EQ(truncated.error().errnum, EBADMSG);
}

TEST(Uisp, HttpErrorsArePassedOnAndBadConfigIsRefused) {
  std::string wrongToken = configText("");
  wrongToken.replace(wrongToken.find("fixture-token"), 13, "stale-token12");
  auto refused = run("network", wrongToken);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().errnum, EACCES);
  EXPECT_TRUE(has(refused.error().message(), "/nms/api/v2.1/sites"));

  std::string noUrl = configText("");
  noUrl.replace(noUrl.find("https://uisp.test/"), 18, "");
  auto missing = run("network", noUrl);
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(has(missing.error().message(), "uisp_integration.url is empty"));

  auto badMode = run("network", configText("", "strategy = \"star\"\n"));
  ASSERT_FALSE(badMode.has_value());
  EXPECT_TRUE(has(badMode.error().message(), "uisp_integration.strategy = \"star\""));
}

// The lab's fixture (tests/data/integrations/uisp/lab, used by the namespace lab's sync test):
// the root found from its uplink, circuits 1001-1004 at 5/10/25/50 Mbit/s under the one AP.
TEST(Uisp, LabFixtureBuildsTheLabCircuits) {
  auto files = run("lab", configText("", "site = \"\"\n"));
  ASSERT_TRUE(files.has_value()) << files.error().message();
  auto back = expectModelAccepts(*files, configText("", "site = \"\"\n"));
  EXPECT_EQ(back, 4u);
  for (const char* row : {"\"1001\",\"Ann Abernathy\",\"cpe-1001\"", "\"5\",\"1\",\"5\",\"1\"",
                          "\"10\",\"2\",\"10\",\"2\"", "\"25\",\"5\",\"25\",\"5\"",
                          "\"50\",\"10\",\"50\",\"10\""}) {
    EXPECT_TRUE(has(files->shapedDevicesCsv, row)) << row << "\n" << files->shapedDevicesCsv;
  }
  EXPECT_TRUE(has(files->shapedDevicesCsv, "\"Riverbend AP1-N\",\"uisp:device:dev-ap1\""));
}

TEST(Uisp, NoIntegrationEnabledGivesNone) {
  auto integration = makeEnabledIntegration(parseConfigText(R"(
[bridge]
to_internet = "eth0"
to_network = "eth1"
)"),
                                            nullptr);
  ASSERT_TRUE(integration.has_value());
  EXPECT_EQ(*integration, nullptr);
}

}  // namespace
}  // namespace sluice::integrations
