// The "capacity limits" urgent issues (daemon/OperatorServices.h): which capacity, both numbers,
// and nothing below the threshold.
#include <gtest/gtest.h>

#include "daemon/OperatorServices.h"

namespace sluice::daemon {
namespace {

/// One interface with `queues` HTB qdiscs of `classes` circuit classes each (every class with a
/// pfifo leaf), and `addresses` address mappings.
plan::QueuePlan makePlan(uint16_t queues, uint16_t classes, size_t addresses) {
  plan::QueuePlan p;
  plan::InterfacePlan iface;
  iface.ifname = "eth1";
  uint16_t nextMajor = 0x100;
  for (uint16_t q = 0; q < queues; ++q) {
    plan::HtbQueuePlan queue;
    queue.major = static_cast<uint16_t>(q + 1);
    for (uint16_t c = 0; c < classes; ++c) {
      plan::HtbClassPlan cls;
      cls.classid = {queue.major, static_cast<uint16_t>(c + 3)};
      cls.leaf = plan::LeafSpec{plan::LeafKind::Pfifo, nextMajor++};
      queue.classes.push_back(cls);
    }
    iface.queues.push_back(std::move(queue));
  }
  p.interfaces.push_back(std::move(iface));
  p.addresses.resize(addresses);
  return p;
}

const CapacityUse* find(const std::vector<CapacityUse>& uses, const std::string& what) {
  for (const auto& u : uses) {
    if (u.what == what) {
      return &u;
    }
  }
  return nullptr;
}

TEST(CapacityLimits, ReportsEachCapacityAboveEightyPercentWithItsNumbers) {
  bakery::Limits limits;
  limits.maxQdiscsPerInterface = 100;
  limits.maxMinorsPerQueue = 50;
  limits.lpmCapacity = 1000;
  limits.memoryReserveBytes = 0;
  // 2 queues x 45 classes: 45/50 minors per queue (90 %), 1 + 2 + 90 = 93/100 qdiscs (93 %),
  // 900/1000 LPM entries (90 %).
  const plan::QueuePlan p = makePlan(2, 45, 900);
  const uint64_t tree = bakery::estimateMemory(p).bytes;
  ASSERT_GT(tree, 0u);
  const auto uses = capacityLimits(p, limits, tree + tree / 10);  // ~91 % of what is free

  const CapacityUse* minors = find(uses, "class-minors");
  ASSERT_NE(minors, nullptr);
  EXPECT_EQ(minors->used, 45u);
  EXPECT_EQ(minors->limit, 50u);
  EXPECT_NE(minors->message.find("45 of 50"), std::string::npos) << minors->message;
  EXPECT_NE(minors->message.find("90 %"), std::string::npos) << minors->message;
  const CapacityUse* qdiscs = find(uses, "qdiscs");
  ASSERT_NE(qdiscs, nullptr);
  EXPECT_EQ(qdiscs->used, 93u);
  EXPECT_NE(qdiscs->message.find("eth1 uses 93 of 100"), std::string::npos) << qdiscs->message;
  const CapacityUse* lpm = find(uses, "lpm-entries");
  ASSERT_NE(lpm, nullptr);
  EXPECT_EQ(lpm->used, 900u);
  EXPECT_EQ(lpm->limit, 1000u);
  const CapacityUse* memory = find(uses, "kernel-memory");
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->used, tree);
  EXPECT_EQ(uses.size(), 4u + 1u) << "one class-minors issue per queue";
}

TEST(CapacityLimits, NothingAtOrBelowTheThreshold) {
  bakery::Limits limits;
  limits.maxQdiscsPerInterface = 100;
  limits.maxMinorsPerQueue = 50;
  limits.lpmCapacity = 1000;
  const plan::QueuePlan p = makePlan(2, 40, 800);  // 40/50, 83/100 qdiscs (!), 800/1000
  const auto uses = capacityLimits(p, limits, std::nullopt);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].what, "qdiscs");
  limits.maxQdiscsPerInterface = 65'534;
  EXPECT_TRUE(capacityLimits(p, limits, std::nullopt).empty());
  limits.lpmCapacity = 0;  // unchecked
  EXPECT_TRUE(capacityLimits(makePlan(1, 1, 5000), limits, std::nullopt).empty());
  // Memory: plenty free is no issue, the reserve eating everything is.
  limits.memoryReserveBytes = 256ull << 20;
  EXPECT_TRUE(capacityLimits(p, limits, uint64_t{64} << 30).empty());
  EXPECT_EQ(capacityLimits(p, limits, uint64_t{100} << 20).size(), 1u);
}

}  // namespace
}  // namespace sluice::daemon
