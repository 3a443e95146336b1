// Pair parity (ha/Parity.h): what compareShapers() reports and what checkPair() passes.

#include <gtest/gtest.h>

#include "ha/Parity.h"

namespace sluice::ha {
namespace {

using Json = nlohmann::json;

Json identity(const std::string& name) {
  return {
      {"version", "0.1.0"},
      {"node_name", name},
      {"role", name == "a" ? "primary" : "backup"},
      {"fail_mode", "open"},
      {"queue_mode", "shape"},
      {"inputs", {{"network_sha256", "n1"}, {"devices_sha256", "d1"}, {"overrides_sha256", ""}}},
      {"plan_sha256", "p1"},
      {"leaf", "cake"},
      {"queues", 8},
      {"interfaces",
       {{{"role", "to_internet"}, {"name", name + "0"}, {"speed_mbps", 10000}, {"tx_queues", 8}},
        {{"role", "to_network"}, {"name", name + "1"}, {"speed_mbps", 10000}, {"tx_queues", 8}}}},
      {"ready", {{"ready", true}, {"reason", "ready"}}},
      {"peak", {{"down_mbps", 4000.0}, {"up_mbps", 900.0}, {"hours", 168}}},
      {"last_failover", nullptr},
      {"last_drill", "2026-12-01T10:00:00Z"}};
}

TEST(Parity, IdenticalShapersDifferInNothingDespiteInterfaceNames) {
  const auto diffs = compareShapers(identity("a"), identity("b"));
  EXPECT_TRUE(diffs.empty()) << differencesJson(diffs).dump();
  EXPECT_TRUE(differencesJson(diffs)["identical"].get<bool>());
}

TEST(Parity, EachDifferenceIsNamedAndClassified) {
  Json b = identity("b");
  b["inputs"]["devices_sha256"] = "d2";
  b["plan_sha256"] = "p2";
  b["version"] = "0.2.0";
  b["leaf"] = "pfifo";
  b["interfaces"][1]["speed_mbps"] = 1000;
  const auto diffs = compareShapers(identity("a"), b);
  std::map<std::string, Difference> by;
  for (const Difference& d : diffs) {
    by[d.what] = d;
  }
  ASSERT_EQ(diffs.size(), 5u) << differencesJson(diffs).dump();
  EXPECT_TRUE(by["inputs.devices_sha256"].shapingDiffers);
  EXPECT_EQ(by["inputs.devices_sha256"].peer, "d2");
  EXPECT_TRUE(by["plan_sha256"].shapingDiffers);
  EXPECT_TRUE(by["leaf"].shapingDiffers);
  EXPECT_FALSE(by["version"].shapingDiffers);
  EXPECT_EQ(by["interface to_network speed_mbps"].local, "10000");
  EXPECT_EQ(by["interface to_network speed_mbps"].peer, "1000");
  EXPECT_TRUE(differencesJson(diffs)["shaping_differs"].get<bool>());
}

TEST(Parity, AMissingFieldIsADifferenceNotAMatch) {
  Json b = identity("b");
  b.erase("plan_sha256");
  b["interfaces"].erase(1);
  const auto diffs = compareShapers(identity("a"), b);
  ASSERT_EQ(diffs.size(), 2u) << differencesJson(diffs).dump();
  EXPECT_EQ(diffs[0].what, "plan_sha256");
  EXPECT_EQ(diffs[0].peer, "missing");
  EXPECT_EQ(diffs[1].what, "interface to_network");
}

PairCheckOptions at(const std::string& iso) {
  PairCheckOptions o;
  o.nowUnix = *parseIsoTime(iso);
  return o;
}

std::map<std::string, PairItem> items(const Json& a, const Json& b, const PairCheckOptions& o) {
  std::map<std::string, PairItem> out;
  for (const PairItem& item : checkPair(a, b, o)) {
    out[item.name] = item;
  }
  return out;
}

TEST(PairCheck, AHealthyPairPasses) {
  const auto result = checkPair(identity("a"), identity("b"), at("2026-12-10T10:00:00Z"));
  EXPECT_TRUE(pairJson(result)["ok"].get<bool>()) << pairJson(result).dump();
  EXPECT_EQ(result.size(), 4u);
}

TEST(PairCheck, EachItemFailsForItsOwnReason) {
  Json b = identity("b");
  b["ready"] = {{"ready", false}, {"reason", "data plane detached"}};
  b["interfaces"][0]["speed_mbps"] = 1000;  // below a's 4000 Mbit/s peak
  b["inputs"]["network_sha256"] = "n2";
  Json a = identity("a");
  a["last_drill"] = "2026-06-01T00:00:00Z";
  b["last_drill"] = nullptr;
  auto r = items(a, b, at("2026-12-10T10:00:00Z"));
  EXPECT_FALSE(r["paths"].ok);
  EXPECT_NE(r["paths"].detail.find("b not ready (data plane detached)"), std::string::npos);
  EXPECT_FALSE(r["capacity"].ok);
  EXPECT_NE(r["capacity"].detail.find("b: 1000 Mbit/s"), std::string::npos) << r["capacity"].detail;
  EXPECT_FALSE(r["inputs"].ok);
  EXPECT_NE(r["inputs"].detail.find("network_sha256"), std::string::npos);
  EXPECT_FALSE(r["drill"].ok);
  EXPECT_NE(r["drill"].detail.find("192."), std::string::npos) << r["drill"].detail;
}

TEST(PairCheck, UnknownSpeedOrPeakOrDrillFails) {
  Json a = identity("a");
  Json b = identity("b");
  a.erase("peak");
  b.erase("peak");
  a["last_drill"] = nullptr;
  b["last_drill"] = nullptr;
  auto r = items(a, b, at("2026-12-10T10:00:00Z"));
  EXPECT_FALSE(r["capacity"].ok);
  EXPECT_FALSE(r["drill"].ok);
  EXPECT_EQ(r["drill"].detail, "no failover drill on record");
  a = identity("a");
  a["interfaces"][0]["speed_mbps"] = nullptr;
  r = items(a, identity("b"), at("2026-12-10T10:00:00Z"));
  EXPECT_FALSE(r["capacity"].ok);
  EXPECT_NE(r["capacity"].detail.find("port speed unknown"), std::string::npos);
}

TEST(PairCheck, IsoTimes) {
  EXPECT_EQ(parseIsoTime("1970-01-02T00:00:00Z"), 86400);
  EXPECT_FALSE(parseIsoTime("2026-12-01"));
  EXPECT_FALSE(parseIsoTime("2026-12-01T10:00:00+01:00"));
}

}  // namespace
}  // namespace sluice::ha
