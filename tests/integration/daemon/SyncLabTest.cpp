// The UISP integration end to end in the namespace lab (issue 15): sluiced runs with
// [uisp_integration] pointed at tests/fakes/vendor_server.py serving tests/data/integrations/
// uisp/lab inside the shaper namespace (where sluiced's loopback is). The lab starts from the
// demo's hand-written inputs; then
//   1. the first sync would remove most of the demo's circuits: the mass-change guard holds it,
//      nothing changes until `sluice integration approve`, which installs the four UISP circuits;
//   2. the same sync again is "unchanged" and costs no kernel operation;
//   3. client 1002's plan speed changes in UISP (10 -> 20 Mbit/s down): one sync turns it into a
//      class change (no rebuild) while a probe runs through neighbouring circuit 1001 and loses
//      nothing, and iperf3 through 1002 measures the new rate within 10 %;
//   4. the vendor answers 500: the sync fails, names the cause, and the inputs in force stay.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"
#include "common/Process.h"
#include "lab/Lab.h"
#include "lab/Layout.h"
#include "lab/Probe.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::seconds;

const std::string kSluice = SLUICE_BINARY_DIR "/src/cli/sluice";
const std::string kSluiced = SLUICE_BINARY_DIR "/src/daemon/sluiced";
const std::string kLabDir = "/run/sluice-lab-sync";
const std::string kFixture = SLUICE_SOURCE_DIR "/tests/data/integrations/uisp/lab";
const std::string kServer = SLUICE_SOURCE_DIR "/tests/fakes/vendor_server.py";
constexpr int kPort = 18089;  // inside the shaper namespace: nobody else listens there

process::CommandOutput sluice(process::Argv args, seconds timeout = seconds(300)) {
  args.insert(args.begin(), kSluice);
  auto out = process::run(args, {}, timeout);
  return out ? *out : process::CommandOutput{-1, "", out.error().message()};
}

// curl inside the shaper namespace, to the fake server's control endpoints.
process::CommandOutput control(const std::string& method, const std::string& path,
                               const std::string& body = "") {
  process::Argv argv{"ip", "netns", "exec", lab::kShaperNs, "curl", "-sS", "-X", method,
                     fmt::format("http://127.0.0.1:{}{}", kPort, path)};
  if (!body.empty()) {
    argv.insert(argv.end(), {"--data-binary", "@-"});
  }
  auto out = process::run(argv, body, seconds(20));
  return out ? *out : process::CommandOutput{-1, "", out.error().message()};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class SyncLab : public ::testing::Test {
 protected:
  void SetUp() override {
    sluice({"lab", "--state-dir", kLabDir, "down"});
    ASSERT_FALSE(fs::exists("/run/netns/shaper")) << "another lab is up (netns shaper exists)";
    tmp_ = fs::temp_directory_path() / fmt::format("sluice-sync-lab-{}", getpid());
    fs::create_directories(tmp_);
    std::ofstream(tmp_ / "lqos.conf") << fmt::format(R"(version = "1.5"
lqos_directory = "."
node_id = "sluice-sync-lab"
node_name = "sync lab"

[bridge]
use_xdp_bridge = false
to_internet = "shp-inet"
to_network = "shp-subs"

[queues]
default_sqm = "cake diffserv4"
uplink_bandwidth_mbps = 1000
downlink_bandwidth_mbps = 1000
generated_pn_download_mbps = 1000
generated_pn_upload_mbps = 1000

[ip_ranges]
allow_subnets = ["100.64.0.0/10", "2001:db8::/32"]

[sluice]
network_json = "network.json"
shaped_devices_csv = "ShapedDevices.csv"
leaf_fallback = "pfifo"

[integration_common]
queue_refresh_interval_mins = 60

[uisp_integration]
enable_uisp = true
url = "http://127.0.0.1:{}"
token = "lab-token"
site = "Riverbend"
strategy = "full"
commit_bandwidth_multiplier = 0.25

[sync]
mass_change_threshold_percent = 10
)",
                                                     kPort);
    const auto up =
        sluice({"lab", "--state-dir", kLabDir, "up", "--sluiced", kSluiced, "--config",
                (tmp_ / "lqos.conf").string(), "--network",
                SLUICE_SOURCE_DIR "/examples/network.json", "--devices",
                SLUICE_SOURCE_DIR "/examples/ShapedDevices.csv"});
    ASSERT_EQ(up.exitCode, 0) << up.out << up.err;
    auto state = lab::loadLabState(kLabDir);
    ASSERT_TRUE(state) << state.error().message();
    state_ = *state;
    auto server = process::Child::start({"ip", "netns", "exec", lab::kShaperNs, "python3",
                                         kServer, "--uisp", kFixture, "--uisp-token",
                                         "lab-token", "--port", std::to_string(kPort)});
    ASSERT_TRUE(server) << server.error().message();
    server_.emplace(std::move(*server));
    // Ready when the control endpoint answers.
    for (int i = 0; i < 50 && control("GET", "/_control/requests").exitCode != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(control("GET", "/_control/requests").exitCode, 0) << "fake UISP did not start";
  }

  void TearDown() override {
    server_.reset();  // SIGKILLs the server
    if (HasFailure()) {
      std::error_code ec;
      fs::copy_file(kLabDir + "/sluiced.log", "/tmp/sync-lab-sluiced.log",
                    fs::copy_options::overwrite_existing, ec);
      fmt::print("sluiced's log: /tmp/sync-lab-sluiced.log\n");
    }
    sluice({"lab", "--state-dir", kLabDir, "down"});
    fs::remove_all(tmp_);
  }

  // `sluice integration ARGS --json`: exit code and the parsed answer.
  std::pair<int, Json> integration(process::Argv args) {
    args.insert(args.begin(), {"integration"});
    args.insert(args.end(), {"--socket", state_.socket, "--json"});
    const auto out = sluice(args, seconds(120));
    return {out.exitCode, Json::parse(out.out, nullptr, false)};
  }

  Json status() {
    auto r = api::request(state_.socket, "GET", "/api/status");
    return r ? r->body : Json();
  }

  fs::path tmp_;
  lab::LabState state_;
  std::optional<process::Child> server_;
};

TEST_F(SyncLab, GuardApproveIdempotenceSpeedChangeAndVendorFailure) {
  // 1. The guard: the UISP view has 4 of the demo's circuits; the rest would be removed.
  auto [heldCode, held] = integration({"run"});
  ASSERT_EQ(heldCode, 1) << held.dump(1);
  ASSERT_EQ(held.value("outcome", ""), "held") << held.dump(1);
  EXPECT_GT(held["changes"]["circuits_removed"]["count"].get<int>(), 10);
  const std::string demoCsv = slurp(state_.devices);
  EXPECT_NE(demoCsv.find("1005,22 Oak St"), std::string::npos);  // untouched while held
  auto [approveCode, approved] = integration({"approve"});
  ASSERT_EQ(approveCode, 0) << approved.dump(1);
  ASSERT_EQ(approved.value("outcome", ""), "applied") << approved.dump(1);
  Json s = status();
  EXPECT_EQ(s.value("circuits", 0), 4) << s.dump(1);
  EXPECT_EQ(s["input_mode"].value("integration", ""), "uisp");

  // 2. The same sync again changes nothing, in the files and in the kernel.
  const uint64_t applies = status()["bakery"].value("applies", uint64_t{0});
  auto [sameCode, same] = integration({"run"});
  EXPECT_EQ(sameCode, 0) << same.dump(1);
  EXPECT_EQ(same.value("outcome", ""), "unchanged") << same.dump(1);
  EXPECT_EQ(status()["bakery"].value("applies", uint64_t{0}), applies);

  // 3. A plan speed change in UISP, under a probe through the neighbouring circuit 1001.
  Json sites = Json::parse(slurp(kFixture + "/sites.json"));
  for (Json& site : sites) {
    if (site.value("id", "") == "1002") {
      site["qos"]["downloadSpeed"] = 20'000'000;
    }
  }
  ASSERT_EQ(control("PUT", "/_control/fixture/uisp/sites.json", sites.dump()).exitCode, 0);
  auto probe = lab::startCircuitProbe(state_, "1001", 500);
  ASSERT_TRUE(probe) << probe.error().message();
  std::this_thread::sleep_for(seconds(1));
  auto [speedCode, speed] = integration({"run"});
  std::this_thread::sleep_for(seconds(1));
  const lab::ProbeReport report = (*probe)->stop();
  ASSERT_EQ(speedCode, 0) << speed.dump(1);
  ASSERT_EQ(speed.value("outcome", ""), "applied") << speed.dump(1);
  const Json& changes = speed["changes"];
  ASSERT_EQ(changes["speed_changes"]["count"], 1) << changes.dump(1);
  EXPECT_EQ(changes["speed_changes"]["items"][0]["circuit_id"], "1002");
  EXPECT_EQ(changes["circuits_added"]["count"], 0);
  EXPECT_EQ(changes["circuits_removed"]["count"], 0);
  const Json last = status()["bakery"]["last_apply"];
  EXPECT_NE(last.value("mode", ""), "full") << last.dump(1);
  EXPECT_LE(last.value("tc_ops", 99), 2) << last.dump(1);  // the class, both directions at most
  EXPECT_EQ(report.lost, 0u) << report.toJson().dump(1);
  EXPECT_GT(report.received, 500u);
  const auto traffic = sluice({"lab", "--state-dir", kLabDir, "traffic", "1002", "--seconds",
                               "5", "--json"},
                              seconds(120));
  EXPECT_EQ(traffic.exitCode, 0) << traffic.out << traffic.err;  // within 10 % of 20 Mbit/s
  const Json rates = Json::parse(traffic.out, nullptr, false);
  fmt::print(stderr, "speed change: {} tc ops ({}), probe through 1001: {}\niperf3 1002: {}\n",
             last.value("tc_ops", -1), last.value("mode", ""), report.toJson().dump(),
             traffic.out);
  ASSERT_TRUE(rates.is_array() && rates.size() == 1) << traffic.out;
  EXPECT_EQ(rates[0].value("planned_down_mbps", 0.0), 20.0) << traffic.out;
  EXPECT_TRUE(rates[0].value("within_tolerance", false)) << traffic.out;

  // 4. The vendor fails: nothing changes, the cause is named, an urgent issue is raised.
  const std::string before = slurp(state_.devices);
  ASSERT_EQ(control("POST", "/_control/fail", R"({"mode": "500"})").exitCode, 0);
  auto [failCode, failed] = integration({"run"});
  EXPECT_EQ(failCode, 1);
  EXPECT_EQ(failed.value("outcome", ""), "failed") << failed.dump(1);
  EXPECT_NE(failed.value("message", "").find("500"), std::string::npos) << failed.dump(1);
  EXPECT_EQ(slurp(state_.devices), before);
  EXPECT_EQ(status().value("circuits", 0), 4);
  auto urgent = api::request(state_.socket, "GET", "/api/urgent");
  ASSERT_TRUE(urgent);
  EXPECT_NE(urgent->body.dump().find("sync-failed"), std::string::npos) << urgent->body.dump(1);
}

}  // namespace
}  // namespace sluice
