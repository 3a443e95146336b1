// stabilizeHandles + diff on planner output: each change class gives exactly its own ops.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "BakeryTestUtil.h"

namespace sluice::bakery {
namespace {

using testing::insertCircuit;
using testing::planOf;
using testing::smallIsp;

size_t countKind(const std::vector<TcOp>& ops, TcOp::Kind kind) {
  return static_cast<size_t>(
      std::count_if(ops.begin(), ops.end(), [&](const TcOp& op) { return op.kind == kind; }));
}

std::string opsText(const ChangeSet& cs) {
  std::string out;
  for (const auto& op : cs.addPhase) out += "  + " + describe(op) + "\n";
  for (const auto& op : cs.deletePhase) out += "  - " + describe(op) + "\n";
  return out;
}

/// desired stabilized against active, then diffed.
ChangeSet stableDiff(const plan::QueuePlan& active, plan::QueuePlan& desired) {
  auto r = stabilizeHandles(desired, active);
  EXPECT_TRUE(r) << r.error().message();
  return diff(active, desired);
}

const plan::CircuitPlacement& circuit(const plan::QueuePlan& p, const std::string& id) {
  for (const auto& c : p.circuits) {
    if (c.circuitId == id) return c;
  }
  throw std::runtime_error("no circuit " + id);
}

TEST(DiffTest, IdenticalPlansGiveAnEmptyChangeSet) {
  const auto model = smallIsp(40);
  const auto active = planOf(model);
  auto desired = planOf(model);
  const ChangeSet cs = stableDiff(active, desired);
  EXPECT_TRUE(cs.empty()) << opsText(cs);
  EXPECT_EQ(cs.tcOpCount(), 0u);
  EXPECT_FALSE(cs.bumpEpoch);
  EXPECT_EQ(desired.interfaces[0].queues[0].classes, active.interfaces[0].queues[0].classes);
}

TEST(DiffTest, AddingACircuitInTheMiddleRenumbersNoOtherCircuit) {
  auto model = smallIsp(40);
  const auto active = planOf(model);
  insertCircuit(model, 3, "new", "AP-A1", 100, 20, "100.64.9.9");
  auto desired = planOf(model);
  // The planner alone shifts later minors and leaf handles...
  size_t shifted = 0;
  for (const auto& c : active.circuits) {
    shifted += circuit(desired, c.circuitId).downClass != c.downClass ? 1 : 0;
  }
  ASSERT_GT(shifted, 0u) << "the planner numbers sequentially; this test needs that";
  // ...stabilized, every existing circuit keeps its classes, leaves and index.
  const ChangeSet cs = stableDiff(active, desired);
  for (size_t i = 0; i < active.circuits.size(); ++i) {
    const auto& a = active.circuits[i];
    const auto& d = circuit(desired, a.circuitId);
    EXPECT_EQ(d.downClass, a.downClass) << a.circuitId;
    EXPECT_EQ(d.upClass, a.upClass) << a.circuitId;
    EXPECT_EQ(desired.circuits[i].circuitId, a.circuitId) << "index of " << a.circuitId;
  }
  EXPECT_EQ(countKind(cs.addPhase, TcOp::Kind::AddClass), 2u) << opsText(cs);
  EXPECT_EQ(countKind(cs.addPhase, TcOp::Kind::AddLeaf), 2u) << opsText(cs);
  EXPECT_EQ(cs.tcOpCount(), 4u) << opsText(cs);
  EXPECT_TRUE(cs.deletePhase.empty()) << opsText(cs);
  ASSERT_EQ(cs.upserts.size(), 1u);
  EXPECT_EQ(cs.upserts[0].prefix.toString(), "100.64.9.9");
  EXPECT_EQ(cs.counts.at(ChangeKind::CircuitAdded), 1u);
  EXPECT_EQ(cs.counts.at(ChangeKind::AddressAdded), 1u);
  // New numbers are ones the active tree does not use.
  std::set<uint32_t> activeIds;
  for (const auto& iface : active.interfaces)
    for (const auto& q : iface.queues)
      for (const auto& c : q.classes) activeIds.insert(c.classid.raw());
  EXPECT_FALSE(activeIds.contains(circuit(desired, "new").downClass.raw()));
}

TEST(DiffTest, SpeedChangeIsOneClassChangePerDirectionAndNoLeafOp) {
  auto model = smallIsp(40);
  const auto active = planOf(model);
  model.shaped.circuits[17].downloadMaxMbps = 77;
  model.shaped.circuits[17].uploadMaxMbps = 33;
  auto desired = planOf(model);
  const ChangeSet cs = stableDiff(active, desired);
  EXPECT_EQ(cs.addPhase.size(), 2u) << opsText(cs);
  EXPECT_EQ(countKind(cs.addPhase, TcOp::Kind::ChangeClass), 2u) << opsText(cs);
  EXPECT_TRUE(cs.deletePhase.empty());
  EXPECT_TRUE(cs.upserts.empty());
  EXPECT_FALSE(cs.bumpEpoch);
  EXPECT_EQ(cs.counts.at(ChangeKind::SpeedChange), 1u);
  EXPECT_EQ(cs.counts.size(), 1u);
}

// HTB cannot change a qdisc's r2q in place, but reads it only for classes without a quantum and
// every planned class has one: a link-rate change keeps the live r2q and changes classes.
TEST(DiffTest, LinkRateChangeChangesClassesAndKeepsTheHtbQdiscs) {
  const auto model = smallIsp(40);
  const auto active = planOf(model, 1000);
  auto desired = planOf(model, 900);
  ASSERT_NE(desired.interfaces[0].queues[0].r2q, active.interfaces[0].queues[0].r2q)
      << "the planner's r2q follows the link rate";
  const ChangeSet cs = stableDiff(active, desired);
  EXPECT_FALSE(cs.rebuildReason) << *cs.rebuildReason;
  const auto all = [&](TcOp::Kind kind) {
    return countKind(cs.addPhase, kind) + countKind(cs.deletePhase, kind);
  };
  EXPECT_EQ(all(TcOp::Kind::AddHtbQdisc), 0u) << opsText(cs);
  EXPECT_EQ(all(TcOp::Kind::DeleteHtbQdisc), 0u) << opsText(cs);
  EXPECT_EQ(all(TcOp::Kind::AddClass), 0u) << opsText(cs);
  EXPECT_GT(all(TcOp::Kind::ChangeClass), 0u);
  for (size_t i = 0; i < desired.interfaces.size(); ++i) {
    for (size_t k = 0; k < desired.interfaces[i].queues.size(); ++k) {
      EXPECT_EQ(desired.interfaces[i].queues[k].r2q, active.interfaces[i].queues[k].r2q);
    }
  }
  // The link class takes the new rate; circuit classes keep the planner's quanta for 900.
  const auto fresh = planOf(model, 900);
  EXPECT_EQ(desired.interfaces[0].queues[0].classes[0].ceilBitsPerSecond,
            fresh.interfaces[0].queues[0].classes[0].ceilBitsPerSecond);
  // A class planned without a quantum would need the new r2q: then the HTB qdiscs change.
  auto noQuantum = planOf(model, 900);
  noQuantum.interfaces[0].queues[0].classes.back().quantumBytes = 0;
  const ChangeSet rebuilt = stableDiff(active, noQuantum);
  EXPECT_TRUE(rebuilt.rebuildReason);
}

TEST(DiffTest, SqmKindChangeRotatesTheLeafHandleAndKeepsTheClass) {
  auto model = smallIsp(40);
  const auto active = planOf(model);
  model.shaped.circuits[5].sqm.down = model::SqmKind::FqCodel;
  auto desired = planOf(model);
  const ChangeSet cs = stableDiff(active, desired);
  ASSERT_EQ(cs.addPhase.size(), 1u) << opsText(cs);
  const TcOp& op = cs.addPhase[0];
  EXPECT_EQ(op.kind, TcOp::Kind::AddLeaf);
  EXPECT_EQ(op.leaf.kind, plan::LeafKind::FqCodel);
  EXPECT_EQ(op.cls.classid, circuit(active, "c5").downClass);
  std::set<uint16_t> activeHandles;
  for (const auto& q : active.interfaces[0].queues)
    for (const auto& c : q.classes)
      if (c.leaf) activeHandles.insert(c.leaf->handleMajor);
  EXPECT_FALSE(activeHandles.contains(op.leaf.handleMajor)) << "handle must be rotated";
  EXPECT_TRUE(cs.deletePhase.empty()) << "the graft replaces the old leaf";
  EXPECT_EQ(cs.counts.at(ChangeKind::SqmChange), 1u);
}

TEST(DiffTest, SqmNoneDeletesTheLeafAfterTheSwitch) {
  auto model = smallIsp(10);
  const auto active = planOf(model);
  model.shaped.circuits[2].sqm.up = model::SqmKind::None;
  auto desired = planOf(model);
  const ChangeSet cs = stableDiff(active, desired);
  EXPECT_TRUE(cs.addPhase.empty()) << opsText(cs);
  ASSERT_EQ(cs.deletePhase.size(), 1u) << opsText(cs);
  EXPECT_EQ(cs.deletePhase[0].kind, TcOp::Kind::DeleteLeaf);
}

TEST(DiffTest, ParentMoveIsStagedAddRemapDelete) {
  auto model = smallIsp(40);
  const auto active = planOf(model);
  // c4 is on AP-A1; AP-A2 is on the same site (so, the same queue).
  model.shaped.circuits[4].parentNode = "AP-A2";
  auto desired = planOf(model);
  const ChangeSet cs = stableDiff(active, desired);
  EXPECT_EQ(countKind(cs.addPhase, TcOp::Kind::AddClass), 2u) << opsText(cs);
  EXPECT_EQ(countKind(cs.addPhase, TcOp::Kind::AddLeaf), 2u) << opsText(cs);
  EXPECT_EQ(countKind(cs.deletePhase, TcOp::Kind::DeleteClass), 2u) << opsText(cs);
  EXPECT_EQ(cs.tcOpCount(), 6u) << opsText(cs);
  ASSERT_EQ(cs.upserts.size(), 1u);
  EXPECT_EQ(cs.upserts[0].downClass, circuit(desired, "c4").downClass);
  EXPECT_NE(circuit(desired, "c4").downClass, circuit(active, "c4").downClass);
  EXPECT_EQ(cs.counts.at(ChangeKind::ParentMove), 1u);
  EXPECT_EQ(cs.counts.at(ChangeKind::AddressMoved), 1u);
}

TEST(DiffTest, AddressChangesAreMapOpsOnly) {
  auto model = smallIsp(40);
  const auto active = planOf(model);
  auto& devs = model.shaped.circuits[8].devices[0];
  devs.ipv4.push_back(*IpNet::parse("100.64.200.1"));                     // added
  model.shaped.circuits[9].devices[0].ipv4.clear();                      // removed
  model.shaped.circuits[10].devices[0].ipv4.push_back(
      model.shaped.circuits[11].devices[0].ipv4[0]);                     // moved 11 -> 10
  model.shaped.circuits[11].devices[0].ipv4.clear();
  auto desired = planOf(model);
  const ChangeSet cs = stableDiff(active, desired);
  EXPECT_EQ(cs.tcOpCount(), 0u) << opsText(cs);
  EXPECT_TRUE(cs.bumpEpoch);
  EXPECT_EQ(cs.upserts.size(), 2u);
  EXPECT_EQ(cs.removals.size(), 1u);
  EXPECT_EQ(cs.counts.at(ChangeKind::AddressAdded), 1u);
  EXPECT_EQ(cs.counts.at(ChangeKind::AddressRemoved), 1u);
  EXPECT_EQ(cs.counts.at(ChangeKind::AddressMoved), 1u);
}

TEST(DiffTest, CircuitRemovalDeletesChildrenBeforeParentsAfterTheSwitch) {
  auto model = smallIsp(12);
  const auto active = planOf(model);
  // Remove every circuit of AP-B2 and the AP itself.
  for (int i : {11, 7, 3}) {
    testing::eraseCircuit(model, fmt::format("c{}", i));
  }
  auto& net = model.network;
  const int32_t ap = net.find("AP-B2");
  ASSERT_GE(ap, 0);
  net.nodes[net.find("SiteB")].children.pop_back();
  net.nodes.erase(net.nodes.begin() + ap);
  net.byName.erase("AP-B2");
  auto desired = planOf(model);
  const ChangeSet cs = stableDiff(active, desired);
  EXPECT_TRUE(cs.addPhase.empty()) << opsText(cs);
  EXPECT_EQ(countKind(cs.deletePhase, TcOp::Kind::DeleteClass), 8u) << opsText(cs);
  // The AP's classes come after its circuits' classes.
  const auto apDown = [&] {
    for (const auto& n : active.nodes) if (n.name == "AP-B2") return n.downClass;
    return plan::TcHandle{};
  }();
  size_t apAt = 0, lastCircuitAt = 0;
  for (size_t i = 0; i < cs.deletePhase.size(); ++i) {
    if (cs.deletePhase[i].cls.classid == apDown) apAt = i;
    if (cs.deletePhase[i].cls.parent == apDown) lastCircuitAt = i;
  }
  EXPECT_GT(apAt, lastCircuitAt) << opsText(cs);
  EXPECT_EQ(cs.removals.size(), 3u);
  EXPECT_EQ(cs.counts.at(ChangeKind::CircuitRemoved), 3u);
  EXPECT_EQ(cs.counts.at(ChangeKind::NodeRemoved), 1u);
}

TEST(DiffTest, ActiveStateSurvivesARoundTrip) {
  const auto p = planOf(smallIsp(30));
  testing::TempDir dir;
  ASSERT_TRUE(saveActiveState(dir.path(), ActiveState{p, 3}));
  auto back = loadActiveState(dir.path());
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->generation, 3u);
  auto again = (*back)->plan;
  EXPECT_TRUE(diff(p, again).empty());
  EXPECT_EQ(again.addresses, p.addresses);
  ASSERT_EQ(again.circuits.size(), p.circuits.size());
  EXPECT_EQ(again.circuits[7].modelIndex, p.circuits[7].modelIndex);
  EXPECT_EQ(again.interfaces[1].queues[1].classes, p.interfaces[1].queues[1].classes);
}

TEST(DiffTest, MalformedActiveStateNamesTheFileAndField) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/bakery");
  std::ofstream(dir.path() + "/bakery/active.json")
      << R"({"format":"sluice-queue-plan","version":1,"queueCount":"x"})";
  auto r = loadActiveState(dir.path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("active.json"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("$.queueCount"), std::string::npos) << r.error().message();
}

TEST(DiffTest, PreflightRefusalNamesTheLimitAndTheCount) {
  const auto p = planOf(smallIsp(30));
  Limits limits;
  limits.maxQdiscsPerInterface = 20;
  limits.memoryAvailableBytes = 64ull << 30;
  auto r = preflight(p, limits);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("needs"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("kernel allows 20"), std::string::npos)
      << r.error().message();
  limits = Limits{};
  limits.memoryAvailableBytes = 1ull << 20;  // 1 MiB free
  r = preflight(p, limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENOMEM);
  EXPECT_NE(r.error().message().find("MiB are available"), std::string::npos)
      << r.error().message();
  limits = Limits{};
  limits.memoryAvailableBytes = 64ull << 30;
  limits.lpmCapacity = 10;
  r = preflight(p, limits);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("capacity is 10"), std::string::npos) << r.error().message();
  limits.lpmCapacity = 0;
  EXPECT_TRUE(preflight(p, limits));
}

}  // namespace
}  // namespace sluice::bakery
