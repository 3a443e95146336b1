// materialize() and activeIn(), alone and through the bakery against its kernel model: what an
// activation and an expiry cost (ops, map writes), that no mapping ever points at a missing
// class, and that idle circuits' addresses keep their circuit, queue and CPU.

#include <gtest/gtest.h>

#include <tuple>

#include "BakeryTestUtil.h"
#include "lazy/Materialize.h"

namespace sluice::lazy {
namespace {

using bakery::testing::planOf;
using bakery::testing::smallIsp;
using config::LazyQueues;
using plan::ClassRole;

size_t circuitClasses(const plan::QueuePlan& p, bool withLeafOnly = false) {
  size_t n = 0;
  for (const auto& iface : p.interfaces) {
    for (const auto& q : iface.queues) {
      for (const auto& c : q.classes) {
        if (c.role == ClassRole::Circuit && (!withLeafOnly || c.leaf)) ++n;
      }
    }
  }
  return n;
}

size_t nodeClasses(const plan::QueuePlan& p) {
  size_t n = 0;
  for (const auto& iface : p.interfaces) {
    for (const auto& q : iface.queues) {
      for (const auto& c : q.classes) n += c.role != ClassRole::Circuit ? 1 : 0;
    }
  }
  return n;
}

int32_t indexOf(const plan::QueuePlan& p, const std::string& id) {
  for (size_t i = 0; i < p.circuits.size(); ++i) {
    if (p.circuits[i].circuitId == id) return static_cast<int32_t>(i);
  }
  return -1;
}

/// Every class of every queue, in order, and the rest of the plan, equal.
void expectSamePlan(const plan::QueuePlan& a, const plan::QueuePlan& b) {
  EXPECT_EQ(a.queueCount, b.queueCount);
  EXPECT_EQ(a.queueCpu, b.queueCpu);
  EXPECT_EQ(a.onAStick, b.onAStick);
  EXPECT_EQ(a.circuits.size(), b.circuits.size());
  EXPECT_EQ(a.nodes.size(), b.nodes.size());
  EXPECT_EQ(a.addresses, b.addresses);
  ASSERT_EQ(a.interfaces.size(), b.interfaces.size());
  for (size_t i = 0; i < a.interfaces.size(); ++i) {
    EXPECT_EQ(a.interfaces[i].ifname, b.interfaces[i].ifname);
    ASSERT_EQ(a.interfaces[i].queues.size(), b.interfaces[i].queues.size());
    for (size_t q = 0; q < a.interfaces[i].queues.size(); ++q) {
      const auto& qa = a.interfaces[i].queues[q];
      const auto& qb = b.interfaces[i].queues[q];
      EXPECT_EQ(std::tie(qa.direction, qa.txQueue, qa.major, qa.r2q, qa.defaultMinor),
                std::tie(qb.direction, qb.txQueue, qb.major, qb.r2q, qb.defaultMinor));
      EXPECT_EQ(qa.classes, qb.classes) << a.interfaces[i].ifname << " queue " << q;
    }
  }
}

TEST(FullPlan, ExpandGivesBackThePlanWithEveryLeafKind) {
  auto full = planOf(smallIsp(12));
  size_t classes = 0, circuitLeaves = 0;
  for (auto& iface : full.interfaces) {
    for (auto& q : iface.queues) {
      classes += q.classes.size();
      for (auto& c : q.classes) {
        if (c.role != ClassRole::Circuit || !c.leaf) continue;
        switch (circuitLeaves++ % 5) {
          case 1:
            c.leaf->kind = plan::LeafKind::FqCodel;
            c.leaf->fqCodel.targetUs = 2500;
            break;
          case 2:
            c.leaf->kind = plan::LeafKind::None;
            break;
          case 3:
            c.leaf->cake.rttUs = 300'000;
            c.leaf->cake.overheadBytes = 18;
            break;
          case 4:
            c.leaf.reset();
            break;
        }
      }
    }
  }
  ASSERT_GE(circuitLeaves, 10u);
  const FullPlan compact(full);
  EXPECT_EQ(compact.classCount(), classes);
  EXPECT_GE(compact.leafSpecCount(), 4u);
  EXPECT_LT(compact.leafSpecCount(), circuitLeaves) << "equal specs share one entry";
  for (const auto& iface : compact.skeleton().interfaces) {
    for (const auto& q : iface.queues) EXPECT_TRUE(q.classes.empty());
  }
  expectSamePlan(compact.expand(), full);
  expectSamePlan(materialize(compact, {}, LazyQueues::No), full);
  // Every circuit active: Full and Htb materialize the whole tree, leaf handles included.
  ActiveCircuits all;
  for (const auto& c : full.circuits) all.insert(c.circuitId);
  expectSamePlan(materialize(compact, all, LazyQueues::Full), full);
  expectSamePlan(materialize(compact, all, LazyQueues::Htb), full);
}

TEST(Materialize, NoIsTheFullPlan) {
  const auto full = planOf(smallIsp(12));
  const auto m = materialize(full, {}, LazyQueues::No);
  EXPECT_EQ(circuitClasses(m), circuitClasses(full));
  EXPECT_EQ(m.addresses, full.addresses);
  EXPECT_EQ(activeIn(m, LazyQueues::No).size(), 12u);
}

TEST(Materialize, FullKeepsNodesAndActiveCircuitsOnly) {
  const auto full = planOf(smallIsp(12));
  const auto m = materialize(full, {"c3", "c7", "no-such-circuit"}, LazyQueues::Full);
  EXPECT_EQ(circuitClasses(m), 4u);  // 2 circuits x 2 directions
  EXPECT_EQ(nodeClasses(m), nodeClasses(full));
  EXPECT_EQ(m.circuits.size(), full.circuits.size());
  EXPECT_EQ(m.nodes.size(), full.nodes.size());
  EXPECT_EQ(activeIn(m, LazyQueues::Full), (ActiveCircuits{"c3", "c7"}));

  // Active circuits: unchanged. Idle ones: same circuit, queue and CPU, classids at the
  // default class of their queue; placements without a class.
  ASSERT_EQ(m.addresses.size(), full.addresses.size());
  for (size_t i = 0; i < m.addresses.size(); ++i) {
    const auto& a = m.addresses[i];
    const auto& f = full.addresses[i];
    EXPECT_EQ(a.prefix, f.prefix);
    EXPECT_EQ(a.circuit, f.circuit);
    EXPECT_EQ(a.queue, f.queue);
    EXPECT_EQ(a.cpu, f.cpu);
    const std::string& id = full.circuits[f.circuit].circuitId;
    if (id == "c3" || id == "c7") {
      EXPECT_EQ(a, f);
    } else {
      EXPECT_EQ(a.downClass, (plan::TcHandle{f.downClass.major, plan::kDefaultMinor})) << id;
      EXPECT_EQ(a.upClass, (plan::TcHandle{f.upClass.major, plan::kDefaultMinor})) << id;
    }
  }
  EXPECT_EQ(m.circuits[indexOf(m, "c0")].downClass, plan::TcHandle{});
  EXPECT_EQ(m.circuits[indexOf(m, "c3")].downClass, full.circuits[indexOf(full, "c3")].downClass);
}

TEST(Materialize, HtbKeepsClassesAndDropsIdleLeaves) {
  const auto full = planOf(smallIsp(12));
  const auto m = materialize(full, {"c5"}, LazyQueues::Htb);
  EXPECT_EQ(circuitClasses(m), circuitClasses(full));
  EXPECT_EQ(circuitClasses(m, true), 2u);
  EXPECT_EQ(m.addresses, full.addresses);
  EXPECT_EQ(activeIn(m, LazyQueues::Htb), ActiveCircuits{"c5"});
}

TEST(Materialize, FillsUnassignedLeafHandlesWithFreeOnes) {
  auto full = planOf(smallIsp(8));
  for (auto& iface : full.interfaces) {
    for (auto& q : iface.queues) {
      for (auto& c : q.classes) {
        if (c.role == ClassRole::Circuit && c.leaf) c.leaf->handleMajor = 0;
      }
    }
  }
  const auto m = materialize(full, {"c0", "c1", "c2"}, LazyQueues::Full);
  for (const auto& iface : m.interfaces) {
    std::set<uint16_t> handles;
    for (const auto& q : iface.queues) {
      handles.insert(q.major);
      for (const auto& c : q.classes) {
        if (!c.leaf) continue;
        EXPECT_NE(c.leaf->handleMajor, 0);
        EXPECT_TRUE(handles.insert(c.leaf->handleMajor).second) << c.leaf->handleMajor;
      }
    }
  }
}

class LazyBakeryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limits_.memoryAvailableBytes = 64ull << 30;
    bakery_ = std::make_unique<bakery::Bakery>(runner_, writer_, dir_.path(), limits_);
    runner_.setAfterEachOp([this](const bakery::TcOp& op) {
      EXPECT_EQ(bakery::testing::danglingMapping(writer_.inner, runner_), "")
          << "after " << bakery::describe(op);
    });
    writer_.check = [this] {
      EXPECT_EQ(bakery::testing::danglingMapping(writer_.inner, runner_), "") << "map write";
    };
  }
  bakery::ApplyReport apply(const plan::QueuePlan& p) {
    auto r = bakery_->apply(p);
    EXPECT_TRUE(r) << r.error().message();
    auto diffs = runner_.liveDifferences(*bakery_->active());
    EXPECT_TRUE(diffs && diffs->empty()) << (diffs && !diffs->empty() ? diffs->front() : "");
    return r ? *r : bakery::ApplyReport{};
  }
  /// The mapping the data plane holds for the first address of circuit `id`.
  plan::AddressMapping mappingOf(const std::string& id) {
    const auto& active = *bakery_->active();
    const int32_t c = indexOf(active, id);
    for (const auto& [prefix, m] : writer_.inner.table()) {
      if (m.circuit == c) return m;
    }
    ADD_FAILURE() << "no mapping for " << id;
    return {};
  }

  size_t opsOfKind(size_t from, bakery::TcOp::Kind kind) const {
    size_t n = 0;
    for (size_t i = from; i < runner_.log().size(); ++i) n += runner_.log()[i].kind == kind;
    return n;
  }

  bakery::testing::TempDir dir_;
  bakery::Limits limits_;
  bakery::ModelOpRunner runner_;
  bakery::testing::CheckingMapWriter writer_;
  std::unique_ptr<bakery::Bakery> bakery_;
};

TEST_F(LazyBakeryTest, FullActivationIsACircuitAddAndExpiryARemoval) {
  const auto full = planOf(smallIsp(20));
  auto r = apply(materialize(full, {}, LazyQueues::Full));
  EXPECT_EQ(r.mode, "build");
  EXPECT_EQ(circuitClasses(*bakery_->active()), 0u);
  EXPECT_EQ(mappingOf("c4").downClass.minor, plan::kDefaultMinor);

  // Activation of two circuits in one apply: 2 classes + 2 leaves each, addresses moved.
  size_t log0 = runner_.log().size();
  r = apply(materialize(full, {"c4", "c9"}, LazyQueues::Full));
  EXPECT_EQ(r.mode, "incremental");
  EXPECT_EQ(r.tcOps, 8u);
  EXPECT_EQ(r.counts[bakery::ChangeKind::CircuitAdded], 2u);
  EXPECT_EQ(r.counts.count(bakery::ChangeKind::ParentMove), 0u);
  EXPECT_EQ(opsOfKind(log0, bakery::TcOp::Kind::AddClass), 4u);
  EXPECT_EQ(opsOfKind(log0, bakery::TcOp::Kind::AddLeaf), 4u);
  EXPECT_EQ(r.counts[bakery::ChangeKind::AddressMoved], 2u);
  const auto m4 = mappingOf("c4");
  EXPECT_NE(m4.downClass.minor, plan::kDefaultMinor);
  EXPECT_TRUE(runner_.hasClass(plan::Direction::Download, m4.downClass));
  EXPECT_TRUE(runner_.hasClass(plan::Direction::Upload, m4.upClass));
  EXPECT_EQ(activeIn(*bakery_->active(), LazyQueues::Full), (ActiveCircuits{"c4", "c9"}));

  // Expiry of c4: address back to the default class first, then 2 class deletes.
  log0 = runner_.log().size();
  r = apply(materialize(full, {"c9"}, LazyQueues::Full));
  EXPECT_EQ(r.tcOps, 2u);
  EXPECT_EQ(opsOfKind(log0, bakery::TcOp::Kind::DeleteClass), 2u);
  EXPECT_EQ(r.counts[bakery::ChangeKind::CircuitRemoved], 1u);
  EXPECT_EQ(r.counts[bakery::ChangeKind::AddressMoved], 1u);
  EXPECT_EQ(mappingOf("c4").downClass, (plan::TcHandle{m4.downClass.major, plan::kDefaultMinor}));
  EXPECT_FALSE(runner_.hasClass(plan::Direction::Download, m4.downClass));
  EXPECT_EQ(mappingOf("c4").queue, m4.queue);
  EXPECT_EQ(mappingOf("c4").cpu, m4.cpu);

  // Nothing changed: no-op.
  r = apply(materialize(full, {"c9"}, LazyQueues::Full));
  EXPECT_EQ(r.mode, "noop");
}

TEST_F(LazyBakeryTest, HtbActivationGraftsTheLeafAndExpiryDeletesIt) {
  const auto full = planOf(smallIsp(20));
  apply(materialize(full, {}, LazyQueues::Htb));
  EXPECT_EQ(circuitClasses(*bakery_->active(), true), 0u);
  const size_t classes = circuitClasses(*bakery_->active());
  EXPECT_EQ(classes, 40u);

  size_t log0 = runner_.log().size();
  auto r = apply(materialize(full, {"c2"}, LazyQueues::Htb));
  EXPECT_EQ(r.tcOps, 2u);  // one leaf per direction, classes untouched
  EXPECT_EQ(r.mapUpserts, 0u);
  EXPECT_EQ(opsOfKind(log0, bakery::TcOp::Kind::AddLeaf), 2u);
  EXPECT_EQ(circuitClasses(*bakery_->active(), true), 2u);

  log0 = runner_.log().size();
  r = apply(materialize(full, {}, LazyQueues::Htb));
  EXPECT_EQ(r.tcOps, 2u);
  EXPECT_EQ(opsOfKind(log0, bakery::TcOp::Kind::DeleteLeaf), 2u);  // the two leaves deleted (HTB gives the class its default FIFO)
  EXPECT_EQ(circuitClasses(*bakery_->active(), true), 0u);
  EXPECT_EQ(circuitClasses(*bakery_->active()), classes);
}

TEST_F(LazyBakeryTest, ActiveSetSurvivesARestartThroughTheActiveState) {
  const auto full = planOf(smallIsp(10));
  apply(materialize(full, {}, LazyQueues::Full));
  apply(materialize(full, {"c1", "c6"}, LazyQueues::Full));
  ASSERT_TRUE(bakery_->flush());
  bakery::Bakery restarted(runner_, writer_, dir_.path(), limits_);
  auto loaded = restarted.load();
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ(activeIn(*restarted.active(), LazyQueues::Full), (ActiveCircuits{"c1", "c6"}));
  auto r = restarted.apply(materialize(full, {"c1", "c6"}, LazyQueues::Full));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tcOps, 0u);
}

}  // namespace
}  // namespace sluice::lazy
