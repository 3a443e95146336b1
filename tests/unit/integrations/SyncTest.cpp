// The sync's promises with a custom pipeline (a /bin/sh script as the operator's command) and a
// host that reloads from the files like sluiced does: nothing lost on any failure, nothing written
// when nothing changed, the mass-change guard, approval, and restore after a refused reload.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "integrations/Sync.h"

namespace sluice::integrations {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

constexpr const char* kHeader =
    "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min Mbps,"
    "Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment\n";

std::string devices(int circuits, int firstMaxMbps = 100) {
  std::string csv = kHeader;
  for (int i = 1; i <= circuits; ++i) {
    csv += "c" + std::to_string(i) + ",Customer " + std::to_string(i) + ",d" + std::to_string(i) +
           ",cpe,AP_A,,100.64.0." + std::to_string(i) + ",,10,5," +
           std::to_string(i == 1 ? firstMaxMbps : 100) + ",20,\n";
  }
  return csv;
}

constexpr const char* kNetwork =
    R"({"Site_1": {"downloadBandwidthMbps": 1000, "uploadBandwidthMbps": 1000,
        "children": {"AP_A": {"downloadBandwidthMbps": 500, "uploadBandwidthMbps": 500}}}})";

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice-sync-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
    fs::create_directories(dir_ / "source");
    spit(dir_ / "network.json", kNetwork);
    spit(dir_ / "ShapedDevices.csv", devices(20));
    // The operator's pipeline: copies whatever the test put in source/ into the staging dir.
    spit(dir_ / "export.sh",
         "#!/bin/sh\nset -e\n[ -f \"$2/fail\" ] && { echo 'CRM said 503' >&2; exit 3; }\n"
         "[ -f \"$2/sleep\" ] && sleep 5\n"
         "cp \"$2/network.json\" \"$2/ShapedDevices.csv\" \"$1/\"\n");
    writeConfig(10);
    setSource(kNetwork, devices(20));
    reloadInForce();
    SyncHost host;
    host.configPath = (dir_ / "lqos.conf").string();
    host.inputsInForce = [this] { return inForce_; };
    host.reload = [this]() -> Result<void> {
      ++reloads_;
      if (refuseReload_) {
        return makeError(0, "reload", "refused by the test");
      }
      reloadInForce();
      return {};
    };
    runner_ = std::make_unique<SyncRunner>(host, (dir_ / "state").string(), nullptr);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void writeConfig(int thresholdPercent, int timeoutSeconds = 20) {
    spit(dir_ / "lqos.conf",
         "[bridge]\nto_internet = \"eth0\"\nto_network = \"eth1\"\n"
         "[sluice]\nnetwork_json = \"network.json\"\nshaped_devices_csv = \"ShapedDevices.csv\"\n"
         "state_directory = \"" + (dir_ / "state").string() + "\"\n"
         "[sync]\nmode = \"custom\"\ncustom_command = [\"/bin/sh\", \"" +
             (dir_ / "export.sh").string() + "\", \"{staging}\", \"" +
             (dir_ / "source").string() + "\"]\ntimeout_seconds = " +
             std::to_string(timeoutSeconds) +
             "\nmass_change_threshold_percent = " + std::to_string(thresholdPercent) + "\n");
  }
  void setSource(const std::string& network, const std::string& csv) {
    spit(dir_ / "source" / "network.json", network);
    spit(dir_ / "source" / "ShapedDevices.csv", csv);
  }
  void reloadInForce() {
    model::InputPaths paths;
    paths.config = (dir_ / "lqos.conf").string();
    auto inputs = std::make_shared<model::Inputs>(model::loadInputs(paths));
    ASSERT_TRUE(inputs->ok());
    inForce_ = inputs;
  }
  std::string operatorCsv() { return slurp(dir_ / "ShapedDevices.csv"); }

  fs::path dir_;
  std::shared_ptr<const model::Inputs> inForce_;
  std::unique_ptr<SyncRunner> runner_;
  int reloads_ = 0;
  bool refuseReload_ = false;
};

TEST_F(SyncTest, SameInputsTwiceWriteAndApplyNothing) {
  auto out = runner_->run(false);
  EXPECT_EQ(out.kind, SyncOutcome::Kind::Unchanged) << out.message;
  EXPECT_TRUE(out.changes.empty());
  EXPECT_EQ(reloads_, 0);
  EXPECT_EQ(runner_->run(false).kind, SyncOutcome::Kind::Unchanged);
  EXPECT_EQ(reloads_, 0);
}

TEST_F(SyncTest, ASpeedChangeIsInstalledAndReloadedOnceThenNothing) {
  setSource(kNetwork, devices(20, 250));
  auto out = runner_->run(false);
  ASSERT_EQ(out.kind, SyncOutcome::Kind::Applied) << out.message;
  ASSERT_EQ(out.changes.speedChanges.size(), 1u);
  EXPECT_EQ(out.changes.speedChanges[0].circuitId, "c1");
  EXPECT_EQ(out.changes.speedChanges[0].downloadMaxMbps[0], 100);
  EXPECT_EQ(out.changes.speedChanges[0].downloadMaxMbps[1], 250);
  EXPECT_EQ(reloads_, 1);
  EXPECT_EQ(operatorCsv(), devices(20, 250));
  EXPECT_EQ(runner_->run(false).kind, SyncOutcome::Kind::Unchanged);
  EXPECT_EQ(reloads_, 1);
}

TEST_F(SyncTest, DryRunReportsWithoutWriting) {
  setSource(kNetwork, devices(21));
  auto out = runner_->run(true);
  EXPECT_EQ(out.kind, SyncOutcome::Kind::DryRun);
  EXPECT_EQ(out.changes.circuitsAdded, std::vector<std::string>{"c21"});
  EXPECT_EQ(operatorCsv(), devices(20));
  EXPECT_EQ(reloads_, 0);
}

TEST_F(SyncTest, FailingCommandKeepsEverything) {
  setSource(kNetwork, devices(20, 250));
  spit(dir_ / "source" / "fail", "");
  auto out = runner_->run(false);
  EXPECT_EQ(out.kind, SyncOutcome::Kind::Failed);
  EXPECT_NE(out.message.find("exit status 3"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("CRM said 503"), std::string::npos) << out.message;
  EXPECT_EQ(operatorCsv(), devices(20));
  EXPECT_EQ(reloads_, 0);
}

TEST_F(SyncTest, CommandTimeoutKeepsEverything) {
  writeConfig(10, 1);
  reloadInForce();
  spit(dir_ / "source" / "sleep", "");
  auto out = runner_->run(false);
  EXPECT_EQ(out.kind, SyncOutcome::Kind::Failed);
  EXPECT_LT(out.durationMs, 4000);
  EXPECT_EQ(operatorCsv(), devices(20));
}

TEST_F(SyncTest, InvalidProducedFilesAreRefusedWithTheirLocation) {
  std::string bad = devices(20);
  bad += "c99,Bad,d99,cpe,AP_A,,100.64.0.99,,ten,5,100,20,\n";
  setSource(kNetwork, bad);
  auto out = runner_->run(false);
  EXPECT_EQ(out.kind, SyncOutcome::Kind::Failed);
  EXPECT_NE(out.message.find("ShapedDevices.csv:22:36"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("ten"), std::string::npos) << out.message;
  EXPECT_EQ(operatorCsv(), devices(20));
  EXPECT_EQ(reloads_, 0);
}

TEST_F(SyncTest, AnEmptyCustomerListIsHeldUntilApproved) {
  setSource(kNetwork, kHeader);
  auto out = runner_->run(false);
  ASSERT_EQ(out.kind, SyncOutcome::Kind::Held) << out.message;
  EXPECT_EQ(out.changes.circuitsRemoved.size(), 20u);
  EXPECT_EQ(operatorCsv(), devices(20));
  EXPECT_EQ(reloads_, 0);
  EXPECT_FALSE(runner_->status()["pending"].is_null());
  auto approved = runner_->approve();
  ASSERT_EQ(approved.kind, SyncOutcome::Kind::Applied) << approved.message;
  EXPECT_EQ(operatorCsv(), kHeader);
  EXPECT_EQ(reloads_, 1);
  EXPECT_TRUE(runner_->status()["pending"].is_null());
  EXPECT_EQ(runner_->approve().kind, SyncOutcome::Kind::Failed);  // nothing held any more
}

TEST_F(SyncTest, RemovalsBelowTheThresholdPass) {
  setSource(kNetwork, devices(19));  // 1 of 20 = 5 % <= 10 %
  auto out = runner_->run(false);
  EXPECT_EQ(out.kind, SyncOutcome::Kind::Applied) << out.message;
  EXPECT_EQ(out.changes.circuitsRemoved, std::vector<std::string>{"c20"});
}

TEST_F(SyncTest, ARefusedReloadPutsThePreviousFilesBack) {
  setSource(kNetwork, devices(20, 250));
  refuseReload_ = true;
  auto out = runner_->run(false);
  EXPECT_EQ(out.kind, SyncOutcome::Kind::Failed);
  EXPECT_NE(out.message.find("refused by the test"), std::string::npos) << out.message;
  EXPECT_EQ(reloads_, 1);
  EXPECT_EQ(operatorCsv(), devices(20));
  EXPECT_EQ(slurp(dir_ / "network.json"), kNetwork);
}

TEST_F(SyncTest, StatusAnswersWhileASyncRuns) {
  writeConfig(10, 20);
  reloadInForce();
  spit(dir_ / "source" / "sleep", "");  // the command takes 5 s
  std::thread sync([&] { runner_->run(false); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  const nlohmann::json s = runner_->status();
  const auto waited = std::chrono::steady_clock::now() - t0;
  sync.join();
  EXPECT_EQ(s.value("mode", ""), "custom");
  EXPECT_LT(waited, std::chrono::seconds(1));
}

TEST(SyncSettings, ModeFollowsTheEnabledIntegrationUnlessSet) {
  config::Config c;
  EXPECT_EQ(syncSettings(c)->mode, InputMode::Manual);
  c.otherSections["splynx_integration"]["enable_splynx"] = "true";
  c.otherSections["integration_common"]["queue_refresh_interval_mins"] = "5";
  auto s = syncSettings(c);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->mode, InputMode::Integration);
  EXPECT_EQ(s->integration, "splynx");
  EXPECT_EQ(s->interval, std::chrono::minutes(5));
  c.otherSections["sync"]["mode"] = "\"manual\"";
  EXPECT_EQ(syncSettings(c)->mode, InputMode::Manual);
  c.otherSections["sync"]["mode"] = "\"custom\"";
  EXPECT_FALSE(syncSettings(c));  // no custom_command
}

}  // namespace
}  // namespace sluice::integrations
