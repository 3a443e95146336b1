// TreeGuardService on a real Shaper on this kernel (root; the test process moves into a network
// namespace of its own, its files in a directory named after the pid): HTB with pfifo leaves,
// since this kernel has neither CAKE nor fq_codel. What it checks:
//   - node virtualisation ([treeguard.links]) is live: the idle node's classes go, its circuits'
//     classes stay and hang under the node's parent, through one overlay change; traffic restores
//     the node's classes;
//   - the state file and its replay after a restart of the shaper and the service, in the
//     shaper's first plan (TreeGuardService::restore through Shaper::setStartOverlay, as sluiced
//     wires it): the node is virtual right after start and the first tick applies nothing;
//   - a CAKE <-> fq_codel switch with both kinds falling back to pfifo ([sluice] leaf_fallback)
//     is decided and recorded but changes nothing in the kernel (0 tc ops).
// The signals come from the test (empty telemetry = idle) and the CPU from a test file, as
// SLUICE_TREEGUARD_TEST_CPU_FILE gives sluiced.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "daemon/Shaper.h"
#include "daemon/TreeGuardService.h"
#include "support/PrivateShaper.h"

namespace sluice::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kAp = "Riverbend Water Tower AP1-N";
const std::string kParent = "Riverbend Water Tower";

using test::classLine;
using test::findNode;
using test::sh;

class TreeGuardShaper : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = lab_.enter(
        "treeguard",
        "\n[treeguard]\nenabled = true\ntick_seconds = 1\n"
        "[treeguard.circuits]\nall_circuits = false\ncircuits = [\"1001\"]\n"
        "idle_min_minutes = 0\nmin_switch_dwell_minutes = 0\n"
        "[treeguard.links]\nenabled = true\nall_nodes = false\nnodes = [\"" +
            kAp + "\"]\nidle_min_minutes = 0\nmin_state_dwell_minutes = 0\n",
        2);
    if (!skip_.empty()) {
      return;
    }
    work_ = lab_.work();
    std::ofstream(work_ / "cpu") << "90\n";
    startShaper();
  }

  /// `restore`: TreeGuard's state file goes into the first plan, as sluiced wires it
  /// (daemon/PersistedOverlay.h); what it prepared is left in restored_.
  static void startShaper(bool restore = false) {
    DaemonOptions options;
    options.configPath = lab_.config();
    options.pinDir = lab_.pins();
    options.driftInterval = std::chrono::seconds(0);
    options.keepOnExit = true;  // a restart adopts the tree, as after a daemon restart
    shaper_ = new Shaper(options);
    if (restore) {
      shaper_->setStartOverlay([](const Shaper::StartContext& c, model::Overlay& o) {
        restored_ = TreeGuardService::restore(c.inputs, c.plan, c.stateDirectory, o);
      });
    }
    auto started = shaper_->start();
    ASSERT_TRUE(started) << started.error().message();
  }

  static void stopShaper() {
    if (shaper_ != nullptr) {
      shaper_->stop();
      delete shaper_;
      shaper_ = nullptr;
    }
  }

  static void TearDownTestSuite() {
    stopShaper();
    lab_.leave();
  }

  void SetUp() override {
    if (!skip_.empty()) {
      GTEST_SKIP() << skip_;
    }
    ASSERT_NE(shaper_, nullptr);
  }

  /// A service on the running shaper whose telemetry reports `nodeMbps` on kAp (0: idle).
  static std::unique_ptr<TreeGuardService> service(const double* nodeMbps) {
    TreeGuardHost host;
    host.snapshot = [] {
      const Shaper::Snapshot s = shaper_->snapshot();
      return std::tuple{s.inputs, s.plan, s.version};
    };
    host.overlay = [] { return shaper_->overlay(); };
    host.changeOverlay = [](const std::function<void(model::Overlay&)>& edit) {
      return shaper_->changeOverlay(edit, ReloadTrigger::TreeGuard);
    };
    host.circuits = [] { return json{{"circuits", json::array()}}; };
    host.tree = [nodeMbps] {
      json ap = json::object();
      ap["name"] = kAp;
      ap["down_bps"] = *nodeMbps * 1e6;
      ap["up_bps"] = 0;
      json body = json::object();
      body["nodes"] = json::array({ap});
      return body;
    };
    host.stateDirectory = shaper_->stateDirectory();
    host.testCpuFile = (work_ / "cpu").string();
    return std::make_unique<TreeGuardService>(std::move(host));
  }

  static inline std::string skip_;
  static inline fs::path work_;
  static inline test::PrivateShaperLab lab_;
  static inline Shaper* shaper_ = nullptr;
  static inline TreeGuardService::Restored restored_;
};

TEST_F(TreeGuardShaper, AnIdleNodeIsVirtualisedLiveRestoredOnTrafficAndReplayedAfterARestart) {
  const auto before = shaper_->snapshot();
  const auto* ap = findNode(*before.plan, kAp);
  const auto* parent = findNode(*before.plan, kParent);
  ASSERT_NE(ap, nullptr);
  ASSERT_NE(parent, nullptr);
  ASSERT_NE(classLine("shp-subs", ap->downClass), "");
  std::vector<std::string> children;  // the circuits under kAp
  for (const auto& c : before.plan->circuits) {
    if (c.parentPlacement == ap - before.plan->nodes.data()) {
      children.push_back(c.circuitId);
    }
  }
  ASSERT_FALSE(children.empty());

  double mbps = 0;
  auto tg = service(&mbps);
  tg->tickOnce(0, 1000);
  json status = tg->statusJson();
  ASSERT_EQ(status["nodes"]["virtual"], 1) << status.dump(1);
  EXPECT_EQ(status["last_apply"]["status"], 200) << status["last_apply"].dump();
  EXPECT_TRUE(shaper_->overlay().virtualNodes.contains(kAp));
  EXPECT_EQ(classLine("shp-subs", ap->downClass), "") << "the node's class is gone";
  EXPECT_EQ(classLine("shp-inet", ap->upClass), "");
  // A live, incremental apply (no rebuild, no bypass): the children's classes were made under
  // the grandparent before the old ones went (docs/bakery.md, parent move).
  EXPECT_EQ(status["last_apply"]["apply_mode"], "incremental") << status["last_apply"].dump();
  // Its circuits are shaped under the parent now.
  const auto after = shaper_->snapshot();
  const auto* parentAfter = findNode(*after.plan, kParent);
  ASSERT_NE(parentAfter, nullptr);
  for (const std::string& id : children) {
    const plan::CircuitPlacement* c = nullptr;
    for (const auto& p : after.plan->circuits) {
      c = p.circuitId == id ? &p : c;
    }
    ASSERT_NE(c, nullptr) << id;
    const std::string line = classLine("shp-subs", c->downClass);
    EXPECT_NE(line.find("parent " + parentAfter->downClass.toString()), std::string::npos)
        << id << ": " << line;
  }
  // Circuit 1001's CAKE -> fq_codel is decided, but both fall back to pfifo here: nothing to do.
  EXPECT_EQ(status["circuits"]["fq_codel_directions"], 2) << status["circuits"].dump();
  EXPECT_EQ(shaper_->overlay().circuitSqm.count("1001"), 1u);

  // Metrics and /api/urgent say what TreeGuard holds changed.
  const std::string metrics = tg->prometheus();
  EXPECT_NE(metrics.find("sluice_treeguard_nodes_virtual 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("sluice_treeguard_circuit_directions_fq_codel 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("sluice_treeguard_changes_total{kind=\"node\",outcome=\"applied\"} 1"),
            std::string::npos)
      << metrics;
  const json urgent = tg->urgentIssues();
  ASSERT_GE(urgent.size(), 2u) << urgent.dump(1);
  EXPECT_EQ(urgent[0]["kind"], "treeguard") << urgent.dump(1);
  EXPECT_EQ(urgent[1]["kind"], "treeguard-change") << urgent.dump(1);

  // The state file holds both; a restart of shaper and service replays them in the shaper's
  // first plan: the node is virtual right after start, and the service's first tick applies
  // nothing more.
  std::ifstream saved(work_ / "state/treeguard/state.json");
  json file = json::parse(saved, nullptr, false);
  EXPECT_EQ(file["nodes"], json::array({kAp})) << file.dump();
  EXPECT_EQ(file["circuits"]["1001"], "fq_codel/fq_codel") << file.dump();
  tg.reset();
  stopShaper();
  startShaper(true);
  EXPECT_TRUE(shaper_->overlay().virtualNodes.contains(kAp));
  EXPECT_EQ(shaper_->overlay().circuitSqm.count("1001"), 1u);
  EXPECT_EQ(classLine("shp-subs", ap->downClass), "") << "the node's class is back at start";
  const uint64_t startVersion = shaper_->snapshot().version;
  std::ofstream(work_ / "cpu") << "65\n";  // between low and high: no CPU-driven change
  tg = service(&mbps);
  tg->adopt(std::move(restored_));
  tg->tickOnce(0, 2000);
  EXPECT_EQ(shaper_->snapshot().version, startVersion) << "an apply after the start's";
  EXPECT_EQ(shaper_->status().body["last_reload"]["trigger"], "startup");
  EXPECT_TRUE(shaper_->overlay().virtualNodes.contains(kAp)) << tg->statusJson().dump(1);
  EXPECT_EQ(shaper_->overlay().circuitSqm.count("1001"), 1u);
  EXPECT_EQ(classLine("shp-subs", ap->downClass), "");
  status = tg->statusJson();
  EXPECT_EQ(status["nodes"]["virtual"], 1) << status.dump(1);
  EXPECT_EQ(status["circuits"]["fq_codel_directions"], 2) << status["circuits"].dump();

  // Traffic on the node (200 Mbit/s of 200: the EWMA, weight 0.1, reaches 10 % >= 5 % on the
  // first tick): its classes come back.
  mbps = 200;
  tg->tickOnce(1, 3000);
  status = tg->statusJson();
  EXPECT_EQ(status["nodes"]["virtual"], 0) << status.dump(1);
  EXPECT_FALSE(shaper_->overlay().virtualNodes.contains(kAp));
  EXPECT_NE(classLine("shp-subs", ap->downClass), "");
  EXPECT_NE(classLine("shp-inet", ap->upClass), "");
  EXPECT_EQ(status["activity"][0]["change"], "restore") << status["activity"].dump(1);
}

}  // namespace
}  // namespace sluice::daemon
