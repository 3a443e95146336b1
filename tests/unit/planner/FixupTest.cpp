// Bandwidth fix-ups, virtual nodes, depth flattening, generated parent nodes.

#include <gtest/gtest.h>

#include "PlannerTestUtil.h"
#include "planner/HtbMath.h"

namespace sluice::plan {
namespace {

using testing::bridgeConfig;
using testing::countCategory;
using testing::findClass;
using testing::ModelBuilder;

constexpr size_t kDown = 0;  // bridge: interfaces[0] = to_network (download)
constexpr size_t kUp = 1;

TEST(Fixups, ZeroNodeRateInheritsParentMax) {
  ModelBuilder b;
  b.node("Site", 500, 0).node("AP", 0, 50, "Site");
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(1000, 800), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nodes[0].downloadMaxMbps, 500);
  EXPECT_EQ(p->nodes[0].uploadMaxMbps, 800);  // top-level: the link rate
  EXPECT_EQ(p->nodes[1].downloadMaxMbps, 500);
  EXPECT_EQ(p->nodes[1].uploadMaxMbps, 50);
  EXPECT_EQ(findClass(*p, kUp, p->nodes[0].upClass)->ceilBitsPerSecond, mbpsToBits(800));
  EXPECT_EQ(diags.warningCount(), 0u);
}

TEST(Fixups, ChildMaxCappedAtParentWithWarning) {
  ModelBuilder b;
  b.node("Site", 100, 100).node("AP", 400, 50, "Site");
  b.circuit("c1", "AP", 10, 10, 250, 80);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nodes[1].downloadMaxMbps, 100);
  EXPECT_EQ(p->circuits[0].downloadMaxMbps, 100);
  EXPECT_EQ(p->circuits[0].uploadMaxMbps, 50);
  EXPECT_EQ(countCategory(diags, "planner-node-rate-capped"), 1u);
  EXPECT_EQ(countCategory(diags, "planner-circuit-rate-capped"), 2u);  // down and up
  const auto* cls = findClass(*p, kDown, p->circuits[0].downClass);
  ASSERT_NE(cls, nullptr);
  EXPECT_EQ(cls->ceilBitsPerSecond, mbpsToBits(100));
  EXPECT_EQ(cls->rateBitsPerSecond, mbpsToBits(10));
}

TEST(Fixups, NodeRateIsMinOfMaxAndParentRate) {
  ModelBuilder b;
  b.node("Site", 300, 300).node("AP", 200, 200, "Site");
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(250, 250), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  const auto* site = findClass(*p, kDown, p->nodes[0].downClass);
  const auto* ap = findClass(*p, kDown, p->nodes[1].downClass);
  EXPECT_EQ(site->ceilBitsPerSecond, mbpsToBits(250));  // capped at the link
  EXPECT_EQ(site->rateBitsPerSecond, mbpsToBits(250));
  EXPECT_EQ(ap->ceilBitsPerSecond, mbpsToBits(200));
  EXPECT_EQ(ap->rateBitsPerSecond, mbpsToBits(200));
}

TEST(Fixups, OversubscribedGuaranteesSquashedToOneMbps) {
  ModelBuilder b;
  b.node("AP", 100, 100);
  b.circuit("c1", "AP", 60, 5, 80, 10).circuit("c2", "AP", 60, 5, 80, 10);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->circuits[0].downloadMinMbps, 1);
  EXPECT_EQ(p->circuits[1].downloadMinMbps, 1);
  EXPECT_EQ(p->circuits[0].uploadMinMbps, 5);  // upload is not oversubscribed
  EXPECT_EQ(countCategory(diags, "planner-min-squashed"), 1u);
  EXPECT_EQ(findClass(*p, kDown, p->circuits[0].downClass)->rateBitsPerSecond, mbpsToBits(1));
}

TEST(Fixups, SquashedToTenKbitWhenOneMbpsEachStillOversubscribes) {
  ModelBuilder b;
  b.node("AP", 2, 2);
  b.circuit("c1", "AP", 1, 1, 2, 2).circuit("c2", "AP", 1, 1, 2, 2).circuit("c3", "AP", 1, 1, 2, 2);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  for (const auto& c : p->circuits) {
    EXPECT_EQ(c.downloadMinMbps, 0.01);
    EXPECT_EQ(c.uploadMinMbps, 0.01);
  }
  EXPECT_EQ(countCategory(diags, "planner-min-squashed"), 2u);
  EXPECT_EQ(findClass(*p, kUp, p->circuits[2].upClass)->rateBitsPerSecond, 10'000u);
}

TEST(Fixups, CircuitMinNeverAboveMax) {
  ModelBuilder b;
  b.node("AP", 10, 10);
  b.circuit("c1", "AP", 8, 8, 50, 50);  // max capped to 10, min 8 stays
  b.circuit("c2", "AP", 1, 1, 0.5, 0.5);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->circuits[0].downloadMinMbps, 8);
  EXPECT_EQ(p->circuits[1].downloadMinMbps, 0.5);
}

TEST(Fixups, VirtualNodeHasNoClassAndPromotesChildren) {
  ModelBuilder b;
  b.node("Site", 500, 500).node("Virt", 100, 100, "Site", true).node("AP", 400, 400, "Virt");
  b.circuit("c1", "Virt", 1, 1, 300, 300).circuit("c2", "AP", 1, 1, 20, 20);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->nodes[1].isVirtual);
  EXPECT_EQ(p->nodes[1].downClass, TcHandle{});
  // The AP and the circuit under the virtual node hang under Site; the virtual node's 100 Mbps does
  // not cap them (it has no class).
  const auto* ap = findClass(*p, kDown, p->nodes[2].downClass);
  EXPECT_EQ(ap->parent, p->nodes[0].downClass);
  EXPECT_EQ(ap->ceilBitsPerSecond, mbpsToBits(400));
  const auto* c1 = findClass(*p, kDown, p->circuits[0].downClass);
  EXPECT_EQ(c1->parent, p->nodes[0].downClass);
  EXPECT_EQ(c1->ceilBitsPerSecond, mbpsToBits(300));
  EXPECT_EQ(p->circuits[0].parentPlacement, 1);  // logical parent kept
  for (const auto& hq : p->interfaces[kDown].queues) {
    EXPECT_EQ(hq.classes.size(), 2u + 2u + 2u);  // link, default, Site, AP, c1, c2
  }
}

TEST(Fixups, VirtualTopLevelNodesSpreadTheirChildrenOverQueues) {
  ModelBuilder b;
  b.node("Region", 0, 0, "", true);
  for (int i = 0; i < 4; ++i) {
    b.node("Site" + std::to_string(i), 100, 100, "Region");
  }
  b.circuit("direct", "Region", 1, 1, 10, 10);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 4, 4, diags);
  ASSERT_TRUE(p);
  // Round-robin over the promoted items in tree order: Region (it owns a circuit), Site0..3.
  EXPECT_EQ(p->nodes[1].queue, 1);
  EXPECT_EQ(p->nodes[2].queue, 2);
  EXPECT_EQ(p->nodes[3].queue, 3);
  EXPECT_EQ(p->nodes[4].queue, 0);
  // The circuit under the virtual top-level node hangs under the link class of queue 0.
  EXPECT_EQ(p->circuits[0].queue, 0);
  const auto* c = findClass(*p, kDown, p->circuits[0].downClass);
  EXPECT_EQ(c->parent, (TcHandle{1, kLinkMinor}));
}

TEST(Fixups, DepthFlattenedBelowFifthSiteLevel) {
  ModelBuilder b;
  std::string parent;
  for (int level = 0; level < 9; ++level) {
    const std::string name = "L" + std::to_string(level);
    b.node(name, 100, 100, parent);
    parent = name;
  }
  b.circuit("deep", "L8", 1, 1, 10, 10);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 1, 1, diags);
  ASSERT_TRUE(p);
  // L0..L5 keep their parents; L6, L7, L8 are re-parented to L4 (the 5th site level).
  EXPECT_EQ(findClass(*p, kDown, p->nodes[5].downClass)->parent, p->nodes[4].downClass);
  for (int level = 6; level < 9; ++level) {
    EXPECT_EQ(findClass(*p, kDown, p->nodes[level].downClass)->parent, p->nodes[4].downClass)
        << "L" << level;
  }
  EXPECT_EQ(countCategory(diags, "planner-depth-flattened"), 3u);
  // The circuit still hangs under its own node: link, L0..L4, L8, circuit = 8 levels.
  EXPECT_EQ(findClass(*p, kDown, p->circuits[0].downClass)->parent, p->nodes[8].downClass);
}

TEST(Fixups, UnparentedCircuitsGoToGeneratedNodesRoundRobin) {
  ModelBuilder b;
  b.node("Site", 100, 100);
  for (int i = 0; i < 5; ++i) {
    b.circuit("u" + std::to_string(i), "", 1, 1, 10, 10);
  }
  auto config = bridgeConfig();
  config.queues.generatedPnDownloadMbps = 300;
  config.queues.generatedPnUploadMbps = 2000;  // above the link: capped with a warning
  Diagnostics diags;
  const auto p = testing::plan(config, b.model(), 2, 2, diags);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->nodes.size(), 3u);
  EXPECT_EQ(p->nodes[1].name, "Generated_PN_1");
  EXPECT_EQ(p->nodes[2].name, "Generated_PN_2");
  EXPECT_TRUE(p->nodes[1].generated);
  EXPECT_EQ(p->nodes[1].queue, 0);
  EXPECT_EQ(p->nodes[2].queue, 1);
  EXPECT_EQ(p->nodes[1].downloadMaxMbps, 300);
  EXPECT_EQ(p->nodes[1].uploadMaxMbps, 1000);
  EXPECT_EQ(countCategory(diags, "planner-node-rate-capped"), 2u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(p->circuits[i].parentPlacement, 1 + i % 2);
    EXPECT_EQ(p->circuits[i].queue, i % 2);
  }
}

TEST(Fixups, NoGeneratedNodesWithoutUnparentedCircuits) {
  ModelBuilder b;
  b.node("Site", 100, 100).circuit("c", "Site", 1, 1, 10, 10);
  Diagnostics diags;
  const auto p = testing::plan(bridgeConfig(), b.model(), 4, 4, diags);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nodes.size(), 1u);
}

TEST(Fixups, UnknownParentIsAnError) {
  ModelBuilder b;
  b.node("Site", 100, 100).circuit("c", "Nowhere", 1, 1, 10, 10);
  Diagnostics diags;
  EXPECT_FALSE(testing::plan(bridgeConfig(), b.model(), 1, 1, diags));
  EXPECT_TRUE(diags.has("planner-unknown-parent"));
}

}  // namespace
}  // namespace sluice::plan
