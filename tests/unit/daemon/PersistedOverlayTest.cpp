// PersistedOverlay::load (daemon/PersistedOverlay.h) on real inputs and plans (the planner, no
// kernel): what each module puts in the shaper's first plan at start, checked with the rules of
// its replay against the start's own inputs and plan.
//   - StormGuard: an adjustment made under the plan in force is replayed; one made under another
//     plan is discarded (and said so); an unreadable state file replays nothing and is reported;
//     a dry run replays nothing.
//   - RADIUS: a saved session whose TTL ran out while sluiced was down is dropped; a live one is
//     mapped to its dynamic circuit (parent rule, the session's rates).
//   - TreeGuard: the state file's fq_codel circuit and virtual node, for what still enrols; an
//     entry that no longer fits is left out.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "daemon/PersistedOverlay.h"
#include "planner/Pipeline.h"
#include "radius/SessionStore.h"

namespace sluice::daemon {
namespace {

namespace fs = std::filesystem;

class PersistedOverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-persisted-overlay-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
    write("network.json",
          R"({"Site": {"downloadBandwidthMbps": 20, "uploadBandwidthMbps": 20},
              "Other": {"downloadBandwidthMbps": 50, "uploadBandwidthMbps": 50}})");
    write("ShapedDevices.csv",
          "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,"
          "Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment\n"
          "c1,c1,d1,d1,Site,,100.64.1.10,,1,1,20,20,\n"
          "c2,c2,d2,d2,Other,,100.64.2.10,,1,1,40,40,\n");
    write("secret", "s3cret\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }

  /// lqos.conf with `sections` appended.
  void config(const std::string& sections) {
    write("lqos.conf", "version = \"1.5\"\nlqos_directory = \"" + dir_.string() +
                           "\"\n[bridge]\nuse_xdp_bridge = false\nto_internet = \"pov-a\"\n"
                           "to_network = \"pov-b\"\n[queues]\ndefault_sqm = \"cake diffserv4\"\n"
                           "uplink_bandwidth_mbps = 1000\ndownlink_bandwidth_mbps = 1000\n"
                           "[ip_ranges]\nallow_subnets = [\"100.64.0.0/10\"]\n[sluice]\n"
                           "network_json = \"network.json\"\n"
                           "shaped_devices_csv = \"ShapedDevices.csv\"\n" +
                           sections);
  }

  /// Loads and plans the inputs as Shaper::start() does, then runs PersistedOverlay::load.
  model::Overlay load(PersistedOverlay& persisted) {
    plan::PipelineOptions opts;
    opts.paths = model::InputPaths{(dir_ / "lqos.conf").string(), {}, {}};
    opts.txQueues = 2;
    opts.cpus = 2;
    const auto run = plan::runPipeline(opts);
    EXPECT_TRUE(run.ok()) << (run.inputs.diagnostics.errors().empty()
                                  ? std::string("no plan")
                                  : run.inputs.diagnostics.errors().front().toString());
    model::Overlay overlay;
    if (run.ok()) {
      persisted.load(Shaper::StartContext{run.inputs, *run.plan, (dir_ / "state").string()},
                     overlay);
    }
    return overlay;
  }

  fs::path dir_;
};

constexpr const char* kStormGuard =
    "[stormguard]\nenabled = true\ndry_run = false\ntargets = [\"Site\", \"Other\"]\n";

TEST_F(PersistedOverlayTest, StormGuardReplaysOnlyAdjustmentsMadeUnderThePlanInForce) {
  config(kStormGuard);
  write("state/stormguard/adjustments.json", R"({"version": 1, "adjustments": [
    {"node": "Site", "download_mbps": 12, "upload_mbps": null, "planned_download_mbps": 20,
     "planned_upload_mbps": 20, "operator_download_mbps": 20, "operator_upload_mbps": 20},
    {"node": "Other", "download_mbps": 30, "upload_mbps": null, "planned_download_mbps": 40,
     "planned_upload_mbps": 50, "operator_download_mbps": 40, "operator_upload_mbps": 50}]})");
  PersistedOverlay persisted(dir_ / "lqos.conf");
  const model::Overlay overlay = load(persisted);
  ASSERT_EQ(overlay.nodeRates.size(), 1u);
  EXPECT_EQ(overlay.nodeRates.at("Site"), (model::NodeRateOverride{12, 0}));
  EXPECT_TRUE(overlay.circuits.empty());
  EXPECT_TRUE(overlay.circuitSqm.empty());
  auto restored = persisted.takeStormGuard();
  EXPECT_TRUE(restored.read);
  ASSERT_TRUE(restored.engine);
  ASSERT_EQ(restored.discarded.size(), 1u);
  EXPECT_TRUE(restored.discarded[0].starts_with("Other: planned 40/50")) << restored.discarded[0];
  EXPECT_EQ(restored.error, "");
}

TEST_F(PersistedOverlayTest, StormGuardWithAnUnreadableStateFileOrInADryRunReplaysNothing) {
  config(kStormGuard);
  write("state/stormguard/adjustments.json", "{not json");
  PersistedOverlay persisted(dir_ / "lqos.conf");
  EXPECT_TRUE(load(persisted).empty());
  auto restored = persisted.takeStormGuard();
  EXPECT_TRUE(restored.read);
  EXPECT_NE(restored.error.find("adjustments.json"), std::string::npos) << restored.error;

  config("[stormguard]\nenabled = true\ndry_run = true\ntargets = [\"Site\"]\n");
  write("state/stormguard/adjustments.json", R"({"version": 1, "adjustments": [
    {"node": "Site", "download_mbps": 12, "upload_mbps": null, "planned_download_mbps": 20,
     "planned_upload_mbps": 20, "operator_download_mbps": 20, "operator_upload_mbps": 20}]})");
  PersistedOverlay dry(dir_ / "lqos.conf");
  EXPECT_TRUE(load(dry).empty());
  EXPECT_FALSE(dry.takeStormGuard().read);
}

TEST_F(PersistedOverlayTest, RadiusDropsExpiredSessionsAndMapsTheOthers) {
  config(
      "[radius]\nenabled = true\nlisten = \"127.0.0.1\"\n"
      "parents = [{ range = \"100.127.0.0/16\", node = \"Site\" }]\n"
      "[[radius.clients]]\nname = \"bng\"\nsource = \"127.0.0.1\"\nsecret_file = \"" +
      (dir_ / "secret").string() + "\"\n");
  using namespace std::chrono;
  const radius::ClockPair now{
      duration_cast<seconds>(steady_clock::now().time_since_epoch()).count(),
      duration_cast<seconds>(system_clock::now().time_since_epoch()).count()};
  auto session = [&](const std::string& id, const std::string& address, int64_t idleSec) {
    radius::Session s;
    s.nas = "bng";
    s.acctSessionId = id;
    s.circuitId = "radius:bng:" + id;
    s.userName = id;
    s.addresses.push_back(*IpNet::parse(address));
    s.rates = radius::Rates{10'000'000, 4'000'000, {}, {}, "MikroTik-Rate-Limit"};
    s.startedSec = now.monoSec - idleSec - 10;
    s.lastUpdateSec = now.monoSec - idleSec;
    return s;
  };
  // The default TTL is 900 s: "gone" had no accounting for 1,000 s.
  ASSERT_TRUE(radius::saveSessions(
      (dir_ / "state/radius/sessions.json").string(),
      {session("live", "100.127.0.5", 30), session("gone", "100.127.0.6", 1000)}, now));
  PersistedOverlay persisted(dir_ / "lqos.conf");
  const model::Overlay overlay = load(persisted);
  ASSERT_EQ(overlay.circuits.size(), 1u);
  const model::Circuit& c = overlay.circuits.at("radius:bng:live");
  EXPECT_EQ(c.parentNode, "Site");
  EXPECT_EQ(c.downloadMaxMbps, 10);
  EXPECT_EQ(c.uploadMaxMbps, 4);
  EXPECT_TRUE(RadiusService::owns(c));
  auto restored = persisted.takeRadius();
  EXPECT_TRUE(restored.read);
  EXPECT_EQ(restored.expired, 1u);
  ASSERT_EQ(restored.sessions.size(), 1u);
  EXPECT_EQ(restored.sessions[0].acctSessionId, "live");
  EXPECT_TRUE(overlay.nodeRates.empty());
}

TEST_F(PersistedOverlayTest, TreeGuardRestoresWhatStillEnrols) {
  config(
      "[treeguard]\nenabled = true\ndry_run = false\n"
      "[treeguard.circuits]\nall_circuits = false\ncircuits = [\"c1\"]\n"
      "[treeguard.links]\nenabled = true\nall_nodes = false\nnodes = [\"Other\"]\n");
  write("state/treeguard/state.json",
        R"({"version": 1, "circuits": {"c1": "fq_codel/fq_codel", "gone": "fq_codel/cake"},
            "nodes": ["Other", "Nowhere"]})");
  PersistedOverlay persisted(dir_ / "lqos.conf");
  const model::Overlay overlay = load(persisted);
  ASSERT_EQ(overlay.circuitSqm.count("c1"), 1u);
  EXPECT_EQ(overlay.circuitSqm.at("c1").down, model::SqmKind::FqCodel);
  EXPECT_EQ(overlay.circuitSqm.at("c1").up, model::SqmKind::FqCodel);
  EXPECT_EQ(overlay.circuitSqm.size(), 1u);
  EXPECT_EQ(overlay.virtualNodes, std::set<std::string>{"Other"});
  auto restored = persisted.takeTreeGuard();
  EXPECT_TRUE(restored.read);
  ASSERT_TRUE(restored.controller);
  EXPECT_EQ(restored.decisions.circuits.size(), 2u);  // both directions of c1
  EXPECT_EQ(restored.decisions.nodes.size(), 1u);
  EXPECT_TRUE(restored.decisions.restore);
}

}  // namespace
}  // namespace sluice::daemon
