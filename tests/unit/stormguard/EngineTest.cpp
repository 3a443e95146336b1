// The StormGuard engine over a watched set: target selection, persisted adjustments (save, load,
// replay) and the structural rules that discard an adjustment.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "common/Diagnostics.h"
#include "model/NetworkJson.h"
#include "stormguard/Engine.h"

namespace sluice::stormguard {
namespace {

// Core -> {Tower1 -> {AP_A, AP_B}, Tower2 (no children), Virt (virtual, no children)}.
constexpr const char* kNetwork = R"({
  "Core": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 100, "children": {
    "Tower1": {"downloadBandwidthMbps": 50, "uploadBandwidthMbps": 50, "children": {
      "AP_A": {"downloadBandwidthMbps": 20, "uploadBandwidthMbps": 10},
      "AP_B": {"downloadBandwidthMbps": 30, "uploadBandwidthMbps": 15}}},
    "Tower2": {"downloadBandwidthMbps": 40, "uploadBandwidthMbps": 40},
    "Virt": {"downloadBandwidthMbps": 40, "uploadBandwidthMbps": 40, "virtual": true}}}})";

model::Network network(const std::string& text = kNetwork) {
  Diagnostics diags;
  model::Network n = model::parseNetworkJson(text, "network.json", diags);
  EXPECT_FALSE(diags.hasErrors());
  return n;
}

/// A plan with one placement per node at the network's rates (what the planner does for these).
plan::QueuePlan planOf(const model::Network& net) {
  plan::QueuePlan p;
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    plan::NodePlacement np;
    np.name = net.nodes[i].name;
    np.modelIndex = static_cast<int32_t>(i);
    np.isVirtual = net.nodes[i].isVirtual;
    np.downloadMaxMbps = net.nodes[i].downloadMbps;
    np.uploadMaxMbps = net.nodes[i].uploadMbps;
    p.nodes.push_back(np);
  }
  plan::NodePlacement gen;
  gen.name = "Generated_PN_1";
  gen.generated = true;
  gen.downloadMaxMbps = gen.uploadMaxMbps = 100;
  p.nodes.push_back(gen);
  return p;
}

Settings enabled() {
  Settings s;
  s.enabled = true;
  s.dryRun = false;
  s.minimumDownloadShare = s.minimumUploadShare = 0.2;
  return s;
}

std::vector<std::string> names(const Selection& s) {
  std::vector<std::string> out;
  for (const auto& n : s.nodes) {
    out.push_back(n.name);
  }
  return out;
}

TEST(StormGuardTargets, AllSitesTakesLeafNodesWithAClassMinusExcluded) {
  Settings s = enabled();
  s.allSites = true;
  const auto net = network();
  EXPECT_EQ(names(selectTargets(s, net, planOf(net))),
            (std::vector<std::string>{"AP_A", "AP_B", "Tower2"}));
  s.excludeSites = {"AP_B"};
  EXPECT_EQ(names(selectTargets(s, net, planOf(net))),
            (std::vector<std::string>{"AP_A", "Tower2"}));
}

TEST(StormGuardTargets, TargetsInNetworkOrderWithMissingOnesReported) {
  Settings s = enabled();
  s.targets = {"Tower2", "Tower1", "Nowhere", "Virt"};
  const auto net = network();
  const Selection sel = selectTargets(s, net, planOf(net));
  EXPECT_EQ(names(sel), (std::vector<std::string>{"Tower1", "Tower2"}));
  ASSERT_EQ(sel.missing.size(), 2u);
  EXPECT_NE(sel.missing[0].find("Virt: virtual"), std::string::npos);
  EXPECT_NE(sel.missing[1].find("Nowhere: no such node"), std::string::npos);
  EXPECT_DOUBLE_EQ(sel.nodes[0].plannedDownMbps, 50);
}

TEST(StormGuardTargets, DisabledWatchesNothing) {
  Settings s = enabled();
  s.enabled = false;
  s.allSites = true;
  const auto net = network();
  EXPECT_TRUE(selectTargets(s, net, planOf(net)).nodes.empty());
}

/// Drives AP_A's download down with severe bloat under load: one DecreaseFast applied.
void bloat(Engine& e, double now) {
  std::map<std::string, NodeSignals> sig;
  sig["AP_A"] = {20, 1, 10.0, 0};
  e.reportApplied(e.tick(sig, now, now), true, now);  // seeds the baseline at 10 ms
  sig["AP_A"] = {8, 1, 200.0, 0};                     // the backhaul carries 8 Mbit/s
  const auto d = e.tick(sig, now + 1, now + 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].decision.action, Action::DecreaseFast);
  EXPECT_EQ(e.overrides(d).at("AP_A"), (model::NodeRateOverride{7, 0}));  // round(8 x 0.88)
  e.reportApplied(d, true, now + 1);
}

TEST(StormGuardEngine, DecisionsBecomeOverridesAndAdjustments) {
  Settings s = enabled();
  s.targets = {"AP_A"};
  const auto net = network();
  Engine e(s);
  EXPECT_TRUE(e.setWatched(selectTargets(s, net, planOf(net))).empty());
  EXPECT_TRUE(e.overrides().empty());
  bloat(e, 0);
  ASSERT_EQ(e.adjustments().size(), 1u);
  const Adjustment a = e.adjustments()[0];
  EXPECT_EQ(a.node, "AP_A");
  EXPECT_EQ(a.downMbps, 7);
  EXPECT_FALSE(a.upMbps);
  EXPECT_EQ(a.plannedDownMbps, 20);
  EXPECT_EQ(e.overrides().at("AP_A"), (model::NodeRateOverride{7, 0}));
  const auto st = e.status(true);
  EXPECT_EQ(st["nodes"][0]["download"]["current_mbps"], 7);
  EXPECT_EQ(st["nodes"][0]["download"]["last"]["action"], "decrease_fast");
  EXPECT_EQ(st["nodes"][0]["history"].size(), 2u);
  EXPECT_NE(e.prometheus().find("sluice_stormguard_rate_mbps{node=\"AP_A\",direction=\"down\"} 7"),
            std::string::npos);
}

TEST(StormGuardEngine, AFailedApplyChangesNothing) {
  Settings s = enabled();
  s.targets = {"AP_A"};
  const auto net = network();
  Engine e(s);
  e.setWatched(selectTargets(s, net, planOf(net)));
  std::map<std::string, NodeSignals> sig{{"AP_A", {20, 1, 10.0, 0}}};
  e.tick(sig, 0, 0);
  sig["AP_A"] = {8, 1, 200.0, 0};
  const auto d = e.tick(sig, 1, 1);
  ASSERT_EQ(d.size(), 1u);
  e.reportApplied(d, false, 1);
  EXPECT_TRUE(e.adjustments().empty());
  EXPECT_EQ(e.tick(sig, 2, 2).size(), 1u);  // decided again, no cooldown started
}

TEST(StormGuardPersistence, SaveLoadReplayRestoresTheRates) {
  Settings s = enabled();
  s.targets = {"AP_A", "AP_B"};
  const auto net = network();
  Engine e(s);
  e.setWatched(selectTargets(s, net, planOf(net)));
  bloat(e, 0);
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("sg-test-" + std::to_string(getpid()))).string();
  const std::string path = dir + "/stormguard/adjustments.json";
  ASSERT_TRUE(saveAdjustments(path, e.adjustments()));
  auto loaded = loadAdjustments(path);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, e.adjustments());

  // A restart: a fresh engine over the same plan replays the adjustment.
  Engine restarted(s);
  restarted.setWatched(selectTargets(s, net, planOf(net)));
  EXPECT_TRUE(restarted.replay(*loaded).empty());
  EXPECT_EQ(restarted.overrides().at("AP_A"), (model::NodeRateOverride{7, 0}));

  // A restart after the operator re-planned AP_A: discarded.
  auto replanned = network();
  replanned.nodes[static_cast<size_t>(replanned.find("AP_A"))].downloadMbps = 25;
  Engine other(s);
  other.setWatched(selectTargets(s, replanned, planOf(replanned)));
  const auto discarded = other.replay(*loaded);
  ASSERT_EQ(discarded.size(), 1u);
  EXPECT_NE(discarded[0].find("AP_A: planned 20/10"), std::string::npos) << discarded[0];
  EXPECT_TRUE(other.overrides().empty());
  std::filesystem::remove_all(dir);
}

TEST(StormGuardPersistence, MissingFileIsEmptyAndBadFilesNameTheProblem) {
  auto none = loadAdjustments("/nonexistent/sg/adjustments.json");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto bad = parseAdjustments(R"({"version": 1, "adjustments": [{"node": "A",
      "download_mbps": -3, "planned_download_mbps": 1, "planned_upload_mbps": 1,
      "operator_download_mbps": 1, "operator_upload_mbps": 1}]})",
                              "adj.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("adj.json: adjustments[0]"), std::string::npos);
  EXPECT_FALSE(parseAdjustments("[]", "adj.json"));
}

TEST(StormGuardRebuild, AReloadWithTheSamePlanKeepsTheAdjustment) {
  Settings s = enabled();
  s.targets = {"AP_A"};
  const auto net = network();
  Engine e(s);
  e.setWatched(selectTargets(s, net, planOf(net)));
  bloat(e, 0);
  // The plan in force carries the adjustment (7); network.json still says 20.
  auto overlaid = network();
  overlaid.nodes[static_cast<size_t>(overlaid.find("AP_A"))].downloadMbps = 7;
  Selection sel = selectTargets(s, overlaid, planOf(overlaid));
  setOperatorRates(sel, net);
  EXPECT_TRUE(e.setWatched(sel).empty());
  EXPECT_EQ(e.overrides().at("AP_A"), (model::NodeRateOverride{7, 0}));
  EXPECT_EQ(e.status(false)["nodes"][0]["download"]["planned_mbps"], 20);
}

TEST(StormGuardRebuild, OperatorChangeOrRemovalDiscardsTheAdjustment) {
  Settings s = enabled();
  s.targets = {"AP_A"};
  const auto net = network();
  Engine e(s);
  e.setWatched(selectTargets(s, net, planOf(net)));
  bloat(e, 0);
  auto replanned = network();
  replanned.nodes[static_cast<size_t>(replanned.find("AP_A"))].downloadMbps = 25;
  auto overlaid = replanned;
  overlaid.nodes[static_cast<size_t>(overlaid.find("AP_A"))].downloadMbps = 7;
  Selection sel = selectTargets(s, overlaid, planOf(overlaid));
  setOperatorRates(sel, replanned);
  const auto discarded = e.setWatched(sel);
  ASSERT_EQ(discarded.size(), 1u);
  EXPECT_NE(discarded[0].find("network.json rates changed"), std::string::npos);
  EXPECT_TRUE(e.overrides().empty());
  EXPECT_EQ(e.status(false)["nodes"][0]["download"]["planned_mbps"], 25);

  bloat(e, 100);
  const auto gone = network(R"({"Core": {"downloadBandwidthMbps": 100,
      "uploadBandwidthMbps": 100}})");
  const auto removed = e.setWatched(selectTargets(s, gone, planOf(gone)));
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_NE(removed[0].find("AP_A: no longer watched"), std::string::npos);
  EXPECT_TRUE(e.adjustments().empty());
}

TEST(StormGuardRebuild, APlanChangeAtThePlanRestartsTheController) {
  Settings s = enabled();
  s.targets = {"AP_B"};
  const auto net = network();
  Engine e(s);
  e.setWatched(selectTargets(s, net, planOf(net)));
  auto replanned = network();
  replanned.nodes[static_cast<size_t>(replanned.find("AP_B"))].downloadMbps = 40;
  EXPECT_TRUE(e.setWatched(selectTargets(s, replanned, planOf(replanned))).empty());
  EXPECT_EQ(e.status(false)["nodes"][0]["download"]["planned_mbps"], 40);
  EXPECT_EQ(e.status(false)["nodes"][0]["download"]["current_mbps"], 40);
}

}  // namespace
}  // namespace sluice::stormguard
