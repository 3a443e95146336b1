// `sluice lab up` forwards sluiced's web UI and API from the shaper namespace to the host's
// loopback and creates a lab admin (src/lab/UiForward.h); `sluice lab down` removes the forward.
// Checked from the host as a new user would: curl fetches the UI page, logs in with the printed
// credentials and makes an authenticated API call; the same call without the cookie is refused.
// Needs root, socat and curl; hold /tmp/sluice-lab.lock while it runs.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "LabTestSupport.h"
#include "lab/UiForward.h"

namespace sluice::labtest {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kStateDir = "/run/sluice-lab-ui-test";

class LabUi : public ::testing::Test {
 protected:
  void SetUp() override {
    skip_ = missingCapability({"socat", "curl", "nsenter"});
    if (!skip_.empty()) {
      GTEST_SKIP() << skip_;
    }
    sluice({"lab", "--state-dir", kStateDir, "down"});
  }
  void TearDown() override {
    if (skip_.empty()) {
      sluice({"lab", "--state-dir", kStateDir, "down"});
    }
  }
  std::string skip_;
};

TEST_F(LabUi, ForwardServesUiAndAuthenticatedApiAndGoesAwayOnDown) {
  const CommandOutput up = sluice(
      {"lab", "--state-dir", kStateDir, "up", "--config", kDemoConfig, "--sluiced", kSluiced});
  ASSERT_EQ(up.exitCode, 0) << up.out << up.err;

  auto access = lab::loadUiAccess(kStateDir);
  ASSERT_TRUE(access.has_value()) << up.out;
  EXPECT_NE(up.out.find("web UI: " + access->url), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("password " + access->password), std::string::npos) << up.out;
  EXPECT_EQ(access->user, "admin");
  EXPECT_EQ(access->password.size(), 20u);
  struct stat info {};
  ASSERT_EQ(::stat((kStateDir + "/ui.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "the credentials file must be private";
  ASSERT_EQ(access->url.rfind("http://127.0.0.1:", 0), 0u) << access->url;

  // The UI's page (the built web/ bundle) from the host's loopback.
  const CommandOutput page = sh("curl -sS -w '\\n%{http_code}' --max-time 10 " + access->url);
  EXPECT_EQ(page.exitCode, 0) << page.err;
  EXPECT_NE(page.out.find("<html"), std::string::npos) << page.out.substr(0, 400);
  EXPECT_TRUE(page.out.ends_with("\n200")) << page.out.substr(0, 400);

  // No credentials: the API refuses (the forward does not bypass authentication).
  const CommandOutput anonymous =
      sh("curl -sS -o /dev/null -w '%{http_code}' --max-time 10 " + access->url + "api/summary");
  EXPECT_EQ(anonymous.out, "401");

  // Log in with the printed credentials, then an authenticated call.
  const std::string jar = kStateDir + "/test-cookies";
  const Json login{{"username", access->user}, {"password", access->password}};
  const CommandOutput loggedIn =
      sh("curl -sS --max-time 20 -c " + jar + " -H 'Content-Type: application/json' -d '" +
         login.dump() + "' " + access->url + "api/login");
  ASSERT_EQ(loggedIn.exitCode, 0) << loggedIn.err;
  const Json me = Json::parse(loggedIn.out, nullptr, false);
  ASSERT_TRUE(me.is_object()) << loggedIn.out;
  EXPECT_EQ(me.value("role", ""), "admin") << loggedIn.out;

  const CommandOutput summary =
      sh("curl -sS --fail --max-time 10 -b " + jar + " " + access->url + "api/summary");
  ASSERT_EQ(summary.exitCode, 0) << summary.err;
  const Json body = Json::parse(summary.out, nullptr, false);
  ASSERT_TRUE(body.is_object()) << summary.out.substr(0, 400);
  EXPECT_TRUE(body.contains("queues")) << summary.out.substr(0, 400);

  // What the circuit page's capture button does: POST with the session's CSRF token, then
  // download the file with the cookie alone.
  const std::string csrf = me.value("csrf_token", "");
  const CommandOutput started =
      sh("curl -sS --max-time 10 -b " + jar +
         " -H 'Content-Type: application/json' -H 'X-CSRF-Token: " + csrf +
         "' -d '{\"circuit\":\"1001\",\"seconds\":1}' " + access->url + "api/capture");
  const Json capture = Json::parse(started.out, nullptr, false);
  ASSERT_TRUE(capture.is_object() && capture.contains("id")) << started.out << started.err;
  std::string pcap;
  for (int i = 0; i < 30 && pcap.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const CommandOutput got =
        sh("curl -sS --max-time 10 -b " + jar + " -o " + kStateDir + "/ui.pcap -w '%{http_code}' " +
           access->url + "api/capture/" + capture["id"].get<std::string>());
    if (got.out == "200") {
      std::ifstream in(kStateDir + "/ui.pcap", std::ios::binary);
      pcap.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  ASSERT_GE(pcap.size(), 24u) << "no pcap file through the forward";
  EXPECT_EQ(pcap.substr(0, 4), std::string("\xd4\xc3\xb2\xa1", 4)) << "pcap magic, little-endian";

  const CommandOutput status = sluice({"lab", "--state-dir", kStateDir, "status", "--json"});
  EXPECT_NE(status.out.find(access->url), std::string::npos) << "lab.json records the URL";

  // Down: the listener and the socat process group are gone.
  const int pid = access->forwardPid;
  ASSERT_GT(pid, 0);
  const CommandOutput down = sluice({"lab", "--state-dir", kStateDir, "down"});
  EXPECT_EQ(down.exitCode, 0) << down.err;
  EXPECT_FALSE(process::processAlive(pid));
  auto endpoint = lab::parseEndpoint(access->listen);
  ASSERT_TRUE(endpoint.has_value());
  auto after = lab::httpStatus(*endpoint, "/health", 2000);
  ASSERT_FALSE(after.has_value()) << "something still answers on " << access->listen;
  EXPECT_EQ(after.error().errnum, ECONNREFUSED);
}

TEST_F(LabUi, ExplicitListenAddressInUseIsRefusedBeforeBuilding) {
  // Hold a port, then ask for it: lab up must refuse and build nothing.
  auto chosen = lab::chooseUiEndpoint("");
  ASSERT_TRUE(chosen.has_value());
  const std::string address = chosen->toString();
  const CommandOutput holder = sh("socat -T 30 TCP4-LISTEN:" + std::to_string(chosen->port) +
                                  ",bind=127.0.0.1 /dev/null >/dev/null 2>&1 & echo $!");
  const std::string holderPid = holder.out.substr(0, holder.out.find('\n'));
  for (int i = 0; i < 50 && lab::chooseUiEndpoint(address).has_value(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const CommandOutput up = sluice({"lab", "--state-dir", kStateDir, "up", "--config", kDemoConfig,
                                   "--sluiced", kSluiced, "--ui-listen", address});
  sh("kill " + holderPid);
  EXPECT_EQ(up.exitCode, 1);
  EXPECT_NE(up.err.find(address), std::string::npos) << up.err;
  EXPECT_FALSE(fs::exists("/run/netns/shaper")) << "nothing may be built";
}

}  // namespace
}  // namespace sluice::labtest
