#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "planner/QueueProbe.h"

namespace sluice::plan {
namespace {

namespace fs = std::filesystem;

class QueueProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("sluice-sysfs-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void makeInterface(const std::string& name, int tx, int rx) {
    for (int i = 0; i < tx; ++i) {
      fs::create_directories(root_ / name / "queues" / ("tx-" + std::to_string(i)));
    }
    for (int i = 0; i < rx; ++i) {
      fs::create_directories(root_ / name / "queues" / ("rx-" + std::to_string(i)));
    }
  }
  fs::path root_;
};

config::Config bridge() {
  config::Config c;
  c.bridge = config::BridgeConfig{true, "up0", "dn0"};
  return c;
}

TEST_F(QueueProbeTest, CountsTxEntriesOnly) {
  makeInterface("eth9", 6, 3);
  EXPECT_EQ(countTxQueues("eth9", root_.string()), 6u);
  EXPECT_EQ(countTxQueues("missing", root_.string()), std::nullopt);
}

TEST_F(QueueProbeTest, MinimumOverBridgeInterfaces) {
  makeInterface("up0", 8, 8);
  makeInterface("dn0", 4, 4);
  const auto probe = probeTxQueues(bridge(), std::nullopt, 16, root_.string());
  EXPECT_EQ(probe.txQueues, 4u);
  EXPECT_EQ(probe.source, QueueCountSource::Sysfs);
  EXPECT_EQ(describeQueueCount(bridge(), probe, 16, 4),
            "4 queue(s) per direction: min(4 tx queues (sysfs), 16 CPUs)");
}

TEST_F(QueueProbeTest, CommandLineThenSysfsThenOverrideThenCpus) {
  makeInterface("up0", 8, 8);
  auto config = bridge();
  EXPECT_EQ(probeTxQueues(config, 3u, 16, root_.string()).source, QueueCountSource::CommandLine);
  // dn0 missing: sysfs does not apply.
  EXPECT_EQ(probeTxQueues(config, std::nullopt, 16, root_.string()).source,
            QueueCountSource::CpuCount);
  EXPECT_EQ(probeTxQueues(config, std::nullopt, 16, root_.string()).txQueues, 16u);
  config.queues.overrideAvailableQueues = 5;
  const auto probe = probeTxQueues(config, std::nullopt, 16, root_.string());
  EXPECT_EQ(probe.source, QueueCountSource::Override);
  EXPECT_EQ(probe.txQueues, 5u);
  EXPECT_EQ(describeQueueCount(config, probe, 16, 5),
            "5 queue(s) per direction: queues.override_available_queues = 5");
}

TEST_F(QueueProbeTest, StickUsesItsOneInterface) {
  makeInterface("bond0", 12, 12);
  config::Config config;
  config.singleInterface = config::SingleInterfaceConfig{"bond0", 2, 3};
  const auto probe = probeTxQueues(config, std::nullopt, 32, root_.string());
  EXPECT_EQ(probe.txQueues, 12u);
  EXPECT_EQ(describeQueueCount(config, probe, 32, 6),
            "6 queue(s) per direction: min(12 tx queues (sysfs), 32 CPUs), halved on a stick");
}

}  // namespace
}  // namespace sluice::plan
