// Properties over random sequences of operator changes (every change class of issue 6), each
// planned by the real planner and applied by the Bakery to the kernel model (with and without
// spare tx queues for rebuilds):
//   - after every apply the model equals the desired plan and the map equals its addresses;
//   - at no step (after any tc op or map write) does a mapping point at a missing class;
//   - re-applying the same plan is a no-op (empty ChangeSet, no tc op, no map write);
//   - existing circuits keep their classids unless they moved (parent or queue).

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <fmt/format.h>

#include "BakeryTestUtil.h"

namespace sluice::bakery {
namespace {

using testing::planOf;

const char* kNodes[] = {"SiteA", "SiteB", "AP-A1", "AP-A2", "AP-B1", "AP-B2"};

/// One random operator change to `m`; returns a name for failure messages.
std::string mutate(model::Model& m, int& nextId, int& nextAddr, double& linkMbps) {
  auto& cs = m.shaped.circuits;
  const int kind = *rc::gen::inRange(0, 11);
  const auto pick = [&]() -> model::Circuit& {
    return cs[*rc::gen::inRange<size_t>(0, cs.size())];
  };
  if (kind == 10) {  // lqos.conf uplink/downlink_bandwidth_mbps: the planner's r2q moves
    linkMbps = *rc::gen::element(700.0, 900.0, 1000.0, 2000.0);
    return fmt::format("link {} Mbps", linkMbps);
  }
  if (cs.empty() && kind != 1) {
    return "skip";
  }
  switch (kind) {
    case 0: {
      auto& c = pick();
      c.downloadMaxMbps = *rc::gen::inRange(10, 400);
      c.uploadMaxMbps = *rc::gen::inRange(5, 100);
      return "speed " + c.id;
    }
    case 1: {
      const std::string id = fmt::format("n{}", nextId++);
      testing::insertCircuit(m, *rc::gen::inRange<size_t>(0, cs.size() + 1), id,
                             kNodes[*rc::gen::inRange(0, 6)], *rc::gen::inRange(10, 400),
                             *rc::gen::inRange(5, 100),
                             fmt::format("100.65.{}.{}", nextAddr / 250, 1 + nextAddr % 250));
      ++nextAddr;
      return "add " + id;
    }
    case 2: {
      const std::string id = pick().id;
      testing::eraseCircuit(m, id);
      return "remove " + id;
    }
    case 3: {
      auto& c = pick();
      c.parentNode = kNodes[*rc::gen::inRange(0, 6)];
      return "move " + c.id + " to " + c.parentNode;
    }
    case 4: {
      auto& c = pick();
      const model::SqmKind kinds[] = {model::SqmKind::Default, model::SqmKind::Cake,
                                      model::SqmKind::FqCodel, model::SqmKind::None};
      c.sqm.down = kinds[*rc::gen::inRange(0, 4)];
      c.sqm.up = kinds[*rc::gen::inRange(0, 4)];
      return "sqm " + c.id;
    }
    case 5: {
      auto& c = pick();
      c.devices[0].ipv4.push_back(
          *IpNet::parse(fmt::format("100.66.{}.{}", nextAddr / 250, 1 + nextAddr % 250)));
      ++nextAddr;
      return "address added to " + c.id;
    }
    case 6: {
      auto& c = pick();
      if (!c.devices[0].ipv4.empty()) c.devices[0].ipv4.pop_back();
      return "address removed from " + c.id;
    }
    case 7: {
      auto& from = pick();
      auto& to = pick();
      if (&from != &to && !from.devices[0].ipv4.empty()) {
        to.devices[0].ipv4.push_back(from.devices[0].ipv4.back());
        from.devices[0].ipv4.pop_back();
      }
      return "address moved " + from.id + " -> " + to.id;
    }
    case 8: {
      auto& n = m.network.nodes[*rc::gen::inRange<size_t>(0, m.network.nodes.size())];
      n.downloadMbps = *rc::gen::inRange(300, 1000);
      return "node speed " + n.name;
    }
    default: {
      auto& c = pick();
      c.downloadMinMbps = *rc::gen::inRange(1, 10);
      return "min rate " + c.id;
    }
  }
}

RC_GTEST_PROP(BakeryProperty, RandomChangesConvergeWithoutDanglingMappings, ()) {
  testing::TempDir dir;
  ModelOpRunner runner;
  testing::CheckingMapWriter writer;
  Limits limits;
  limits.memoryAvailableBytes = 64ull << 30;
  limits.chunkOps = *rc::gen::inRange<size_t>(1, 50);
  // Tx queues per device (2 queues planned): unknown (0) or 2 rebuild in the same HTB qdiscs,
  // 3 and 4 on spare tx queues (and the applies after it must match the permuted tree).
  const uint32_t txQueues = *rc::gen::element<uint32_t>(0, 2, 3, 4);
  RC_TAG(txQueues > 2 ? "spare tx queues" : "no spare tx queue");
  runner.setTxQueues(txQueues);
  Bakery bakery(runner, writer, dir.path(), limits);
  std::string dangling;
  runner.setAfterEachOp([&](const TcOp& op) {
    if (dangling.empty()) {
      const std::string bad = testing::danglingMapping(writer.inner, runner);
      if (!bad.empty()) dangling = bad + " after " + describe(op);
    }
  });
  writer.check = [&] {
    if (dangling.empty()) {
      const std::string bad = testing::danglingMapping(writer.inner, runner);
      if (!bad.empty()) dangling = bad + " after a map write";
    }
  };

  auto m = testing::smallIsp(*rc::gen::inRange(4, 30));
  int nextId = 0;
  int nextAddr = 0;
  double linkMbps = 1000;
  RC_ASSERT(bakery.apply(planOf(m, linkMbps)).has_value());
  const int steps = *rc::gen::inRange(1, 8);
  for (int s = 0; s < steps; ++s) {
    plan::QueuePlan before = *bakery.active();
    std::string what;
    const int changes = *rc::gen::inRange(1, 4);
    for (int k = 0; k < changes; ++k) {
      what += mutate(m, nextId, nextAddr, linkMbps) + "; ";
    }
    const int how = *rc::gen::inRange(0, 10);  // 0: hitless rebuild, 1: observe and back
    RC_TAG(how == 0 ? "rebuild" : how == 1 ? "observe" : "apply");
    RC_LOG() << "step " << s << ": " << what << (how == 0 ? " (rebuild)" : how == 1 ? " (observe)" : "");
    if (how == 1) {
      RC_ASSERT(bakery.enterObserve({"wan0", "lan0"}).has_value());
      RC_ASSERT(writer.inner.table().empty());
    }
    auto r = how == 0 ? bakery.rebuild(planOf(m, linkMbps), "property")
                      : bakery.apply(planOf(m, linkMbps));
    RC_ASSERT(r.has_value());
    // No operator change here needs new HTB qdiscs (a link rate moves only the inert r2q).
    if (how >= 2) {
      RC_ASSERT(r->mode == std::string("incremental") || r->mode == std::string("noop"));
    }
    RC_ASSERT(dangling == "");
    // The state writer's own copy (patched like the active plan on the fast path) is what is
    // on disk: a restart would load exactly the active plan.
    RC_ASSERT(bakery.flush().has_value());
    auto saved = loadActiveState(dir.path());
    RC_ASSERT(saved.has_value());
    RC_ASSERT(saved->has_value());
    RC_ASSERT(testing::planDifference((*saved)->plan, *bakery.active()) == "");
    RC_ASSERT((*saved)->generation == bakery.generation());
    auto diffs = runner.liveDifferences(*bakery.active());
    RC_ASSERT(diffs.has_value());
    RC_ASSERT(diffs->empty());
    std::map<IpNet, plan::AddressMapping> want;
    for (const auto& a : bakery.active()->addresses) want.emplace(a.prefix, a);
    RC_ASSERT(writer.inner.table() == want);
    // The active plan is the planner's plan up to numbering: same circuits, same rates.
    const auto fresh = planOf(m, linkMbps);
    RC_ASSERT(bakery.active()->circuits.size() == fresh.circuits.size());
    RC_ASSERT(bakery.active()->addresses.size() == fresh.addresses.size());
    // Circuits whose parent and queue did not change keep their classes (not across rebuilds
    // and observe, which renumber on purpose).
    std::map<std::string, const plan::CircuitPlacement*> old;
    if (how <= 1) {
      before.circuits.clear();
    }
    for (const auto& c : before.circuits) old[c.circuitId] = &c;
    for (const auto& c : bakery.active()->circuits) {
      auto it = old.find(c.circuitId);
      if (it == old.end()) continue;
      const auto& o = *it->second;
      const bool sameParent = before.nodes[o.parentPlacement].name ==
                              bakery.active()->nodes[c.parentPlacement].name;
      if (sameParent && o.queue == c.queue && before.nodes.size() == bakery.active()->nodes.size()) {
        RC_ASSERT(o.downClass == c.downClass);
        RC_ASSERT(o.upClass == c.upClass);
      }
    }
    // Same plan again: nothing to do.
    const size_t calls = writer.inner.calls().size();
    const uint64_t ops = runner.opsRun();
    auto again = bakery.apply(planOf(m, linkMbps));
    RC_ASSERT(again.has_value());
    RC_ASSERT(again->mode == std::string("noop"));
    RC_ASSERT(runner.opsRun() == ops);
    RC_ASSERT(writer.inner.calls().size() == calls);
  }
}

RC_GTEST_PROP(BakeryProperty, ChangeSetAppliedToTheActiveTreeGivesTheDesiredTree, ()) {
  auto m = testing::smallIsp(*rc::gen::inRange(4, 25));
  const auto active = planOf(m);
  int nextId = 0;
  int nextAddr = 0;
  double linkMbps = 1000;
  const int changes = *rc::gen::inRange(1, 6);
  for (int k = 0; k < changes; ++k) {
    RC_LOG() << mutate(m, nextId, nextAddr, linkMbps);
  }
  auto desired = planOf(m, linkMbps);
  RC_ASSERT(stabilizeHandles(desired, active).has_value());
  const ChangeSet cs = diff(active, desired);
  RC_ASSERT(!cs.rebuildReason.has_value());
  ModelOpRunner kernel;
  RC_ASSERT(kernel.reconcile(active).has_value());
  RC_ASSERT(kernel.run(cs.addPhase).has_value());
  RC_ASSERT(kernel.run(cs.deletePhase).has_value());
  auto diffs = kernel.liveDifferences(desired);
  RC_ASSERT(diffs.has_value());
  RC_ASSERT(diffs->empty());
  // And diffing the result with itself is empty.
  RC_ASSERT(diff(desired, desired).empty());
}

}  // namespace
}  // namespace sluice::bakery

namespace sluice::bakery {
namespace {

RC_GTEST_PROP(BakeryProperty, FastPathAgreesWithStabilizeAndDiff, ()) {
  auto m = testing::smallIsp(*rc::gen::inRange(4, 25));
  const auto active = planOf(m);  // a build: the planner plan is the active plan
  int nextId = 0;
  int nextAddr = 0;
  double linkMbps = 1000;
  const int changes = *rc::gen::inRange(1, 4);
  for (int k = 0; k < changes; ++k) {
    RC_LOG() << mutate(m, nextId, nextAddr, linkMbps);
  }
  const auto input = planOf(m, linkMbps);
  auto fast = fastDiff(active, active, input);
  RC_CLASSIFY(fast.has_value(), "fast path");
  if (!fast) {
    return;
  }
  auto slow = input;
  RC_ASSERT(stabilizeHandles(slow, active).has_value());
  RC_ASSERT(fast->stabilized.interfaces.size() == slow.interfaces.size());
  for (size_t i = 0; i < slow.interfaces.size(); ++i) {
    for (size_t k = 0; k < slow.interfaces[i].queues.size(); ++k) {
      RC_ASSERT(fast->stabilized.interfaces[i].queues[k].classes ==
                slow.interfaces[i].queues[k].classes);
    }
  }
  RC_ASSERT(fast->stabilized.addresses == slow.addresses);
  RC_ASSERT(fast->stabilized.circuits.size() == slow.circuits.size());
  for (size_t i = 0; i < slow.circuits.size(); ++i) {
    RC_ASSERT(fast->stabilized.circuits[i].circuitId == slow.circuits[i].circuitId);
    RC_ASSERT(fast->stabilized.circuits[i].downClass == slow.circuits[i].downClass);
    RC_ASSERT(fast->stabilized.circuits[i].downloadMaxMbps == slow.circuits[i].downloadMaxMbps);
  }
  // Same kernel result and the same map as the general path.
  const ChangeSet general = diff(active, slow);
  RC_ASSERT(fast->changes.tcOpCount() == general.tcOpCount());
  ModelOpRunner kernel;
  RC_ASSERT(kernel.reconcile(active).has_value());
  RC_ASSERT(kernel.run(fast->changes.addPhase).has_value());
  RC_ASSERT(kernel.run(fast->changes.deletePhase).has_value());
  auto diffs = kernel.liveDifferences(slow);
  RC_ASSERT(diffs.has_value());
  RC_ASSERT(diffs->empty());
  dataplane::RecordingMapWriter map;
  RC_ASSERT(map.publish(active.addresses).has_value());
  RC_ASSERT(map.update(fast->changes.upserts, fast->changes.removals).has_value());
  std::map<IpNet, plan::AddressMapping> want;
  for (const auto& a : slow.addresses) want.emplace(a.prefix, a);
  RC_ASSERT(map.table() == want);
}

}  // namespace
}  // namespace sluice::bakery

namespace sluice::bakery {
namespace {

/// Non-structural operator changes only (what the fast path takes): speeds, addresses, minimums.
std::string mutateInPlace(model::Model& m, int& nextAddr, double& linkMbps) {
  auto& cs = m.shaped.circuits;
  auto& c = cs[*rc::gen::inRange<size_t>(0, cs.size())];
  switch (*rc::gen::inRange(0, 5)) {
    case 4:
      linkMbps = *rc::gen::element(700.0, 900.0, 1000.0, 2000.0);
      return fmt::format("link {} Mbps", linkMbps);
    case 0:
      c.downloadMaxMbps = *rc::gen::inRange(10, 400);
      c.uploadMaxMbps = *rc::gen::inRange(5, 100);
      return "speed " + c.id;
    case 1:
      c.devices[0].ipv4.push_back(
          *IpNet::parse(fmt::format("100.66.{}.{}", nextAddr / 250, 1 + nextAddr % 250)));
      ++nextAddr;
      return "address added to " + c.id;
    case 2:
      if (!c.devices[0].ipv4.empty()) c.devices[0].ipv4.pop_back();
      return "address removed from " + c.id;
    default:
      c.downloadMinMbps = *rc::gen::inRange(1, 10);
      return "min rate " + c.id;
  }
}

// The fast path against an active plan that is numbered differently from its input (after
// circuits were added and removed): the patched plan equals stabilizeHandles' result exactly, and
// the ChangeSet equals diff's.
RC_GTEST_PROP(BakeryProperty, FastPathAgreesWithTheGeneralPathOnARenumberedTree, ()) {
  auto m = testing::smallIsp(*rc::gen::inRange(4, 25));
  auto active = planOf(m);
  int nextId = 0;
  int nextAddr = 0;
  double linkMbps = 1000;
  // Structural changes first: the planner renumbers, stabilization keeps the old numbers.
  for (int k = *rc::gen::inRange(1, 4); k > 0; --k) {
    const std::string id = fmt::format("n{}", nextId++);
    testing::insertCircuit(m, *rc::gen::inRange<size_t>(0, m.shaped.circuits.size() + 1), id,
                           kNodes[*rc::gen::inRange(0, 6)], *rc::gen::inRange(10, 400),
                           *rc::gen::inRange(5, 100),
                           fmt::format("100.65.{}.{}", nextAddr / 250, 1 + nextAddr % 250));
    ++nextAddr;
    RC_LOG() << "add " << id;
  }
  if (*rc::gen::inRange(0, 2) == 0 && m.shaped.circuits.size() > 2) {
    const std::string id = m.shaped.circuits[0].id;
    testing::eraseCircuit(m, id);
    RC_LOG() << "remove " << id;
  }
  const auto last = planOf(m, linkMbps);
  auto stabilized = last;
  RC_ASSERT(stabilizeHandles(stabilized, active).has_value());
  active = stabilized;
  for (int k = *rc::gen::inRange(1, 6); k > 0; --k) {
    RC_LOG() << mutateInPlace(m, nextAddr, linkMbps);
  }
  const auto input = planOf(m, linkMbps);
  auto fast = fastDiff(last, active, input);
  RC_CLASSIFY(fast.has_value(), "fast path");
  if (!fast) {
    return;  // the planner moved something (e.g. a squashed minimum changed the structure)
  }
  auto slow = input;
  RC_ASSERT(stabilizeHandles(slow, active).has_value());
  RC_ASSERT(testing::planDifference(fast->stabilized, slow) == "");
  const ChangeSet general = diff(active, slow);
  RC_ASSERT(fast->changes.tcOpCount() == general.tcOpCount());
  RC_ASSERT(fast->changes.upserts == general.upserts);
  RC_ASSERT(fast->changes.removals == general.removals);
  RC_ASSERT(fast->changes.counts == general.counts);
}

}  // namespace
}  // namespace sluice::bakery
