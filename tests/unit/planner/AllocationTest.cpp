// Queue assignment, class minors, leaf handles, on-a-stick layout, address map.

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "PlannerTestUtil.h"
#include "planner/PlanJson.h"

namespace sluice::plan {
namespace {

using testing::bridgeConfig;
using testing::findClass;
using testing::ModelBuilder;
using testing::stickConfig;

TEST(Allocation, QueueCountAndCpus) {
  ModelBuilder b;
  b.node("Site", 100, 100);
  Diagnostics diags;
  auto p = testing::plan(bridgeConfig(), b.model(), 8, 3, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->queueCount, 3);
  EXPECT_EQ(p->queueCpu, (std::vector<uint32_t>{0, 1, 2}));
  auto config = bridgeConfig();
  config.queues.overrideAvailableQueues = 5;
  p = testing::plan(config, b.model(), 8, 3, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->queueCount, 5);
  EXPECT_EQ(p->queueCpu, (std::vector<uint32_t>{0, 1, 2, 0, 1}));
}

TEST(Allocation, MinorsNodesFirstThenCircuitsPerQueue) {
  ModelBuilder b;
  b.node("A", 100, 100).node("B", 100, 100).node("A1", 50, 50, "A");
  b.circuit("ca", "A1", 1, 1, 10, 10).circuit("cb", "B", 1, 1, 10, 10);
  b.circuit("ca2", "A", 1, 1, 10, 10);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 2, 2, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nodes[0].downClass, (TcHandle{1, 3}));  // A on queue 0
  EXPECT_EQ(p->nodes[2].downClass, (TcHandle{1, 4}));  // A1 follows A
  EXPECT_EQ(p->nodes[1].downClass, (TcHandle{2, 3}));  // B on queue 1
  EXPECT_EQ(p->circuits[0].downClass, (TcHandle{1, 5}));
  EXPECT_EQ(p->circuits[2].downClass, (TcHandle{1, 6}));
  EXPECT_EQ(p->circuits[1].downClass, (TcHandle{2, 4}));
  // Bridge: the same classid on both interfaces.
  EXPECT_EQ(p->circuits[1].upClass, (TcHandle{2, 4}));
  ASSERT_EQ(p->interfaces.size(), 2u);
  EXPECT_EQ(p->interfaces[0].ifname, "lan0");
  EXPECT_EQ(p->interfaces[1].ifname, "wan0");
  const auto& q0 = p->interfaces[0].queues[0];
  EXPECT_EQ(q0.classes[0].classid, (TcHandle{1, kLinkMinor}));
  EXPECT_EQ(q0.classes[0].parent, (TcHandle{1, 0}));
  EXPECT_EQ(q0.classes[1].classid, (TcHandle{1, kDefaultMinor}));
  EXPECT_EQ(q0.classes[1].prio, 5u);
  EXPECT_EQ(q0.classes[2].prio, 3u);
  EXPECT_EQ(q0.classes.back().prio, 3u);
}

TEST(Allocation, MinorOverflowIsAnErrorNamingTheQueue) {
  ModelBuilder b;
  b.node("Big", 10'000, 10'000).node("Small", 100, 100);
  // 65533 minors fit (3..0xFFFF): one node + 65532 circuits fill queue 0 exactly.
  for (int i = 0; i < 65'532; ++i) {
    b.circuit("c" + std::to_string(i), "Big", 0.01, 0.01, 1, 1);
  }
  auto config = bridgeConfig();
  config.defaultLeaf.kind = LeafKind::None;  // keep leaf handles out of this test
  Diagnostics ok;
  const auto p = testing::plan(config, b.model(), 2, 2, ok);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->circuits.back().downClass, (TcHandle{1, 0xFFFF}));

  b.circuit("one-too-many", "Big", 0.01, 0.01, 1, 1);
  Diagnostics diags;
  EXPECT_FALSE(testing::plan(config, b.model(), 2, 2, diags));
  ASSERT_TRUE(diags.has("planner-minor-overflow"));
  const auto errors = diags.errors();
  ASSERT_EQ(errors.size(), 1u);  // queue 1 is fine
  EXPECT_NE(errors[0].message.find("queue 0 needs 65536"), std::string::npos) << errors[0].message;
  EXPECT_EQ(errors[0].value, "queue 0");
}

TEST(Allocation, LeafHandlesUniqueSkipReservedAndAvoidHtbMajors) {
  ModelBuilder b;
  b.node("Site", 10'000, 10'000);
  for (int i = 0; i < 33'000; ++i) {
    b.circuit("c" + std::to_string(i), "Site", 0.01, 0.01, 1, 1);
  }
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 4, 4, diags);
  ASSERT_TRUE(p);
  for (const auto& iface : p->interfaces) {
    std::set<uint16_t> handles;
    std::set<uint16_t> majors;
    for (const auto& hq : iface.queues) {
      majors.insert(hq.major);
    }
    for (const auto& hq : iface.queues) {
      for (const auto& cls : hq.classes) {
        if (cls.leaf) {
          const uint16_t h = cls.leaf->handleMajor;
          EXPECT_TRUE(handles.insert(h).second) << h;
          EXPECT_NE(h, kMqMajor);
          EXPECT_NE(h, 0xFFFF);
          EXPECT_NE(h, 0);
          EXPECT_FALSE(isReservedMajor(h)) << h;  // the holder range below the mq root too
          EXPECT_FALSE(majors.contains(h)) << h;
        }
      }
    }
    EXPECT_EQ(handles.size(), 33'000u + 4u);  // circuits + default classes
    EXPECT_EQ(*handles.begin(), 5);           // first free above HTB majors 1..4
  }
}

TEST(Allocation, QueueHolderFromConfigSitsOnEveryQueueAndCoversAtMost256TxQueues) {
  ModelBuilder b;
  b.node("Site", 1000, 1000);
  b.circuit("c1", "Site", 1, 1, 10, 10);
  auto config = bridgeConfig();
  Diagnostics diags;
  const auto plain = testing::plan(config, b.model(), 4, 4, diags);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->interfaces[0].queues[0].holder, HolderKind::None);
  EXPECT_EQ(queueParentOf(plain->interfaces[0].queues[0]).toString(), "7fff:1");
  config.sluice.queueHolderTbf = true;
  const auto held = testing::plan(config, b.model(), 4, 4, diags);
  ASSERT_TRUE(held);
  for (const auto& iface : held->interfaces) {
    EXPECT_EQ(interfaceHolder(iface), HolderKind::Tbf);
    for (const auto& hq : iface.queues) {
      EXPECT_EQ(hq.holder, HolderKind::Tbf);
      EXPECT_EQ(queueParentOf(hq), (TcHandle{static_cast<uint16_t>(0x7FFE - hq.txQueue), 1}));
    }
  }
  EXPECT_EQ(holderMajorOf(255), 0x7EFF);
  EXPECT_TRUE(isReservedMajor(0x7EFF));
  EXPECT_FALSE(isReservedMajor(0x7EFE));
  EXPECT_TRUE(isReservedMajor(kMqMajor));
  EXPECT_FALSE(isReservedMajor(0x8000));
  Diagnostics tooMany;
  EXPECT_FALSE(testing::plan(config, b.model(), 300, 4, tooMany));
  EXPECT_TRUE(tooMany.has("planner-holder-tx-queues"));
}

TEST(Allocation, LeafHandlesExhaustedIsAnErrorNamingTheInterface) {
  // Unparented: spread over the generated nodes of both queues, so minors fit (33,001 a queue)
  // but the interface needs 66,000 + 2 leaf handles.
  ModelBuilder b;
  for (int i = 0; i < 66'000; ++i) {
    b.circuit("c" + std::to_string(i), "", 0.01, 0.01, 1, 1);
  }
  Diagnostics diags;
  EXPECT_FALSE(testing::plan(bridgeConfig(), b.model(), 2, 2, diags));
  ASSERT_TRUE(diags.has("planner-leaf-handles-exhausted"));
  EXPECT_EQ(diags.errors()[0].value, "lan0");
}

TEST(Allocation, OnAStickUploadMajorsOffsetByQueueCount) {
  ModelBuilder b;
  b.node("A", 100, 100).node("B", 100, 100);
  b.circuit("ca", "A", 1, 1, 10, 10, {"100.64.0.1"}).circuit("cb", "B", 1, 1, 10, 10);
  Diagnostics diags;
  const auto p = testing::plan(stickConfig(), b.model(), 8, 8, diags);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->onAStick);
  EXPECT_EQ(p->queueCount, 4);
  ASSERT_EQ(p->interfaces.size(), 1u);
  const auto& iface = p->interfaces[0];
  EXPECT_EQ(iface.ifname, "stick0");
  ASSERT_EQ(iface.queues.size(), 8u);
  for (uint16_t i = 0; i < 8; ++i) {
    EXPECT_EQ(iface.queues[i].txQueue, i);
    EXPECT_EQ(iface.queues[i].major, i + 1);
    EXPECT_EQ(iface.queues[i].direction, i < 4 ? Direction::Download : Direction::Upload);
  }
  EXPECT_EQ(p->circuits[0].downClass, (TcHandle{1, 4}));
  EXPECT_EQ(p->circuits[0].upClass, (TcHandle{5, 4}));
  EXPECT_EQ(p->circuits[1].upClass, (TcHandle{6, 4}));
  EXPECT_NE(findClass(*p, 0, TcHandle{5, 4}), nullptr);
  // Leaf handles start above all 8 HTB majors and are unique across both directions.
  std::set<uint16_t> handles;
  for (const auto& hq : iface.queues) {
    for (const auto& cls : hq.classes) {
      if (cls.leaf) {
        EXPECT_GT(cls.leaf->handleMajor, 8);
        EXPECT_TRUE(handles.insert(cls.leaf->handleMajor).second);
      }
    }
  }
  EXPECT_EQ(handles.size(), 8u + 4u);
  ASSERT_EQ(p->addresses.size(), 1u);
  EXPECT_EQ(p->addresses[0].downClass, (TcHandle{1, 4}));
  EXPECT_EQ(p->addresses[0].upClass, (TcHandle{5, 4}));
}

model::Model binpackModel(bool reversed) {
  // Sites with very different loads; the file order is reversed in the second model.
  const std::vector<std::pair<std::string, int>> sites = {{"S1", 9}, {"S2", 1}, {"S3", 5},
                                                          {"S4", 5}, {"S5", 3}, {"S6", 2}};
  ModelBuilder b;
  for (size_t k = 0; k < sites.size(); ++k) {
    const auto& [name, circuits] = sites[reversed ? sites.size() - 1 - k : k];
    b.node(name, 1000, 1000);
  }
  for (size_t k = 0; k < sites.size(); ++k) {
    const auto& [name, circuits] = sites[reversed ? sites.size() - 1 - k : k];
    for (int i = 0; i < circuits; ++i) {
      b.circuit(name + "-c" + std::to_string(i), name, 1, 1, 100, 100);
    }
  }
  return b.model();
}

std::map<std::string, uint16_t> siteQueues(const QueuePlan& p) {
  std::map<std::string, uint16_t> out;
  for (const auto& n : p.nodes) {
    out[n.name] = n.queue;
  }
  return out;
}

TEST(Allocation, BinpackingBalancesByCircuitMaxAndIsDeterministic) {
  auto config = bridgeConfig(10'000, 10'000);
  config.queues.useBinpacking = true;
  Diagnostics diags;
  const model::Model forward = binpackModel(false);
  const auto a = testing::plan(config, forward, 3, 3, diags);
  const auto again = testing::plan(config, forward, 3, 3, diags);
  const auto b = testing::plan(config, binpackModel(true), 3, 3, diags);
  ASSERT_TRUE(a && again && b);
  EXPECT_EQ(renderPlanJson(*a), renderPlanJson(*again));
  // Heaviest first to the lightest queue (ties: lowest queue): S1(9)→0, S3(5)→1, S4(5)→2,
  // S5(3)→1, S6(2)→2, S2(1)→2.
  const std::map<std::string, uint16_t> expected = {{"S1", 0}, {"S3", 1}, {"S4", 2},
                                                    {"S5", 1}, {"S6", 2}, {"S2", 2}};
  EXPECT_EQ(siteQueues(*a), expected);
  // The file order does not matter: ties are broken by name.
  EXPECT_EQ(siteQueues(*b), expected);
  // Round-robin, for contrast, follows the file order.
  config.queues.useBinpacking = false;
  const auto rr = testing::plan(config, forward, 3, 3, diags);
  EXPECT_EQ(siteQueues(*rr),
            (std::map<std::string, uint16_t>{
                {"S1", 0}, {"S2", 1}, {"S3", 2}, {"S4", 0}, {"S5", 1}, {"S6", 2}}));
}

TEST(Allocation, BinpackingUnparentedCircuitsHeaviestFirst) {
  ModelBuilder b;
  b.circuit("small", "", 1, 1, 10, 10).circuit("big", "", 1, 1, 500, 500);
  b.circuit("mid", "", 1, 1, 100, 100);
  auto config = bridgeConfig();
  config.queues.useBinpacking = true;
  Diagnostics diags;
  const auto p = testing::plan(config, b.model(), 2, 2, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->circuits[1].queue, 0);  // big → PN_1
  EXPECT_EQ(p->circuits[2].queue, 1);  // mid → PN_2
  EXPECT_EQ(p->circuits[0].queue, 1);  // small → the lighter PN_2
}

TEST(Allocation, AddressMapSortedWithQueueCpuAndClasses) {
  ModelBuilder b;
  b.node("A", 100, 100).node("B", 100, 100);
  b.circuit("ca", "A", 1, 1, 10, 10, {"100.64.0.9", "2001:db8::/48", "100.64.1.0/24"});
  b.circuit("cb", "B", 1, 1, 10, 10, {"100.64.0.2", "10.0.0.1"});
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 2, 2, diags);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->addresses.size(), 5u);
  std::vector<std::string> order;
  for (const auto& a : p->addresses) {
    order.push_back(a.prefix.toString());
    const auto& c = p->circuits.at(a.circuit);
    EXPECT_EQ(a.queue, c.queue);
    EXPECT_EQ(a.cpu, p->queueCpu[c.queue]);
    EXPECT_EQ(a.downClass, c.downClass);
    EXPECT_EQ(a.upClass, c.upClass);
  }
  // IPv4 is stored v4-mapped (::ffff:a.b.c.d), so it sorts before 2001:db8::/48.
  EXPECT_EQ(order, (std::vector<std::string>{"10.0.0.1", "100.64.0.2", "100.64.0.9",
                                             "100.64.1.0/24", "2001:db8::/48"}));
  EXPECT_EQ(p->addresses[0].circuit, 1);
  EXPECT_EQ(p->addresses[0].queue, 1);
}

}  // namespace
}  // namespace sluice::plan
