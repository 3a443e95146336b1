// treeguard::Controller: enrolment from real inputs and plans, the overlay it lays (planned
// again through the real planner), the budget, persistence and replay, failed applies.

#include <gtest/gtest.h>

#include "model/Overlay.h"
#include "planner/Pipeline.h"
#include "treeguard/Controller.h"

namespace sluice::treeguard {
namespace {

const std::string kDir = SLUICE_TEST_DATA_DIR "/treeguard/inputs/";

plan::PipelineResult pipeline(const model::Overlay& overlay = {}) {
  plan::PipelineOptions o;
  o.paths = {kDir + "lqos.conf", kDir + "network.json", kDir + "ShapedDevices.csv", ""};
  o.txQueues = 1;
  o.cpus = 1;
  o.beforePlan = [&](model::Inputs& in) { model::applyOverlay(overlay, in); };
  auto r = plan::runPipeline(o);
  EXPECT_TRUE(r.ok());
  return r;
}

/// The leaf kind the plan gives circuit `id` in one direction.
std::optional<plan::LeafKind> leafOf(const plan::QueuePlan& p, const std::string& id, bool down) {
  for (size_t c = 0; c < p.circuits.size(); ++c) {
    if (p.circuits[c].circuitId != id) {
      continue;
    }
    for (const auto& iface : p.interfaces) {
      for (const auto& q : iface.queues) {
        if ((q.direction == plan::Direction::Download) != down) {
          continue;
        }
        for (const auto& cls : q.classes) {
          if (cls.role == plan::ClassRole::Circuit && cls.modelIndex == static_cast<int32_t>(c)) {
            return cls.leaf ? std::optional(cls.leaf->kind) : std::nullopt;
          }
        }
      }
    }
  }
  return std::nullopt;
}

Settings fastSettings() {
  Settings s;
  s.circuits.idleMinMinutes = 1;
  s.circuits.minSwitchDwellMinutes = 0;
  s.links.enabled = true;
  s.links.idleMinMinutes = 1;
  s.links.minStateDwellMinutes = 0;
  return s;
}

/// Ticks once a second from `from` to `to` (inclusive) with no traffic at `cpu` %; the last
/// tick's decisions.
Decisions idle(Controller& c, double from, double to, double cpu) {
  Decisions d;
  for (double t = from; t <= to; t += 1) {
    d = c.tick(Signals{{}, {}, cpu}, t);
  }
  return d;
}

Controller enrolled(Settings s = fastSettings(), size_t budget = kMaxCircuitChangesPerTick) {
  Controller c(s, budget);
  const auto run = pipeline();
  c.setInputs(run.inputs, *run.plan, {}, 0);
  return c;
}

TEST(TreeguardController, EnrolsCakeDirectionsOnlyAndSkipsSharedDevices) {
  Controller c = enrolled();
  const auto status = c.statusJson(0);
  // c1, c2, c3, fast; s1 and s2 share Device ID "dup".
  EXPECT_EQ(status["circuits"]["enrolled"], 4);
  std::map<std::string, nlohmann::json> byId;
  for (const auto& e : status["circuits"]["list"]) {
    byId[e["id"]] = e;
  }
  EXPECT_FALSE(byId.contains("s1"));
  EXPECT_EQ(byId["c1"]["down"]["base"], "cake");
  EXPECT_EQ(byId["c3"]["down"]["base"], "fq_codel");  // the operator's sqm cell
  EXPECT_EQ(byId["c3"]["up"]["base"], "cake");
  EXPECT_EQ(byId["fast"]["down"]["base"], "fq_codel");  // fast_queues_fq_codel = 500
  EXPECT_EQ(byId["fast"]["up"]["base"], "cake");
  // Nodes: Cabinet is virtual in network.json.
  for (const auto& n : status["nodes"]["list"]) {
    EXPECT_EQ(n["managed"], n["name"] != "Cabinet") << n.dump();
  }
}

TEST(TreeguardController, IdleCircuitsGoToFqCodelInTheOverlayAndThePlan) {
  Controller c = enrolled();
  EXPECT_TRUE(idle(c, 0, 59, 90).circuits.empty());  // idle for 59 s < idle_min_minutes
  Decisions d = idle(c, 60, 60, 90);
  // c1 both, c2 both, c3 up, fast up.
  EXPECT_EQ(d.circuits.size(), 6u);
  model::Overlay overlay;
  c.layOver(d, overlay);
  ASSERT_TRUE(overlay.circuitSqm.contains("c1"));
  EXPECT_EQ(overlay.circuitSqm["c1"].down, model::SqmKind::FqCodel);
  EXPECT_EQ(overlay.circuitSqm["c3"].down, model::SqmKind::Default);  // the operator's
  EXPECT_EQ(overlay.circuitSqm["c3"].up, model::SqmKind::FqCodel);
  const auto run = pipeline(overlay);
  EXPECT_EQ(leafOf(*run.plan, "c1", true), plan::LeafKind::FqCodel);
  EXPECT_EQ(leafOf(*run.plan, "c1", false), plan::LeafKind::FqCodel);
  EXPECT_EQ(leafOf(*pipeline().plan, "c1", true), plan::LeafKind::Cake);
  c.reportApplied(d, true, "applied", 60, 60'000);
  EXPECT_EQ(c.counts().fqCodelDirections, 6u);

  // Re-enrolment from the overlaid inputs keeps the state: c1's fq_codel is TreeGuard's, not
  // an operator override.
  c.setInputs(run.inputs, *run.plan, {}, 61);
  EXPECT_EQ(c.counts().fqCodelDirections, 6u);

  // Traffic on c1 down (5 Mbit/s of 10 = 50 %): back to CAKE, the entry becomes Default.
  Signals busy{{{"c1", CircuitSignal{{5, 0}, {}}}}, {}, 90};
  Decisions back = c.tick(busy, 62);
  ASSERT_EQ(back.circuits.size(), 1u);
  EXPECT_EQ(back.circuits[0].to, Sqm::Cake);
  c.layOver(back, overlay);
  EXPECT_EQ(overlay.circuitSqm["c1"].down, model::SqmKind::Default);
  EXPECT_EQ(overlay.circuitSqm["c1"].up, model::SqmKind::FqCodel);
}

TEST(TreeguardController, TheBudgetDefersTheRest) {
  Controller c = enrolled(fastSettings(), 4);
  Decisions d = idle(c, 0, 60, 90);
  EXPECT_EQ(d.circuits.size(), 4u);
  EXPECT_EQ(d.deferred, 2u);
  c.reportApplied(d, true, "applied", 60, 0);
  Decisions next = c.tick(Signals{{}, {}, 90}, 61);
  EXPECT_EQ(next.circuits.size(), 2u);  // the deferred ones, on the next tick
  EXPECT_EQ(next.deferred, 0u);
}

TEST(TreeguardController, AFailedApplyChangesNothingAndIsRetried) {
  Controller c = enrolled();
  Decisions d = idle(c, 0, 60, 90);
  c.reportApplied(d, false, "failed: 500 the bakery refused", 60, 0);
  EXPECT_EQ(c.counts().fqCodelDirections, 0u);
  EXPECT_EQ(c.activity().back().outcome, "failed: 500 the bakery refused");
  EXPECT_EQ(c.tick(Signals{{}, {}, 90}, 61).circuits.size(), d.circuits.size());
}

TEST(TreeguardController, VirtualisesIdleNodesInTheOverlayAndThePlan) {
  Controller c = enrolled();
  Decisions d = idle(c, 0, 60, 90);
  ASSERT_FALSE(d.nodes.empty());
  model::Overlay overlay;
  c.layOver(d, overlay);
  EXPECT_TRUE(overlay.virtualNodes.contains("AP_1"));
  EXPECT_FALSE(overlay.virtualNodes.contains("Cabinet"));
  const auto run = pipeline(overlay);
  bool found = false;
  for (const auto& n : run.plan->nodes) {
    if (n.name == "AP_1") {
      found = true;
      EXPECT_TRUE(n.isVirtual);
    }
  }
  EXPECT_TRUE(found);
}

TEST(TreeguardController, PersistedStateReplaysAfterARestart) {
  Controller c = enrolled();
  Decisions d = idle(c, 0, 60, 90);
  c.reportApplied(d, true, "applied", 60, 0);
  const nlohmann::json saved = c.saveJson();
  EXPECT_EQ(saved["circuits"]["c1"], "fq_codel/fq_codel");
  EXPECT_EQ(saved["circuits"]["c3"], "cake/fq_codel");

  Controller restarted = enrolled();
  size_t skipped = 99;
  auto replay = restarted.restoreFrom(saved, &skipped);
  ASSERT_TRUE(replay) << replay.error().message();
  EXPECT_TRUE(replay->restore);
  EXPECT_EQ(replay->circuits.size(), 6u);
  EXPECT_EQ(replay->nodes.size(), d.nodes.size());
  EXPECT_EQ(skipped, 0u);
  restarted.reportApplied(*replay, true, "applied", 0, 0);
  EXPECT_EQ(restarted.saveJson(), saved);
  // A replay is not a change: no dwell, nothing toward the hourly limit.
  EXPECT_EQ(restarted.statusJson(0)["circuits"]["list"][0]["down"]["changes_last_hour"], 0);

  // Entries that no longer fit are skipped; malformed state is an error naming the entry.
  nlohmann::json gone = saved;
  gone["circuits"]["nope"] = "fq_codel";
  EXPECT_TRUE(enrolled().restoreFrom(gone, &skipped));
  EXPECT_EQ(skipped, 2u);
  gone["circuits"]["c1"] = "turbo";
  auto bad = enrolled().restoreFrom(gone);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("\"c1\""), std::string::npos);

  Settings noPersist = fastSettings();
  noPersist.circuits.persistSqmOverrides = false;
  Controller np = enrolled(noPersist);
  np.reportApplied(idle(np, 0, 60, 90), true, "applied", 60, 0);
  EXPECT_TRUE(np.saveJson()["circuits"].empty());
}

TEST(TreeguardController, DisabledDecidesNothing) {
  Settings s = fastSettings();
  s.enabled = false;
  Controller c = enrolled(s);
  EXPECT_TRUE(idle(c, 0, 120, 99).empty());
}

TEST(TreeguardController, SqmTokens) {
  EXPECT_EQ(sqmToken(Sqm::FqCodel, Sqm::Cake), "fq_codel/cake");
  EXPECT_EQ(parseSqmToken("fq_codel"), (std::array<Sqm, 2>{Sqm::FqCodel, Sqm::FqCodel}));
  EXPECT_EQ(parseSqmToken("cake/fq_codel"), (std::array<Sqm, 2>{Sqm::Cake, Sqm::FqCodel}));
  EXPECT_FALSE(parseSqmToken("cake/"));
  EXPECT_FALSE(parseSqmToken("none"));
}

}  // namespace
}  // namespace sluice::treeguard
