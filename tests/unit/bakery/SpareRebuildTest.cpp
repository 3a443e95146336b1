// The rebuild on spare tx queues (bakery/SpareRebuild.h) against the kernel model: schedule,
// no dangling mapping at any step, every default-class tx queue holding an HTB qdisc at every
// map write, the tree permuted over tx queues 0..Q-1 at the end, and later applies matching the
// permuted tree (no-op, fast path); without a spare tx queue the old method, said in the reason.

#include <gtest/gtest.h>

#include <set>

#include "BakeryTestUtil.h"
#include "bakery/SpareRebuild.h"

namespace sluice::bakery {
namespace {

using testing::planOf;
using testing::smallIsp;

class SpareRebuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limits_.memoryAvailableBytes = 64ull << 30;
    bakery_ = std::make_unique<Bakery>(runner_, writer_, dir_.path(), limits_);
    runner_.setAfterEachOp([this](const TcOp& op) {
      EXPECT_EQ(testing::danglingMapping(writer_.inner, runner_), "") << "after " << describe(op);
    });
    writer_.check = [this] {
      EXPECT_EQ(testing::danglingMapping(writer_.inner, runner_), "") << "after a map write";
      ++mapWrites_;
      // Unknown addresses go to tx queues 0..Q-1 (bpf/lookup.h): each must hold an HTB qdisc.
      for (const auto& [ifname, dev] : runner_.devices()) {
        std::set<uint16_t> txWithHtb;
        for (const auto& [major, q] : dev.queues)
          txWithHtb.insert(q.header.txQueue);
        for (uint16_t t = 0; t < queues_; ++t) {
          EXPECT_TRUE(txWithHtb.contains(t)) << ifname << " tx queue " << t << " has no HTB";
        }
      }
    };
  }

  void expectInSync() {
    ASSERT_NE(bakery_->active(), nullptr);
    auto diffs = runner_.liveDifferences(*bakery_->active());
    ASSERT_TRUE(diffs);
    EXPECT_TRUE(diffs->empty()) << diffs->size() << " differences, first: " << diffs->front();
    std::map<IpNet, plan::AddressMapping> want;
    for (const auto& a : bakery_->active()->addresses)
      want.emplace(a.prefix, a);
    EXPECT_EQ(writer_.inner.table(), want);
  }

  testing::TempDir dir_;
  Limits limits_;
  ModelOpRunner runner_;
  testing::CheckingMapWriter writer_;
  std::unique_ptr<Bakery> bakery_;
  uint16_t queues_ = 2;  // smallIsp plans 2 queues
  int mapWrites_ = 0;
};

TEST(SpareSchedule, OneSpareRotatesTheQueuesAndBuildsOneOfThemTwice) {
  const auto planned = planOf(smallIsp(20));
  ASSERT_EQ(planned.interfaces.front().queues.size(), 2u);
  // The planner's first leaf takes handle 3:, the spare tx queue's HTB major: blocked.
  auto blocked = detail::planSpareRebuild(planned, planned, 3);
  ASSERT_TRUE(std::holds_alternative<std::string>(blocked));
  EXPECT_NE(std::get<std::string>(blocked).find("HTB major"), std::string::npos);
  // A build moves such leaves (freeSpareMajors); then the spare is free.
  auto p = planned;
  for (const auto& iface : planned.interfaces) {
    EXPECT_TRUE(detail::freeSpareMajors(p, iface.ifname, 3));
  }
  for (const auto& iface : p.interfaces) {
    for (const auto& q : iface.queues) {
      for (const auto& c : q.classes) {
        if (c.leaf)
          EXPECT_GT(c.leaf->handleMajor, 3) << "spare tx queue 2's major is 3";
      }
    }
  }
  auto s = detail::planSpareRebuild(p, p, 3);
  ASSERT_TRUE(std::holds_alternative<detail::SpareSchedule>(s)) << std::get<std::string>(s);
  const auto& sched = std::get<detail::SpareSchedule>(s);
  ASSERT_EQ(sched.steps.size(), 3u);
  EXPECT_EQ(sched.interimCopies, 1u);
  // Last queue first: queue 1 to the spare (2), queue 0 over old queue 1 (tx 1), then queue 1
  // over old queue 0 (tx 0).
  EXPECT_EQ(sched.steps[0].position, 1u);
  EXPECT_EQ(sched.steps[0].slot, 2);
  EXPECT_FALSE(sched.steps[0].final);
  EXPECT_FALSE(sched.steps[0].clearsSlot);
  EXPECT_EQ(sched.steps[1].position, 0u);
  EXPECT_EQ(sched.steps[1].slot, 1);
  EXPECT_TRUE(sched.steps[1].clearsSlot);
  EXPECT_EQ(sched.steps[2].position, 1u);
  EXPECT_EQ(sched.steps[2].slot, 0);
  EXPECT_EQ(sched.finalSlot, (std::vector<uint16_t>{1, 0}));
  EXPECT_EQ(sched.leftovers, (std::vector<uint16_t>{2}));

  auto none = detail::planSpareRebuild(p, p, 2);
  ASSERT_TRUE(std::holds_alternative<std::string>(none));
  EXPECT_NE(std::get<std::string>(none).find("no free tx queue"), std::string::npos);
}

TEST_F(SpareRebuildTest, NewTreeOnSpareQueuesThenLaterAppliesMatchThePermutedTree) {
  runner_.setTxQueues(3);
  auto m = smallIsp(30);
  ASSERT_TRUE(bakery_->apply(planOf(m)));
  const plan::QueuePlan old = *bakery_->active();
  mapWrites_ = 0;
  auto r = bakery_->rebuild(planOf(m), "operator asked");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "spare-queue-rebuild") << r->reason;
  EXPECT_EQ(mapWrites_, 3) << "one map update per queue built (one queue twice)";
  EXPECT_EQ(bakery_->generation(), 1u);
  expectInSync();
  // The queues are permuted over tx queues 0..1; tx queue 2 is free again.
  std::set<uint16_t> tx;
  for (const auto& q : bakery_->active()->interfaces.front().queues) {
    tx.insert(q.txQueue);
    EXPECT_EQ(q.major, q.txQueue + 1);
  }
  EXPECT_EQ(tx, (std::set<uint16_t>{0, 1}));
  EXPECT_NE(bakery_->active()->interfaces.front().queues[0].txQueue,
            old.interfaces.front().queues[0].txQueue);
  for (const auto& [ifname, dev] : runner_.devices()) {
    for (const auto& [major, q] : dev.queues)
      EXPECT_LT(q.header.txQueue, 2) << ifname;
  }
  // Each tx queue is fed by its own CPU, also for the queue that moved onto it.
  const auto& queueCpu = bakery_->active()->queueCpu;
  ASSERT_EQ(queueCpu.size(), 2u);
  EXPECT_NE(queueCpu[0], queueCpu[1]);
  for (const auto& a : bakery_->active()->addresses) {
    EXPECT_EQ(a.cpu, queueCpu[a.downClass.major - 1u]) << a.prefix.toString();
  }

  // The same plan again is a no-op, a speed change takes the fast path with 2 class changes,
  // and a circuit add is incremental: stabilization keeps queue k on its tx queue.
  auto again = bakery_->apply(planOf(m));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->mode, "noop");
  m.shaped.circuits[3].downloadMaxMbps = 77;
  m.shaped.circuits[3].uploadMaxMbps = 17;
  auto speed = bakery_->apply(planOf(m));
  ASSERT_TRUE(speed) << speed.error().message();
  EXPECT_EQ(speed->mode, "incremental");
  EXPECT_EQ(speed->tcOps, 2u);
  testing::insertCircuit(m, 5, "new-one", "AP-A1", 50, 10, "100.64.9.9");
  auto add = bakery_->apply(planOf(m));
  ASSERT_TRUE(add) << add.error().message();
  EXPECT_EQ(add->mode, "incremental");
  EXPECT_LE(add->tcOps, 8u);
  expectInSync();

  // A second rebuild rotates again and ends in sync.
  auto second = bakery_->rebuild(planOf(m), "again");
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->mode, "spare-queue-rebuild") << second->reason;
  expectInSync();
}

TEST_F(SpareRebuildTest, WithHoldersTheQueuesGraftBelowThemAndAHolderChangeRebuildsFromTheRoot) {
  runner_.setTxQueues(3);
  auto m = smallIsp(30);
  auto held = [&] {
    plan::QueuePlan p = planOf(m);
    plan::setHolder(p, plan::HolderKind::Tbf);
    return p;
  };
  ASSERT_TRUE(bakery_->apply(held()));
  for (const auto& [ifname, dev] : runner_.devices()) EXPECT_EQ(dev.holder, plan::HolderKind::Tbf);
  auto r = bakery_->rebuild(held(), "operator asked");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "spare-queue-rebuild") << r->reason;
  expectInSync();
  for (const auto& q : bakery_->active()->interfaces.front().queues) {
    EXPECT_EQ(q.holder, plan::HolderKind::Tbf);
  }
  // Holders come and go with the mq root: the spare tx queues cannot help.
  auto off = bakery_->apply(planOf(m));
  ASSERT_TRUE(off) << off.error().message();
  EXPECT_EQ(off->mode, "bypass-rebuild") << off->reason;
  EXPECT_EQ(off->reason, "queue holder changed (tbf -> none); the mq root is rebuilt");
  expectInSync();
  for (const auto& [ifname, dev] : runner_.devices()) EXPECT_EQ(dev.holder, plan::HolderKind::None);
  // The state file round-trips the holder.
  ASSERT_TRUE(bakery_->apply(held()));
  ASSERT_TRUE(bakery_->flush());
  auto saved = loadActiveState(dir_.path());
  ASSERT_TRUE(saved && *saved);
  EXPECT_EQ(testing::planDifference((*saved)->plan, *bakery_->active()), "");
  EXPECT_EQ((*saved)->plan.holder, plan::HolderKind::Tbf);
  EXPECT_EQ((*saved)->plan.interfaces.front().queues.front().holder, plan::HolderKind::Tbf);
  // Observe keeps the mq roots and their holders; leaving it adds the HTB qdiscs below them.
  auto observe = bakery_->enterObserve({"lan0", "wan0"});
  ASSERT_TRUE(observe) << observe.error().message();
  EXPECT_EQ(bakery_->active()->holder, plan::HolderKind::Tbf);
  auto back = bakery_->apply(held());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_NE(back->mode, "bypass-rebuild") << back->reason;
  expectInSync();
}

TEST_F(SpareRebuildTest, WithoutASpareTxQueueTheOldMethodSaysWhy) {
  runner_.setTxQueues(2);
  auto m = smallIsp(30);
  ASSERT_TRUE(bakery_->apply(planOf(m)));
  auto r = bakery_->rebuild(planOf(m), "operator asked");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "hitless-rebuild");
  EXPECT_NE(r->reason.find("not on spare tx queues: no free tx queue"), std::string::npos)
      << r->reason;
  expectInSync();
}

TEST_F(SpareRebuildTest, LeftoverBacklogIsWaitedForAndReported) {
  runner_.setTxQueues(3);
  limits_.drainTimeout = std::chrono::milliseconds(20);
  bakery_ = std::make_unique<Bakery>(runner_, writer_, dir_.path(), limits_);
  auto m = smallIsp(10);
  ASSERT_TRUE(bakery_->apply(planOf(m)));
  runner_.setBacklog(1);  // every leaf reports one packet, forever
  auto r = bakery_->rebuild(planOf(m), "operator asked");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "spare-queue-rebuild");
  EXPECT_NE(r->reason.find("packets still queued in old leaves"), std::string::npos) << r->reason;
  runner_.setBacklog(0);
  expectInSync();
}

// Found by the random-change property: after a rebuild that rotated the queues, a second
// rebuild needs no interim copy and its first step deletes an old HTB qdisc at once. A circuit
// removed in the same change still mapped to that qdisc until the first map update, after it.
TEST_F(SpareRebuildTest, RemovedCircuitsLeaveTheMapBeforeTheirOldQdiscGoes) {
  runner_.setTxQueues(4);
  limits_.chunkOps = 1;  // check between every tc message
  bakery_ = std::make_unique<Bakery>(runner_, writer_, dir_.path(), limits_);
  auto m = smallIsp(4);
  ASSERT_TRUE(bakery_->apply(planOf(m)));
  for (int round = 0; round < 2; ++round) {
    testing::eraseCircuit(m, m.shaped.circuits[0].id);
    auto r = bakery_->rebuild(planOf(m), "operator asked");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->mode, "spare-queue-rebuild") << r->reason;
    EXPECT_EQ(r->mapRemovals, 1u);
    expectInSync();
  }
}

}  // namespace
}  // namespace sluice::bakery
