// Lazy queues (lazy_queues = "Full", lazy_expire_seconds = 3) in the running daemon on the
// namespace lab:
//   - after start no circuit has an HTB class in the live kernel tree (nodes do), every address
//     maps to its queue's default class;
//   - a 1,000 packets/s UDP probe through one circuit makes its classes and leaves appear within
//     ~2 s (one tracker tick plus one bakery apply), with 0 probe packets lost across the switch;
//   - iperf3 through the circuit then measures its ceil (20/5 Mbit, ±10 %);
//   - idle for lazy_expire_seconds, its classes are gone again, its addresses map to the default
//     class, and traffic to it still arrives (and activates it again).
// The live tree is read from the kernel independently of sluiced and compared with the bakery's
// persisted active state after every step.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"
#include "bakery/Bakery.h"
#include "bakery/NetlinkOpRunner.h"
#include "lab/Command.h"
#include "lab/Lab.h"
#include "lab/Probe.h"
#include "lab/Traffic.h"
#include "netlink/Socket.h"
#include "tc/LiveTree.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kSluice = SLUICE_BINARY_DIR "/src/cli/sluice";
const std::string kSluiced = SLUICE_BINARY_DIR "/src/daemon/sluiced";
const std::string kLabDir = "/run/sluice-lab-lazy";
constexpr int kExpireSeconds = 3;

lab::CommandOutput sluice(lab::Argv args, seconds timeout = seconds(300)) {
  args.insert(args.begin(), kSluice);
  auto output = lab::run(args, {}, timeout);
  if (!output) {
    return lab::CommandOutput{-1, "", output.error().message()};
  }
  return *output;
}

void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

const char* kNetwork = R"({
  "North": {"downloadBandwidthMbps": 400, "uploadBandwidthMbps": 200, "type": "site",
            "children": {"AP-N1": {"downloadBandwidthMbps": 200, "uploadBandwidthMbps": 100,
                                   "type": "ap"}}},
  "South": {"downloadBandwidthMbps": 400, "uploadBandwidthMbps": 200, "type": "site",
            "children": {"AP-S1": {"downloadBandwidthMbps": 200, "uploadBandwidthMbps": 100,
                                   "type": "ap"}}}
})";

std::string devicesCsv() {
  std::string out =
      "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min "
      "Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment\n";
  out += "hot,hot,d-hot,Router hot,AP-N1,,100.64.0.1,,5,2,20,5,\n";
  for (int i = 1; i <= 7; ++i) {
    out += fmt::format("idle-{0},idle-{0},d-idle-{0},Router {0},{1},,100.64.1.{0},,2,1,20,8,\n",
                       i, i % 2 ? "AP-N1" : "AP-S1");
  }
  return out;
}

class LazyLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root (network namespaces)";
    }
    sluice({"lab", "--state-dir", kLabDir, "down"});
    // The lab's namespace names are fixed: wait for another lab on this machine to go away.
    for (int i = 0; i < 180 && fs::exists("/run/netns/shaper"); ++i) {
      std::this_thread::sleep_for(seconds(1));
    }
    ASSERT_FALSE(fs::exists("/run/netns/shaper")) << "another lab is up (netns shaper exists)";
    tmp_ = fs::temp_directory_path() / fmt::format("sluice-lazy-lab-{}", getpid());
    fs::create_directories(tmp_);
    writeFile(tmp_ / "network.json", kNetwork);
    writeFile(tmp_ / "ShapedDevices.csv", devicesCsv());
    writeFile(tmp_ / "lqos.conf", fmt::format(R"(version = "1.5"
lqos_directory = "."
node_id = "sluice-lazy-lab"
node_name = "lazy lab"

[bridge]
use_xdp_bridge = false
to_internet = "shp-inet"
to_network = "shp-subs"

[queues]
default_sqm = "cake diffserv4"
queue_mode = "shape"
uplink_bandwidth_mbps = 1000
downlink_bandwidth_mbps = 1000
generated_pn_download_mbps = 1000
generated_pn_upload_mbps = 1000
lazy_queues = "{}"
lazy_expire_seconds = {}

[ip_ranges]
allow_subnets = ["100.64.0.0/10"]

[sluice]
network_json = "network.json"
shaped_devices_csv = "ShapedDevices.csv"
leaf_fallback = "pfifo"
)",
                                              mode_, kExpireSeconds));
    const auto up = sluice({"lab", "--state-dir", kLabDir, "up", "--sluiced", kSluiced,
                            "--config", (tmp_ / "lqos.conf").string()});
    ASSERT_EQ(up.exitCode, 0) << up.out << up.err;
    auto state = lab::loadLabState(kLabDir);
    ASSERT_TRUE(state) << state.error().message();
    state_ = *state;
    auto socket = netlink::Socket::open("/var/run/netns/shaper");
    ASSERT_TRUE(socket) << socket.error().message();
    socket_.emplace(std::move(*socket));
  }

  void TearDown() override {
    if (HasFailure()) {
      std::error_code ec;
      fs::copy_file(kLabDir + "/sluiced.log", "/tmp/lazy-lab-sluiced.log",
                    fs::copy_options::overwrite_existing, ec);
      fmt::print("sluiced's log: /tmp/lazy-lab-sluiced.log\n");
    }
    if (geteuid() == 0) {
      const auto down = sluice({"lab", "--state-dir", kLabDir, "down"});
      EXPECT_EQ(down.exitCode, 0) << down.out << down.err;
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }

  Json lazyStatus() {
    auto r = api::request(state_.socket, "GET", "/api/status");
    return r && r->status == 200 && r->body.contains("lazy") ? r->body["lazy"] : Json();
  }

  /// The bakery's persisted active state once it equals the live tree (it is written in the
  /// background after each apply); nullopt after `timeout` without that.
  std::optional<plan::QueuePlan> activeInSync(milliseconds timeout = milliseconds(3000)) {
    const auto end = Clock::now() + timeout;
    do {
      auto st = bakery::loadActiveState(state_.stateDir + "/state");
      if (st && *st) {
        auto diffs = bakery::compareLive(*socket_, (*st)->plan);
        if (diffs && diffs->empty()) {
          return (*st)->plan;
        }
      }
      std::this_thread::sleep_for(milliseconds(50));
    } while (Clock::now() < end);
    return std::nullopt;
  }

  static const plan::CircuitPlacement* placement(const plan::QueuePlan& p, const std::string& id) {
    for (const auto& c : p.circuits) {
      if (c.circuitId == id) return &c;
    }
    return nullptr;
  }
  static const plan::AddressMapping* mapping(const plan::QueuePlan& p, const std::string& id) {
    const auto* c = placement(p, id);
    for (const auto& a : p.addresses) {
      if (c != nullptr && a.circuit == static_cast<int32_t>(c - p.circuits.data())) return &a;
    }
    return nullptr;
  }

  /// HTB classes in the live tree of the download port (not the mq root's classes).
  size_t liveClasses() {
    auto t = tc::readLiveTree(*socket_, lab::kShaperNetworkIf);
    EXPECT_TRUE(t) << t.error().message();
    size_t n = 0;
    for (const auto& c : t ? t->classes : std::vector<tc::LiveClass>{}) {
      n += (c.classid >> 16) != plan::kMqMajor ? 1 : 0;
    }
    return n;
  }
  bool liveHasClassWithLeaf(plan::TcHandle classid) {
    auto t = tc::readLiveTree(*socket_, lab::kShaperNetworkIf);
    if (!t || t->findClass(classid.raw()) == nullptr) return false;
    for (const auto& q : t->qdiscs) {
      if (q.parent == classid.raw()) return true;
    }
    return false;
  }

  /// Waits until circuit `id` has a class on the download port (true) or none (false); returns how
  /// long that took, or nullopt after `timeout`.
  std::optional<double> waitFor(const std::string& id, bool present, seconds timeout) {
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < timeout) {
      auto st = bakery::loadActiveState(state_.stateDir + "/state");
      if (st && *st) {
        const auto* c = placement((*st)->plan, id);
        const bool has = c != nullptr && c->downClass.major != 0 &&
                         (!present || liveHasClassWithLeaf(c->downClass));
        if (has == present) {
          return std::chrono::duration<double>(Clock::now() - t0).count();
        }
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return std::nullopt;
  }

  /// Waits until circuit `id`'s download class has an explicit leaf (true) or only HTB's hidden
  /// default FIFO (false) while the class itself stays (lazy_queues = Htb); how long that took.
  std::optional<double> waitForLeaf(const std::string& id, bool present, seconds timeout) {
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < timeout) {
      auto st = bakery::loadActiveState(state_.stateDir + "/state");
      if (st && *st) {
        const auto* c = placement((*st)->plan, id);
        auto t = tc::readLiveTree(*socket_, lab::kShaperNetworkIf);
        if (c != nullptr && t && t->findClass(c->downClass.raw()) != nullptr &&
            liveHasClassWithLeaf(c->downClass) == present) {
          return std::chrono::duration<double>(Clock::now() - t0).count();
        }
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return std::nullopt;
  }

  std::string mode_ = "Full";
  fs::path tmp_;
  lab::LabState state_;
  std::optional<netlink::Socket> socket_;
};

TEST_F(LazyLab, FullModeCreatesOnTrafficAndExpiresWhenIdle) {
  // 1. After start: nodes only, every circuit mapped to its queue's default class.
  Json lazy = lazyStatus();
  ASSERT_EQ(lazy.value("mode", ""), "Full") << lazy.dump();
  EXPECT_EQ(lazy.value("total_circuits", 0), 8);
  EXPECT_EQ(lazy.value("active_circuits", -1), 0) << lazy.dump();
  auto active = activeInSync();
  ASSERT_TRUE(active) << "live tree differs from the bakery's active state after start";
  size_t circuitClasses = 0;
  size_t planClasses = 0;
  for (const auto& iface : active->interfaces) {
    for (const auto& q : iface.queues) {
      for (const auto& cls : q.classes) {
        circuitClasses += cls.role == plan::ClassRole::Circuit ? 1 : 0;
        planClasses += iface.ifname == lab::kShaperNetworkIf ? 1 : 0;
      }
    }
  }
  EXPECT_EQ(circuitClasses, 0u);
  EXPECT_EQ(liveClasses(), planClasses);  // link, default and the 4 node classes per queue
  for (const char* id : {"hot", "idle-1", "idle-4"}) {
    const auto* m = mapping(*active, id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_EQ(m->downClass.minor, plan::kDefaultMinor) << id;
    EXPECT_EQ(m->upClass.minor, plan::kDefaultMinor) << id;
  }

  // 2. Traffic through "hot": its classes and leaves appear, no probe packet is lost.
  auto probe = lab::startCircuitProbe(state_, "hot", 1000);
  ASSERT_TRUE(probe) << probe.error().message();
  const auto appeared = waitFor("hot", true, seconds(10));
  ASSERT_TRUE(appeared) << "hot's classes did not appear within 10 s: " << lazyStatus().dump();
  fmt::print("hot: class and leaf in the live tree {:.2f} s after its first packet\n", *appeared);
  EXPECT_LE(*appeared, 2.5);
  active = activeInSync();
  ASSERT_TRUE(active) << "live tree differs from the active state after the activation";
  EXPECT_NE(mapping(*active, "hot")->downClass.minor, plan::kDefaultMinor);
  EXPECT_EQ(mapping(*active, "idle-1")->downClass.minor, plan::kDefaultMinor);
  std::this_thread::sleep_for(milliseconds(500));
  const auto report = probe->get()->stop();
  fmt::print("probe across the activation: sent {}, received {}, lost {}, worst {:.1f} ms\n",
             report.sent, report.received, report.lost, report.worstLatencyMs);
  EXPECT_GT(report.sent, 500u);
  EXPECT_EQ(report.lost, 0u);
  lazy = lazyStatus();
  EXPECT_EQ(lazy.value("active_circuits", 0), 1) << lazy.dump();
  EXPECT_GE(lazy.value("activations", 0), 1);

  // 3. The circuit is shaped at its ceil (20/5 Mbit, ±10 %).
  lab::TrafficOptions to;
  to.circuits = {"hot"};
  to.seconds = 10;  // the lab default: shorter runs read low (TCP ramp-up, iperf3 --omit 1)
  // On the shared 2-core machine a TCP run now and then stays below its ceil with no drop and no
  // backlog in the class (the sender is starved, not shaped): one more run before failing. Above
  // the ceil (the default class's 999 Mbit would show) fails at once.
  Result<std::vector<lab::CircuitMeasurement>> rows;
  for (int attempt = 0; attempt < 2; ++attempt) {
    rows = lab::measure(state_, to);
    ASSERT_TRUE(rows) << rows.error().message();
    ASSERT_EQ(rows->size(), 1u);
    const auto& r = (*rows)[0];
    fmt::print("hot: ceil {}/{} Mbit, measured {:.2f}/{:.2f} Mbit/s\n", r.plannedDownMbps,
               r.plannedUpMbps, r.measuredDownMbps, r.measuredUpMbps);
    EXPECT_LE(r.measuredDownMbps, r.plannedDownMbps * 1.1);
    EXPECT_LE(r.measuredUpMbps, r.plannedUpMbps * 1.1);
    if (r.withinTolerance) break;
  }
  EXPECT_TRUE((*rows)[0].withinTolerance) << lab::renderTable(*rows, to.tolerancePercent);

  // 4. Idle: after lazy_expire_seconds the classes go, the addresses map to the default class.
  const auto gone = waitFor("hot", false, seconds(kExpireSeconds + 8));
  ASSERT_TRUE(gone) << "hot's classes are still there: " << lazyStatus().dump();
  fmt::print("hot: classes removed {:.2f} s after the traffic stopped (expire {} s)\n", *gone,
             kExpireSeconds);
  active = activeInSync();
  ASSERT_TRUE(active) << "live tree differs from the active state after the expiry";
  EXPECT_EQ(mapping(*active, "hot")->downClass.minor, plan::kDefaultMinor);
  EXPECT_EQ(mapping(*active, "hot")->upClass.minor, plan::kDefaultMinor);
  EXPECT_EQ(liveClasses(), planClasses);
  lazy = lazyStatus();
  EXPECT_EQ(lazy.value("active_circuits", -1), 0) << lazy.dump();
  EXPECT_GE(lazy.value("expirations", 0), 1);

  // 5. Traffic to the expired circuit still arrives (default class, then activated again).
  auto again = lab::startCircuitProbe(state_, "hot", 1000, milliseconds(1500));
  ASSERT_TRUE(again) << again.error().message();
  again->get()->waitSent();
  const auto second = again->get()->stop();
  EXPECT_EQ(second.lost, 0u) << second.sent << " sent";
  EXPECT_TRUE(waitFor("hot", true, seconds(5))) << "not activated again";
}

class LazyLabHtb : public LazyLab {
 protected:
  void SetUp() override {
    mode_ = "Htb";
    LazyLab::SetUp();
  }
};

TEST_F(LazyLabHtb, HtbModeGraftsTheLeafOnTrafficAndRemovesItWhenIdle) {
  // 1. After start: every circuit has its classes but no explicit leaf (HTB's default FIFO).
  Json lazy = lazyStatus();
  ASSERT_EQ(lazy.value("mode", ""), "Htb") << lazy.dump();
  EXPECT_EQ(lazy.value("active_circuits", -1), 0) << lazy.dump();
  auto active = activeInSync();
  ASSERT_TRUE(active) << "live tree differs from the bakery's active state after start";
  const auto* hot = placement(*active, "hot");
  ASSERT_NE(hot, nullptr);
  ASSERT_NE(hot->downClass.major, 0);
  EXPECT_FALSE(liveHasClassWithLeaf(hot->downClass)) << "an idle circuit has a leaf";
  EXPECT_NE(mapping(*active, "hot")->downClass.minor, plan::kDefaultMinor);

  // 2. Traffic: the leaf is grafted under the existing class, no probe packet is lost.
  auto probe = lab::startCircuitProbe(state_, "hot", 1000);
  ASSERT_TRUE(probe) << probe.error().message();
  const auto grafted = waitForLeaf("hot", true, seconds(10));
  ASSERT_TRUE(grafted) << "hot's leaf did not appear within 10 s: " << lazyStatus().dump();
  fmt::print("hot: leaf grafted {:.2f} s after its first packet\n", *grafted);
  EXPECT_LE(*grafted, 2.5);
  EXPECT_TRUE(activeInSync()) << "live tree differs from the active state after the activation";
  std::this_thread::sleep_for(milliseconds(500));
  const auto report = probe->get()->stop();
  fmt::print("probe across the graft: sent {}, received {}, lost {}, worst {:.1f} ms\n",
             report.sent, report.received, report.lost, report.worstLatencyMs);
  EXPECT_GT(report.sent, 500u);
  EXPECT_EQ(report.lost, 0u);

  // 3. Idle: the leaf goes after lazy_expire_seconds; the class stays.
  const auto removed = waitForLeaf("hot", false, seconds(kExpireSeconds + 8));
  ASSERT_TRUE(removed) << "hot's leaf is still there: " << lazyStatus().dump();
  fmt::print("hot: leaf removed {:.2f} s after the traffic stopped (expire {} s)\n", *removed,
             kExpireSeconds);
  EXPECT_TRUE(activeInSync()) << "live tree differs from the active state after the expiry";
  lazy = lazyStatus();
  EXPECT_EQ(lazy.value("active_circuits", -1), 0) << lazy.dump();
  EXPECT_GE(lazy.value("expirations", 0), 1);
}

}  // namespace
}  // namespace sluice
