// Bakery::apply end to end against the kernel model (ModelOpRunner) and a recording map writer:
// build, every change class, no-op, failure mid-apply, restart from the persisted state,
// hitless rebuild, observe and back.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "BakeryTestUtil.h"

namespace sluice::bakery {
namespace {

using testing::planOf;
using testing::smallIsp;

class BakeryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limits_.memoryAvailableBytes = 64ull << 30;
    bakery_ = std::make_unique<Bakery>(runner_, writer_, dir_.path(), limits_);
    // The invariant of every step: no mapping points at a class that does not exist.
    runner_.setAfterEachOp([this](const TcOp& op) {
      const std::string bad = testing::danglingMapping(writer_.inner, runner_);
      EXPECT_EQ(bad, "") << "after " << describe(op);
    });
    writer_.check = [this] {
      const std::string bad = testing::danglingMapping(writer_.inner, runner_);
      EXPECT_EQ(bad, "") << "after a map write";
    };
  }

  ApplyReport apply(const model::Model& m) {
    auto r = bakery_->apply(planOf(m));
    EXPECT_TRUE(r) << r.error().message();
    expectInSync();
    return r ? *r : ApplyReport{};
  }

  void expectInSync() {
    ASSERT_NE(bakery_->active(), nullptr);
    auto diffs = runner_.liveDifferences(*bakery_->active());
    ASSERT_TRUE(diffs);
    EXPECT_TRUE(diffs->empty()) << diffs->size() << " differences, first: " << diffs->front();
    std::map<IpNet, plan::AddressMapping> want;
    for (const auto& m : bakery_->active()->addresses) want.emplace(m.prefix, m);
    EXPECT_EQ(writer_.inner.table(), want);
  }

  testing::TempDir dir_;
  Limits limits_;
  ModelOpRunner runner_;
  testing::CheckingMapWriter writer_;
  std::unique_ptr<Bakery> bakery_;
};

TEST_F(BakeryTest, BuildsThenAppliesEveryChangeClassIncrementally) {
  auto m = smallIsp(40);
  auto r = apply(m);
  EXPECT_EQ(r.mode, "build");
  EXPECT_EQ(writer_.inner.calls().size(), 1u);

  // No-op.
  r = apply(m);
  EXPECT_EQ(r.mode, "noop");
  EXPECT_EQ(r.tcOps, 0u);

  // Speed change: 2 class changes, no map write.
  const size_t calls = writer_.inner.calls().size();
  m.shaped.circuits[3].downloadMaxMbps = 99;
  m.shaped.circuits[3].uploadMaxMbps = 19;
  r = apply(m);
  EXPECT_EQ(r.mode, "incremental");
  EXPECT_EQ(r.tcOps, 2u);
  EXPECT_EQ(writer_.inner.calls().size(), calls);

  // Address change: no tc op, one map update (one epoch bump).
  m.shaped.circuits[4].devices[0].ipv4.push_back(*IpNet::parse("100.64.77.0/30"));
  const uint32_t epoch = writer_.inner.epoch();
  r = apply(m);
  EXPECT_EQ(r.tcOps, 0u);
  EXPECT_EQ(writer_.inner.epoch(), epoch + 1);

  // Circuit add at the front, parent move, SQM change, circuit removal.
  testing::insertCircuit(m, 0, "front", "AP-B1", 80, 20, "100.64.50.1");
  r = apply(m);
  EXPECT_EQ(r.tcOps, 4u);
  m.shaped.circuits[10].parentNode = m.shaped.circuits[10].parentNode == "AP-A1" ? "AP-A2" : "AP-A1";
  r = apply(m);
  EXPECT_EQ(r.counts[ChangeKind::ParentMove], 1u);
  m.shaped.circuits[12].sqm = {model::SqmKind::FqCodel, model::SqmKind::FqCodel};
  r = apply(m);
  EXPECT_EQ(r.tcOps, 2u);
  testing::eraseCircuit(m, "c20");
  r = apply(m);
  EXPECT_EQ(r.tcOps, 2u) << "two class deletes (their leaves go with them)";
  EXPECT_FALSE(bakery_->reloadRequired());
}

TEST_F(BakeryTest, ASnapshotKeepsItsPlanWhileFastChangesCopyOnWrite) {
  auto m = smallIsp(30);
  apply(m);
  ASSERT_TRUE(bakery_->flush());
  const auto ceilOf = [](const plan::QueuePlan& p, size_t circuit) {
    return p.circuits[circuit].downloadMaxMbps;
  };
  // Nobody else holds the active plan (the writer is done): a speed change patches it in place.
  const plan::QueuePlan* before = bakery_->active();
  m.shaped.circuits[3].downloadMaxMbps = 77;
  EXPECT_EQ(apply(m).mode, "incremental");
  EXPECT_EQ(bakery_->active(), before);
  EXPECT_EQ(ceilOf(*bakery_->active(), 3), 77);

  // A held snapshot is never patched: the change copies the plan first.
  ASSERT_TRUE(bakery_->flush());
  auto snapshot = bakery_->activeShared();
  ASSERT_EQ(snapshot.get(), bakery_->active());
  m.shaped.circuits[3].downloadMaxMbps = 66;
  EXPECT_EQ(apply(m).mode, "incremental");
  EXPECT_NE(bakery_->active(), snapshot.get());
  EXPECT_EQ(ceilOf(*snapshot, 3), 77);
  EXPECT_EQ(ceilOf(*bakery_->active(), 3), 66);

  // The written state is the patched one.
  ASSERT_TRUE(bakery_->flush());
  auto saved = loadActiveState(dir_.path());
  ASSERT_TRUE(saved && *saved);
  EXPECT_EQ(ceilOf((*saved)->plan, 3), 66);
  EXPECT_EQ(testing::planDifference((*saved)->plan, *bakery_->active()), "");
}

TEST_F(BakeryTest, RestartDiffsAgainstThePersistedStateInsteadOfRebuilding) {
  auto m = smallIsp(30);
  testing::insertCircuit(m, 0, "x", "AP-A1", 80, 20, "100.64.60.1");
  apply(m);
  testing::insertCircuit(m, 5, "y", "AP-B2", 80, 20, "100.64.60.2");
  apply(m);
  ASSERT_TRUE(bakery_->flush());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/bakery/applying"));
  Bakery restarted(runner_, writer_, dir_.path(), limits_);
  auto loaded = restarted.load();
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_TRUE(*loaded);
  auto r = restarted.apply(planOf(m));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "noop");
  EXPECT_EQ(r->tcOps, 0u);
}

TEST_F(BakeryTest, TheModelLikeTheKernelComparisonIgnoresAnR2qNoClassReads) {
  apply(smallIsp(20));
  plan::QueuePlan other = *bakery_->active();
  for (auto& iface : other.interfaces) {
    for (auto& q : iface.queues) {
      q.r2q += 7;
    }
  }
  auto diffs = runner_.liveDifferences(other);
  ASSERT_TRUE(diffs);
  EXPECT_TRUE(diffs->empty()) << diffs->front();
  // Once a class has no quantum of its own, HTB reads r2q for it: the difference counts.
  auto& q0 = other.interfaces[0].queues[0];
  q0.classes.back().quantumBytes = 0;
  diffs = runner_.liveDifferences(other);
  ASSERT_TRUE(diffs);
  ASSERT_FALSE(diffs->empty());
  EXPECT_NE(diffs->front().find(fmt::format("HTB qdisc {:x}: settings differ", q0.major)),
            std::string::npos)
      << diffs->front();
}

TEST_F(BakeryTest, AnApplyInterruptedBeforeItsStateWasSavedIsReconciledAfterRestart) {
  auto m = smallIsp(20);
  apply(m);
  ASSERT_TRUE(bakery_->flush());
  const std::string saved = dir_.path() + "/bakery/active.json";
  std::filesystem::copy_file(saved, saved + ".old");
  // The process applies a change and is killed before the new state reaches the disk.
  m.shaped.circuits[2].downloadMaxMbps = 91;
  testing::insertCircuit(m, 0, "late", "AP-B1", 80, 20, "100.64.61.1");
  apply(m);
  ASSERT_TRUE(bakery_->flush());
  std::filesystem::rename(saved + ".old", saved);
  std::ofstream(dir_.path() + "/bakery/applying") << "";
  Bakery restarted(runner_, writer_, dir_.path(), limits_);
  ASSERT_TRUE(restarted.load());
  ASSERT_TRUE(restarted.reloadRequired());
  auto r = restarted.apply(planOf(m));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "reconcile");
  auto diffs = runner_.liveDifferences(*restarted.active());
  ASSERT_TRUE(diffs);
  EXPECT_TRUE(diffs->empty()) << diffs->front();
  EXPECT_FALSE(restarted.reloadRequired());
  ASSERT_TRUE(restarted.flush());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/bakery/applying"));
}

TEST_F(BakeryTest, FailureMidApplyKeepsTheOldTreeClassifyingAndMarksReloadRequired) {
  limits_.chunkOps = 2;  // several chunks
  bakery_ = std::make_unique<Bakery>(runner_, writer_, dir_.path(), limits_);
  auto m = smallIsp(20);
  apply(m);
  const plan::QueuePlan before = *bakery_->active();
  const auto tableBefore = writer_.inner.table();
  for (int i = 0; i < 5; ++i) {
    testing::insertCircuit(m, 0, fmt::format("n{}", i), "AP-A1", 80, 20,
                           fmt::format("100.64.70.{}", i + 1));
  }
  runner_.failAt(runner_.opsRun() + 7, ENOMEM);
  auto r = bakery_->apply(planOf(m));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENOMEM);
  ASSERT_TRUE(bakery_->reloadRequired().has_value());
  EXPECT_NE(bakery_->reloadRequired()->find("before the mapping switch"), std::string::npos);
  EXPECT_EQ(writer_.inner.table(), tableBefore) << "mappings unchanged";
  EXPECT_TRUE(diff(before, *bakery_->active()).empty()) << "active state unchanged";
  // The next apply reconciles and converges.
  apply(m);
  EXPECT_FALSE(bakery_->reloadRequired());
}

TEST_F(BakeryTest, MemoryRecheckBetweenChunksRefusesBeforeTheSwitch) {
  auto m = smallIsp(20);
  apply(m);
  limits_.memoryAvailableBytes = limits_.memoryReserveBytes + 10 * 1024;  // ~ nothing free
  ASSERT_TRUE(bakery_->flush());
  Bakery tight(runner_, writer_, dir_.path(), limits_);
  ASSERT_TRUE(tight.load());
  testing::insertCircuit(m, 0, "big", "AP-A1", 80, 20, "100.64.80.1");
  auto r = tight.apply(planOf(m));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENOMEM);
  EXPECT_NE(r.error().message().find("MiB"), std::string::npos) << r.error().message();
}

TEST_F(BakeryTest, HitlessRebuildSwitchesEveryMappingWithOneEpochBump) {
  auto m = smallIsp(30);
  apply(m);
  const plan::QueuePlan old = *bakery_->active();
  const uint32_t epoch = writer_.inner.epoch();
  auto r = bakery_->rebuild(planOf(m), "operator asked");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "hitless-rebuild");
  EXPECT_EQ(writer_.inner.epoch(), epoch + 1);
  EXPECT_EQ(bakery_->generation(), 1u);
  expectInSync();
  // Every circuit class is new; link and default classes stayed.
  for (size_t i = 0; i < old.circuits.size(); ++i) {
    EXPECT_NE(bakery_->active()->circuits[i].downClass, old.circuits[i].downClass);
  }
}

TEST_F(BakeryTest, RebuildFallsBackToBypassWhenTwoTreesDoNotFit) {
  auto m = smallIsp(30);
  apply(m);
  limits_.maxQdiscsPerInterface = 40;  // one tree (~33 qdiscs per device) fits, two do not
  ASSERT_TRUE(bakery_->flush());
  Bakery tight(runner_, writer_, dir_.path(), limits_);
  ASSERT_TRUE(tight.load());
  auto r = tight.rebuild(planOf(m), "operator asked");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "bypass-rebuild");
  EXPECT_NE(r->reason.find("two trees do not fit"), std::string::npos) << r->reason;
  EXPECT_NE(r->reason.find("kernel allows 40"), std::string::npos) << r->reason;
}

TEST_F(BakeryTest, ObserveClearsMappingsFirstThenTheTreeAndShapeComesBack) {
  auto m = smallIsp(20);
  apply(m);
  runner_.setAfterEachOp([this](const TcOp&) {
    EXPECT_TRUE(writer_.inner.table().empty()) << "mappings must be gone before the tree";
  });
  auto r = bakery_->enterObserve({"wan0", "lan0"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "observe");
  for (const auto& [name, dev] : runner_.devices()) {
    EXPECT_TRUE(dev.queues.empty()) << name;
  }
  EXPECT_EQ(runner_.devices().size(), 2u) << "mq roots stay";
  runner_.setAfterEachOp({});
  auto back = bakery_->apply(planOf(m));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->mode, "incremental");
  expectInSync();
}

TEST_F(BakeryTest, DriftIsReportedAndMarksReloadRequired) {
  auto m = smallIsp(10);
  apply(m);
  auto none = bakery_->checkDrift();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // Someone deletes a circuit class behind Sluice's back (a dangling mapping on purpose).
  runner_.setAfterEachOp({});
  const auto& c = bakery_->active()->circuits[0];
  TcOp op;
  op.kind = TcOp::Kind::DeleteClass;
  op.ifname = bakery_->active()->interfaces[0].ifname;
  op.cls.classid = c.downClass;
  ASSERT_TRUE(runner_.run({op}));
  auto drift = bakery_->checkDrift();
  ASSERT_TRUE(drift);
  EXPECT_EQ(drift->size(), 1u);
  ASSERT_TRUE(bakery_->reloadRequired());
  EXPECT_NE(bakery_->reloadRequired()->find("drift"), std::string::npos);
  // The next apply reconciles.
  apply(m);
}

}  // namespace
}  // namespace sluice::bakery
