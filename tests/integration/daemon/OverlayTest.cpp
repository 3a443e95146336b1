// Shaper::changeOverlay on a real kernel (root): the test process moves into a network namespace
// of its own, creates the two shaping veths there and runs a Shaper on the demo ISP with HTB and
// pfifo leaves (this kernel lacks CAKE). Checks what RADIUS, StormGuard and TreeGuard rely on:
// a node rate is one incremental apply of its class and the circuits it caps and returns to the
// plan exactly, a dynamic
// circuit gets classes and address map entries and survives an operator reload, a conflicting
// entry is skipped without touching the kernel and stays in the overlay; entries given before
// start() (Shaper::setStartOverlay, the modules' persisted ones) are in the first plan, a
// loader that fails leaves a shaper started without them, and RADIUS circuits restored into the
// first plan go when its listeners cannot start.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "daemon/PersistedOverlay.h"
#include "daemon/RadiusService.h"
#include "daemon/Shaper.h"
#include "radius/SessionStore.h"
#include "support/PrivateShaper.h"

namespace sluice::daemon {
namespace {

using test::classLine;
using test::findCircuit;
using test::findNode;
using test::sh;

model::Circuit dynamicCircuit(const std::string& id, const std::string& address) {
  model::Circuit c;
  c.id = id;
  c.name = "dynamic " + id;
  c.parentNode = "Riverbend Water Tower AP1-N";
  c.downloadMinMbps = 2;
  c.uploadMinMbps = 1;
  c.downloadMaxMbps = 8;
  c.uploadMaxMbps = 2;
  model::Device d;
  d.id = id + "-1";
  d.ipv4.push_back(*IpNet::parse(address));
  c.devices.push_back(d);
  return c;
}

class OverlayShaper : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = lab_.enter("overlay", "", 4);
    if (!skip_.empty()) {
      return;
    }
    DaemonOptions options;
    options.configPath = lab_.config();
    options.pinDir = lab_.pins();
    options.driftInterval = std::chrono::seconds(0);
    shaper_ = new Shaper(options);
    auto started = shaper_->start();
    ASSERT_TRUE(started) << started.error().message();
  }

  static void TearDownTestSuite() {
    if (shaper_ != nullptr) {
      shaper_->stop();
      delete shaper_;
      shaper_ = nullptr;
    }
    lab_.leave();
  }

  void SetUp() override {
    if (!skip_.empty()) {
      GTEST_SKIP() << skip_;
    }
    ASSERT_NE(shaper_, nullptr);
  }

  static inline std::string skip_;
  static inline test::PrivateShaperLab lab_;
  static inline Shaper* shaper_ = nullptr;
};

TEST_F(OverlayShaper, ANodeRateIsOneIncrementalApplyAndReturnsToThePlanExactly) {
  const std::string ap = "Riverbend Water Tower AP1-N";
  const auto before = shaper_->snapshot();
  const auto* placed = findNode(*before.plan, ap);
  ASSERT_NE(placed, nullptr);
  const std::string planned = classLine("shp-subs", placed->downClass);
  ASSERT_NE(planned, "");

  // The planner caps a circuit's ceil at its parent's and squashes the children's rates into the
  // parent's (as LibreQoS does), so circuits under the access point change with it: one
  // incremental apply of the node's class and some of theirs, nothing else.
  const auto apIndex = static_cast<int32_t>(placed - before.plan->nodes.data());
  size_t capped = 0;
  size_t underAp = 0;
  for (const auto& c : before.plan->circuits) {
    if (c.parentPlacement == apIndex) {
      ++underAp;
      capped += c.downloadMaxMbps > 30 || c.uploadMaxMbps > 7 ? 1 : 0;
    }
  }
  auto answer = shaper_->changeOverlay(
      [&](model::Overlay& o) { o.nodeRates[ap] = {30, 7}; }, ReloadTrigger::StormGuard);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["outcome"], "applied") << answer.body.dump();
  EXPECT_EQ(answer.body["apply_mode"], "incremental") << answer.body.dump();
  const nlohmann::json changes = answer.body["changes"];
  EXPECT_EQ(changes.size(), 2u) << changes.dump();
  EXPECT_EQ(changes.value("node_speed_change", 0), 1) << changes.dump();
  EXPECT_GE(changes.value("speed_change", 0u), capped) << changes.dump();
  EXPECT_LE(changes.value("speed_change", 0u), underAp) << changes.dump();
  EXPECT_EQ(answer.body["map_upserts"], 0) << answer.body.dump();
  EXPECT_NE(classLine("shp-subs", placed->downClass).find("ceil 30Mbit"), std::string::npos)
      << classLine("shp-subs", placed->downClass);
  EXPECT_NE(classLine("shp-inet", placed->upClass).find("ceil 7Mbit"), std::string::npos)
      << classLine("shp-inet", placed->upClass);
  EXPECT_EQ(shaper_->overlay().nodeRates.size(), 1u);

  answer = shaper_->changeOverlay([&](model::Overlay& o) { o.nodeRates.erase(ap); },
                                  ReloadTrigger::StormGuard);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["changes"], changes) << answer.body.dump();
  EXPECT_EQ(classLine("shp-subs", placed->downClass), planned) << "back at the plan exactly";
  EXPECT_TRUE(shaper_->overlay().empty());
}

TEST_F(OverlayShaper, ADynamicCircuitIsShapedMappedAndSurvivesAnOperatorReload) {
  auto answer = shaper_->changeOverlay(
      [&](model::Overlay& o) { o.circuits["r-77"] = dynamicCircuit("r-77", "100.64.77.7"); },
      ReloadTrigger::Radius);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["outcome"], "applied");
  EXPECT_EQ(answer.body["map_upserts"], 1) << answer.body.dump();
  auto snap = shaper_->snapshot();
  const auto* placed = findCircuit(*snap.plan, "r-77");
  ASSERT_NE(placed, nullptr);
  EXPECT_NE(classLine("shp-subs", placed->downClass).find("ceil 8Mbit"), std::string::npos);
  EXPECT_TRUE(snap.inputs->model.shaped.byId.contains("r-77"));

  // An operator reload reads the files again and lays the overlay over them once more.
  auto reloaded = shaper_->reload(ReloadTrigger::Api);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body.dump();
  EXPECT_EQ(reloaded.body["outcome"], "unchanged") << reloaded.body.dump();
  snap = shaper_->snapshot();
  ASSERT_NE(findCircuit(*snap.plan, "r-77"), nullptr);

  answer = shaper_->changeOverlay([&](model::Overlay& o) { o.circuits.erase("r-77"); },
                                  ReloadTrigger::Radius);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["map_removals"], 1) << answer.body.dump();
  snap = shaper_->snapshot();
  EXPECT_EQ(findCircuit(*snap.plan, "r-77"), nullptr);
  EXPECT_EQ(classLine("shp-subs", placed->downClass), "");
}

TEST_F(OverlayShaper, AConflictingCircuitIsSkippedAndTheKernelIsUntouched) {
  const auto before = shaper_->snapshot();
  const std::string down = sh("tc class show dev shp-subs");
  const std::string up = sh("tc class show dev shp-inet");
  // 100.64.1.5 is circuit 1001's address in ShapedDevices.csv: the operator's row wins.
  auto answer = shaper_->changeOverlay(
      [&](model::Overlay& o) { o.circuits["r-dup"] = dynamicCircuit("r-dup", "100.64.1.5"); },
      ReloadTrigger::Radius);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["outcome"], "unchanged") << answer.body.dump();
  ASSERT_EQ(answer.body["skipped"].size(), 1u) << answer.body.dump();
  EXPECT_NE(answer.body["skipped"][0].get<std::string>().find("100.64.1.5"), std::string::npos);
  const auto after = shaper_->snapshot();
  EXPECT_EQ(after.plan->addresses, before.plan->addresses);
  EXPECT_EQ(after.plan->circuits.size(), before.plan->circuits.size());
  EXPECT_EQ(sh("tc class show dev shp-subs"), down);
  EXPECT_EQ(sh("tc class show dev shp-inet"), up);
  EXPECT_EQ(shaper_->overlay().circuits.size(), 1u) << "kept, to apply when the inputs allow it";
  shaper_->changeOverlay([&](model::Overlay& o) { o.circuits.clear(); }, ReloadTrigger::Radius);
}

TEST_F(OverlayShaper, EntriesLoadedBeforeStartAreInTheFirstPlan) {
  const std::string ap = "Riverbend Water Tower AP1-N";
  shaper_->stop();
  delete shaper_;
  DaemonOptions options;
  options.configPath = lab_.config();
  options.pinDir = lab_.pins();
  options.driftInterval = std::chrono::seconds(0);
  shaper_ = new Shaper(options);
  std::string seenStateDir;
  size_t seenCircuits = 0;
  shaper_->setStartOverlay([&](const Shaper::StartContext& c, model::Overlay& o) {
    seenStateDir = c.stateDirectory;
    seenCircuits = c.plan.circuits.size();
    EXPECT_FALSE(c.inputs.model.shaped.byId.contains("r-88")) << "the inputs without an overlay";
    o.circuits["r-88"] = dynamicCircuit("r-88", "100.64.77.8");
    o.nodeRates[ap] = {30, 7};
  });
  auto started = shaper_->start();
  ASSERT_TRUE(started) << started.error().message();
  EXPECT_EQ(seenStateDir, (lab_.work() / "state").string());

  // Right after start: the dynamic circuit's classes and map entry, and the node's rate, with
  // one apply (the build) and no other.
  const auto snap = shaper_->snapshot();
  EXPECT_EQ(snap.plan->circuits.size(), seenCircuits + 1);
  const auto* circuit = findCircuit(*snap.plan, "r-88");
  ASSERT_NE(circuit, nullptr);
  EXPECT_NE(classLine("shp-subs", circuit->downClass).find("ceil 8Mbit"), std::string::npos)
      << classLine("shp-subs", circuit->downClass);
  bool mapped = false;
  for (const auto& a : snap.plan->addresses) {
    mapped = mapped || a.prefix == *IpNet::parse("100.64.77.8");
  }
  EXPECT_TRUE(mapped) << "the circuit's address is in the published map";
  const auto* node = findNode(*snap.plan, ap);
  ASSERT_NE(node, nullptr);
  EXPECT_NE(classLine("shp-subs", node->downClass).find("ceil 30Mbit"), std::string::npos)
      << classLine("shp-subs", node->downClass);
  EXPECT_EQ(shaper_->overlay().circuits.size(), 1u);
  EXPECT_EQ(shaper_->overlay().nodeRates.size(), 1u);
  const nlohmann::json status = shaper_->status().body;
  EXPECT_EQ(status["last_reload"]["trigger"], "startup") << status["last_reload"].dump();
  EXPECT_EQ(status["bakery"]["last_apply"]["mode"], "build") << status["bakery"].dump();
  EXPECT_EQ(status["bakery"]["last_apply"]["sequence"], 1) << status["bakery"].dump();

  // Removing the entries later is an ordinary overlay change back to the plan.
  auto answer = shaper_->changeOverlay([](model::Overlay& o) { o = model::Overlay{}; },
                                       ReloadTrigger::Radius);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(classLine("shp-subs", circuit->downClass), "");

  // A loader that fails: the shaper starts, without an overlay.
  shaper_->stop();
  delete shaper_;
  shaper_ = new Shaper(options);
  shaper_->setStartOverlay([](const Shaper::StartContext&, model::Overlay& o) {
    o.circuits["r-89"] = dynamicCircuit("r-89", "100.64.77.9");
    throw std::runtime_error("state file unreadable");
  });
  started = shaper_->start();
  ASSERT_TRUE(started) << started.error().message();
  EXPECT_TRUE(shaper_->overlay().empty());
  EXPECT_EQ(findCircuit(*shaper_->snapshot().plan, "r-89"), nullptr);
}

TEST_F(OverlayShaper, RestoredRadiusCircuitsGoWhenTheListenersCannotStart) {
  // A UDP port taken inside the test's namespace: RADIUS cannot bind its accounting port.
  const int taken = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(taken, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const auto work = lab_.work();
  std::ofstream(work / "secret") << "s3cret\n";
  std::stringstream base;
  base << std::ifstream(lab_.config()).rdbuf();
  const std::string config = (work / "radius.conf").string();
  std::ofstream(config) << base.str()
                        << fmt::format(
                               "\n[radius]\nenabled = true\nlisten = \"127.0.0.1:{}\"\n"
                               "coa_enabled = false\n"
                               "parents = [{{ range = \"100.127.0.0/16\", node = "
                               "\"Riverbend Water Tower AP1-N\" }}]\n"
                               "[[radius.clients]]\nname = \"bng\"\n"
                               "source = \"127.0.0.1\"\nsecret_file = \"{}\"\n",
                               ntohs(addr.sin_port), (work / "secret").string());
  // One saved session, fresh.
  using namespace std::chrono;
  const radius::ClockPair now{
      duration_cast<seconds>(steady_clock::now().time_since_epoch()).count(),
      duration_cast<seconds>(system_clock::now().time_since_epoch()).count()};
  radius::Session s;
  s.nas = "bng";
  s.acctSessionId = "s1";
  s.circuitId = "radius:bng:s1";
  s.addresses.push_back(*IpNet::parse("100.127.0.9"));
  s.rates = radius::Rates{6'000'000, 2'000'000, {}, {}, "MikroTik-Rate-Limit"};
  s.startedSec = s.lastUpdateSec = now.monoSec;
  ASSERT_TRUE(radius::saveSessions((work / "state/radius/sessions.json").string(), {s}, now));

  shaper_->stop();
  delete shaper_;
  DaemonOptions options;
  options.configPath = config;
  options.pinDir = lab_.pins();
  options.driftInterval = std::chrono::seconds(0);
  shaper_ = new Shaper(options);
  PersistedOverlay persisted(config);
  shaper_->setStartOverlay(persisted.loader());
  auto started = shaper_->start();
  ASSERT_TRUE(started) << started.error().message();
  const auto* circuit = findCircuit(*shaper_->snapshot().plan, "radius:bng:s1");
  ASSERT_NE(circuit, nullptr) << "the saved session's circuit is in the first plan";
  EXPECT_NE(classLine("shp-subs", circuit->downClass).find("ceil 6Mbit"), std::string::npos);

  RadiusService radius(*shaper_, config, shaper_->stateDirectory());
  radius.adopt(persisted.takeRadius());
  EXPECT_FALSE(radius.start());
  EXPECT_NE(radius.startError(), "");
  EXPECT_TRUE(shaper_->overlay().circuits.empty());
  EXPECT_EQ(findCircuit(*shaper_->snapshot().plan, "radius:bng:s1"), nullptr);
  EXPECT_EQ(classLine("shp-subs", circuit->downClass), "");
  ::close(taken);
}

}  // namespace
}  // namespace sluice::daemon
