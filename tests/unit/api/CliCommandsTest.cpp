// `sluice status`, `sluice reload` and the remote `sluice check` against a fake daemon.

#include <string>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ApiTestSupport.h"
#include "api/ControlServer.h"
#include "cli/RemoteCheck.h"

// main.cpp owns the exit code and the declarations are the lead's Commands.h; the test provides
// the same definitions so that the command files link alone.
namespace sluice::cli {
namespace {
int gExitCode = -1;
}  // namespace
void setExitCode(int code) { gExitCode = code; }
int exitCode() { return gExitCode; }
void addStatusCommand(CLI::App& app);
void addReloadCommand(CLI::App& app);
}  // namespace sluice::cli

namespace sluice::cli {
namespace {

using api::test::FakeHandler;
using nlohmann::json;

json fullStatus() {
  return json::parse(R"({
    "state": "ready", "pid": 4242, "version": "0.1.0", "config": "/etc/lqos.conf",
    "mode": "bridge", "queue_mode": "shape",
    "interfaces": [{"name": "eth1", "role": "to_network", "tx_queues": 8, "xdp_mode": "native"},
                   {"name": "eth2", "role": "to_internet", "tx_queues": 4,
                    "xdp_mode": "generic"}],
    "queues": 8, "nodes": 12, "circuits": 50, "devices": 70, "addresses": 120,
    "leaf": {"configured": "cake", "active": "pfifo", "fallback": true,
             "reason": "sch_cake is not in this kernel"},
    "adopted": true,
    "last_reload": {"time": "2026-11-21T14:00:00Z", "trigger": "inotify", "outcome": "refused",
                    "duration_ms": 12.5, "message": "inputs invalid"},
    "refused": {"time": "2026-11-21T14:00:00Z",
                "errors": ["ShapedDevices.csv:7:3: error: bad address [address]",
                           "ShapedDevices.csv:9:1: error: duplicate circuit [duplicate]"],
                "diagnostics": []}
  })");
}

class CliCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/sluiced.sock";
    auto s = api::ControlServer::start(path_, handler_);
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
    gExitCode = -1;
  }

  // Runs `sluice <args> --socket <path_>` and returns what it printed on stdout and stderr.
  std::pair<std::string, std::string> run(const std::string& args) {
    CLI::App app;
    addStatusCommand(app);
    addReloadCommand(app);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    app.parse(args + " --socket " + path_);
    std::string out = ::testing::internal::GetCapturedStdout();
    return {std::move(out), ::testing::internal::GetCapturedStderr()};
  }

  api::test::TempDir dir_;
  std::string path_;
  FakeHandler handler_;
  std::unique_ptr<api::ControlServer> server_;
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(CliCommandsTest, StatusNamesTheHolderQdiscWhenThereIsOne) {
  json s = fullStatus();
  s["queue_holder"] = "tbf";
  handler_.statusResponse = {200, s};
  EXPECT_TRUE(has(run("status").first,
                  "queues: 8, each below a tbf holder qdisc (queue_holder)\n"));
  s["queue_holder"] = "none";
  handler_.statusResponse = {200, s};
  EXPECT_TRUE(has(run("status").first, "queues: 8\n"));
}

TEST_F(CliCommandsTest, StatusSummarizesEverythingAndShoutsAboutTheFallback) {
  handler_.statusResponse = {200, fullStatus()};
  const auto [out, err] = run("status");
  EXPECT_EQ(gExitCode, 0);
  EXPECT_TRUE(has(out, "sluiced: ready (pid 4242, version 0.1.0)")) << out;
  EXPECT_TRUE(has(out, "mode: bridge, queue mode: shape")) << out;
  EXPECT_TRUE(has(out, "eth1 (to_network): 8 tx queues, XDP native")) << out;
  EXPECT_TRUE(has(out, "eth2 (to_internet): 4 tx queues, XDP generic")) << out;
  EXPECT_TRUE(has(out, "queues: 8\n")) << out;
  EXPECT_TRUE(has(out, "shaped: 50 circuits (70 devices, 120 addresses) under 12 nodes")) << out;
  EXPECT_TRUE(has(out, "LEAF FALLBACK ACTIVE: cake IS NOT AVAILABLE, LEAVES RUN pfifo: "
                       "sch_cake is not in this kernel"))
      << out;
  EXPECT_TRUE(has(out, "adopted:")) << out;
  EXPECT_TRUE(has(out, "last reload: refused (inotify) at 2026-11-21T14:00:00Z, 12.5 ms: "
                       "inputs invalid"))
      << out;
  EXPECT_TRUE(has(out, "REFUSED INPUTS")) << out;
  EXPECT_TRUE(has(out, "  ShapedDevices.csv:7:3: error: bad address [address]\n")) << out;
  EXPECT_TRUE(has(out, "  ShapedDevices.csv:9:1: error: duplicate circuit [duplicate]\n")) << out;
  EXPECT_EQ(err, "");
}

TEST_F(CliCommandsTest, StatusOfAHealthyDaemonHasNoAlarms) {
  json status = fullStatus();
  status["leaf"] = {{"configured", "cake"}, {"active", "cake"}, {"fallback", false}};
  status["refused"] = nullptr;
  status["adopted"] = false;
  handler_.statusResponse = {200, status};
  const auto [out, err] = run("status");
  EXPECT_EQ(gExitCode, 0);
  EXPECT_TRUE(has(out, "leaf: cake\n")) << out;
  EXPECT_FALSE(has(out, "FALLBACK")) << out;
  EXPECT_FALSE(has(out, "adopted")) << out;
  EXPECT_TRUE(has(out, "refused inputs: none")) << out;
}

TEST_F(CliCommandsTest, StatusShowsTheBakeryAndLazyQueues) {
  json status = fullStatus();
  status["bakery"] = json::parse(R"({
    "queue_mode": "shape", "applies": 7, "reconciled_at_start": true,
    "last_apply": {"time": "2026-11-21T14:01:00Z", "sequence": 7, "mode": "incremental",
                   "changes": {}, "tc_ops": 3, "map_upserts": 1, "map_removals": 0,
                   "duration_ms": 24.1, "reason": ""},
    "last_transition": null,
    "reload_required": true, "reload_required_cause": "an apply was interrupted",
    "drift": {"time": "2026-11-21T14:02:00Z", "in_sync": false, "differences": 2,
              "first": "eth1 class 1:5 ceil differs", "error": ""}})");
  status["lazy"] = json::parse(R"({"mode": "Htb", "active_circuits": 12, "total_circuits": 50,
    "activations": 30, "expirations": 18, "last_tick_ms": 0.4, "error": ""})");
  handler_.statusResponse = {200, status};
  auto [out, err] = run("status");
  EXPECT_EQ(gExitCode, 0);
  EXPECT_TRUE(has(out, "bakery: shape mode, 7 applies, reconciled with the kernel at start\n"))
      << out;
  EXPECT_TRUE(has(out, "  last apply: #7 incremental at 2026-11-21T14:01:00Z, 3 tc ops, 1 map "
                       "upserts, 0 removals, 24.1 ms\n"))
      << out;
  EXPECT_FALSE(has(out, "last transition")) << out;
  EXPECT_TRUE(has(out, "!!! RELOAD REQUIRED: an apply was interrupted !!!")) << out;
  EXPECT_TRUE(has(out, "DRIFT: the kernel differs from the active state in 2 places (checked "
                       "2026-11-21T14:02:00Z; first: eth1 class 1:5 ceil differs)"))
      << out;
  EXPECT_TRUE(has(out, "lazy queues: Htb, 12 of 50 circuits active, 30 activations, 18 "
                       "expirations, last tick 0.4 ms\n"))
      << out;

  status["bakery"]["reload_required"] = false;
  status["bakery"]["drift"]["in_sync"] = true;
  status["bakery"]["drift"]["differences"] = 0;
  status["lazy"]["mode"] = "No";
  handler_.statusResponse = {200, status};
  std::tie(out, err) = run("status");
  EXPECT_FALSE(has(out, "RELOAD REQUIRED")) << out;
  EXPECT_TRUE(has(out, "  drift: in sync with the kernel (checked 2026-11-21T14:02:00Z)")) << out;
  EXPECT_TRUE(has(out, "lazy queues: off\n")) << out;
}

TEST_F(CliCommandsTest, StatusOfAStartingDaemonPrintsWhatItHas) {
  handler_.statusResponse = {200, {{"state", "starting"}, {"pid", 7}}};
  const auto [out, err] = run("status");
  EXPECT_EQ(gExitCode, 0);
  EXPECT_TRUE(has(out, "sluiced: starting (pid 7, version ?)")) << out;
  EXPECT_TRUE(has(out, "last reload: none yet")) << out;
}

TEST_F(CliCommandsTest, StatusJsonIsTheStatusObject) {
  handler_.statusResponse = {200, fullStatus()};
  const auto [out, err] = run("status --json");
  EXPECT_EQ(gExitCode, 0);
  EXPECT_EQ(json::parse(out), fullStatus());
}

TEST_F(CliCommandsTest, StatusWithoutDaemonFailsNamingTheSocket) {
  server_->stop();
  const auto [out, err] = run("status");
  EXPECT_EQ(gExitCode, 1);
  EXPECT_EQ(out, "");
  EXPECT_TRUE(has(err, path_)) << err;
  EXPECT_TRUE(has(err, "sluiced is not running")) << err;
}

TEST_F(CliCommandsTest, ReloadExitCodesFollowTheOutcome) {
  handler_.reloadResponse = {200, {{"outcome", "applied"}, {"duration_ms", 3.5}}};
  auto [out, err] = run("reload");
  EXPECT_EQ(gExitCode, 0);
  EXPECT_TRUE(has(out, "reload: applied in 3.5 ms")) << out;

  handler_.reloadResponse = {200, {{"outcome", "unchanged"}}};
  std::tie(out, err) = run("reload");
  EXPECT_EQ(gExitCode, 0);
  EXPECT_TRUE(has(out, "reload: unchanged")) << out;

  const json errors = {"network.json:3:5: error: a [x]", "b.csv:1:1: error: b"};
  handler_.reloadResponse = {422, {{"outcome", "refused"}, {"errors", errors}}};
  std::tie(out, err) = run("reload");
  EXPECT_EQ(gExitCode, 1);
  EXPECT_TRUE(has(out, "reload: refused")) << out;
  EXPECT_TRUE(has(out, "network.json:3:5: error: a [x]\n")) << out;
  EXPECT_TRUE(has(out, "b.csv:1:1: error: b\n")) << out;

  handler_.reloadResponse = {500, {{"outcome", "failed"}, {"message", "netlink: EPERM"}}};
  std::tie(out, err) = run("reload");
  EXPECT_EQ(gExitCode, 1);
  EXPECT_TRUE(has(out, "reload: failed: netlink: EPERM")) << out;
  EXPECT_EQ(handler_.reloadCalls, 4);
}

TEST_F(CliCommandsTest, RemoteCheckReportsValidityAndErrors) {
  handler_.checkResponse = {200, {{"valid", true}}};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(runRemoteCheck(path_, false), 0);
  EXPECT_TRUE(has(::testing::internal::GetCapturedStdout(), "valid: 0 error(s)"));

  handler_.checkResponse = {422, {{"valid", false}, {"errors", {"x.csv:2:1: error: bad [c]"}}}};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(runRemoteCheck(path_, false), 1);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(has(out, "x.csv:2:1: error: bad [c]\n")) << out;
  EXPECT_TRUE(has(out, "invalid: 1 error(s)")) << out;

  ::testing::internal::CaptureStdout();
  EXPECT_EQ(runRemoteCheck(path_, true), 1);
  EXPECT_EQ(json::parse(::testing::internal::GetCapturedStdout()), handler_.checkResponse.body);
  EXPECT_EQ(handler_.checkCalls, 3);

  server_->stop();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(runRemoteCheck(path_, false), 1);
  EXPECT_TRUE(has(::testing::internal::GetCapturedStderr(), "sluiced is not running"));
}

}  // namespace
}  // namespace sluice::cli
