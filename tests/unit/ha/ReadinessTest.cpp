// The readiness rules (ha/Readiness.h): each rule fails on its own, the verdict names why.

#include <gtest/gtest.h>

#include "ha/Readiness.h"

namespace sluice::ha {
namespace {

using namespace std::chrono_literals;

HealthSnapshot healthy() {
  HealthSnapshot s;
  s.phase = Phase::Running;
  s.shaping = true;
  s.interfaces = {{"eth0", true, true}, {"eth1", true, true}};
  s.pinnedMapsPresent = true;
  s.driftDifferences = 0;
  s.lastApplyOk = true;
  s.now = SystemTime(1'000'000s);
  s.inputsModified = s.now - 60s;
  return s;
}

const Check& check(const Readiness& r, const std::string& name) {
  for (const Check& c : r.checks) {
    if (c.name == name) {
      return c;
    }
  }
  static Check missing{"missing", false, "no such check"};
  return missing;
}

TEST(Readiness, HealthySnapshotIsReady) {
  const Readiness r = evaluateReadiness(healthy(), {});
  EXPECT_TRUE(r.ready) << r.reason();
  EXPECT_EQ(r.reason(), "ready");
  EXPECT_EQ(r.checks.size(), 7u);
  const auto json = r.toJson();
  EXPECT_TRUE(json["ready"].get<bool>());
  EXPECT_EQ(json["checks"].size(), 7u);
}

TEST(Readiness, StartingAndStoppingAreNotReady) {
  for (Phase phase : {Phase::Starting, Phase::Stopping}) {
    HealthSnapshot s = healthy();
    s.phase = phase;
    const Readiness r = evaluateReadiness(s, {});
    EXPECT_FALSE(r.ready);
    EXPECT_FALSE(check(r, "running").ok);
    EXPECT_TRUE(check(r, "dataplane").ok);
  }
}

TEST(Readiness, ObserveModeIsNotReady) {
  HealthSnapshot s = healthy();
  s.shaping = false;
  const Readiness r = evaluateReadiness(s, {});
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.reason().find("observe"), std::string::npos);
}

TEST(Readiness, EveryDetachedProgramIsNamed) {
  HealthSnapshot s = healthy();
  s.interfaces[0].xdpAttached = false;
  s.interfaces[1].tcAttached = false;
  const Readiness r = evaluateReadiness(s, {});
  EXPECT_FALSE(r.ready);
  const std::string detail = check(r, "dataplane").detail;
  EXPECT_NE(detail.find("XDP program not attached on eth0"), std::string::npos) << detail;
  EXPECT_NE(detail.find("tc classifier not attached on eth1"), std::string::npos) << detail;
}

TEST(Readiness, ALinkThatIsDownIsNotReady) {
  HealthSnapshot s = healthy();
  s.interfaces[1].linkUp = false;
  const Readiness r = evaluateReadiness(s, {});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(check(r, "dataplane").detail, "link eth1 is down");
}

TEST(Readiness, MissingPinsNoInterfacesAndBypassFailTheDataPlane) {
  HealthSnapshot pins = healthy();
  pins.pinnedMapsPresent = false;
  EXPECT_FALSE(evaluateReadiness(pins, {}).ready);
  HealthSnapshot none = healthy();
  none.interfaces.clear();
  EXPECT_FALSE(evaluateReadiness(none, {}).ready);
  HealthSnapshot bypass = healthy();
  bypass.bypass = true;
  const Readiness r = evaluateReadiness(bypass, {});
  EXPECT_FALSE(r.ready);
  EXPECT_NE(check(r, "dataplane").detail.find("bypass"), std::string::npos);
}

TEST(Readiness, TreeMustMatchThePlan) {
  HealthSnapshot drift = healthy();
  drift.driftDifferences = 3;
  Readiness r = evaluateReadiness(drift, {});
  EXPECT_FALSE(r.ready);
  EXPECT_NE(check(r, "tree").detail.find("3 place"), std::string::npos);
  HealthSnapshot unchecked = healthy();
  unchecked.driftDifferences.reset();
  EXPECT_FALSE(evaluateReadiness(unchecked, {}).ready);
  HealthSnapshot unreadable = healthy();
  unreadable.driftError = "EPERM";
  r = evaluateReadiness(unreadable, {});
  EXPECT_FALSE(r.ready);
  EXPECT_NE(check(r, "tree").detail.find("EPERM"), std::string::npos);
}

TEST(Readiness, FailedApplyIsNotReady) {
  HealthSnapshot s = healthy();
  s.lastApplyOk = false;
  s.lastApplyError = "class add failed";
  const Readiness r = evaluateReadiness(s, {});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason(), "last apply failed: class add failed");
}

TEST(Readiness, InputAgeOnlyCountsWithALimit) {
  HealthSnapshot s = healthy();
  s.inputsModified = s.now - 7200s;
  EXPECT_TRUE(evaluateReadiness(s, {}).ready);
  ReadinessRules rules;
  rules.maxInputAge = 3600s;
  const Readiness old = evaluateReadiness(s, rules);
  EXPECT_FALSE(old.ready);
  EXPECT_NE(check(old, "inputs").detail.find("7200 s old"), std::string::npos);
  s.inputsModified = s.now - 3600s;  // exactly at the limit: still fresh
  EXPECT_TRUE(evaluateReadiness(s, rules).ready);
  s.inputsModified.reset();
  EXPECT_FALSE(evaluateReadiness(s, rules).ready);
}

TEST(Readiness, UrgentIssuesAreListed) {
  HealthSnapshot s = healthy();
  s.urgent = {"data plane detached", "fail-open engaged"};
  const Readiness r = evaluateReadiness(s, {});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(check(r, "urgent").detail, "data plane detached; fail-open engaged");
}

TEST(Readiness, SeveralFailuresAreJoinedInOrder) {
  HealthSnapshot s = healthy();
  s.phase = Phase::Starting;
  s.lastApplyOk = false;
  const Readiness r = evaluateReadiness(s, {});
  EXPECT_EQ(r.reason(), "sluiced is starting; last apply failed");
}

}  // namespace
}  // namespace sluice::ha
