// End-to-end: the namespace lab with sluiced shaping real iperf3 TCP traffic (issue 5). Drives
// the installed binaries as an operator would: `sluice lab up|traffic|down`, `sluice status`,
// `sluice tree`. Inputs: tests/data/e2e (ceilings of at most 50 Mbit/s: veth + XDP + cpumap on a
// small shared machine is CPU-bound well above that).
//
// Each suite brings one lab up in SetUpTestSuite and takes it down in TearDownTestSuite (and
// first takes down whatever an earlier crashed run left), so a failing test still cleans up.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab/Command.h"
#include "lab/Lab.h"
#include "lab/Network.h"
#include "lab/Traffic.h"

namespace sluice::lab {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using Json = nlohmann::json;

/// The binaries under test: the build tree's, or SLUICE_E2E_SLUICE / SLUICE_E2E_SLUICED (e.g. an
/// installed build).
std::string binary(const char* variable, const char* fallback) {
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? value : fallback;
}
const std::string kSluice = binary("SLUICE_E2E_SLUICE", SLUICE_BINARY_DIR "/src/cli/sluice");
const std::string kSluiced = binary("SLUICE_E2E_SLUICED", SLUICE_BINARY_DIR "/src/daemon/sluiced");
const std::string kData = SLUICE_TEST_DATA_DIR "/e2e";
const std::string kStateDir = "/run/sluice-lab-e2e";
constexpr double kTolerance = 10;  // percent, as the issue asks
constexpr int kSeconds = 8;

CommandOutput sluice(Argv args, seconds timeout = seconds(300)) {
  args.insert(args.begin(), kSluice);
  auto output = run(args, {}, timeout);
  if (!output) {
    return CommandOutput{-1, "", output.error().message()};
  }
  return *output;
}

/// Whether a TCP payload rate is within ±10 % of what a ceil of `ceilMbps` delivers as payload.
bool within(double measured, double ceilMbps, bool v4 = true) {
  const double expected = ceilMbps * payloadShare(v4);
  return std::abs(measured - expected) <= expected * kTolerance / 100;
}

/// Why this machine cannot run the lab, or "" when it can.
std::string missingCapability() {
  if (geteuid() != 0) {
    return "needs root (network namespaces)";
  }
  for (const char* tool : {"ip", "ethtool", "iperf3", "tc"}) {
    auto found = run({"sh", "-c", std::string("command -v ") + tool});
    if (!found || found->exitCode != 0) {
      return std::string(tool) + " is not installed (tools/install-deps.sh)";
    }
  }
  return "";
}

template <LabMode kMode>
class Lab : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = missingCapability();
    if (skip_.empty() && kMode == LabMode::Stick) {
      skip_ = kernelLacksVlans();
    }
    if (!skip_.empty()) {
      return;
    }
    sluice({"lab", "--state-dir", kStateDir, "down"});
    Argv up{"lab", "--state-dir", kStateDir, "up", "--sluiced", kSluiced, "--config",
            kData + (kMode == LabMode::Stick ? "/lqos-stick.conf" : "/lqos.conf")};
    if (kMode == LabMode::Stick) {
      up.push_back("--stick");
    }
    const CommandOutput out = sluice(up);
    upOk_ = out.exitCode == 0;
    upLog_ = out.out + out.err;
  }

  static void TearDownTestSuite() {
    if (skip_.empty()) {
      const CommandOutput down = sluice({"lab", "--state-dir", kStateDir, "down"});
      EXPECT_EQ(down.exitCode, 0) << down.err;
      EXPECT_FALSE(fs::exists(kStateDir));
      EXPECT_TRUE(fs::exists("/run/netns/shaper") == false);
    }
  }

  void SetUp() override {
    if (!skip_.empty()) {
      GTEST_SKIP() << skip_;
    }
    ASSERT_TRUE(upOk_) << "sluice lab up failed:\n" << upLog_;
  }


 public:
  /// `sluice lab traffic ... --json` rows by circuit; the exit code is left to the caller.
  static std::map<std::string, Json> traffic(const Argv& circuits, int* exitCode = nullptr) {
    Argv args{"lab", "--state-dir", kStateDir, "traffic", "--json", "--seconds",
              std::to_string(kSeconds)};
    args.insert(args.end(), circuits.begin(), circuits.end());
    const CommandOutput out = sluice(args);
    if (exitCode != nullptr) {
      *exitCode = out.exitCode;
    }
    std::map<std::string, Json> rows;
    const Json list = Json::parse(out.out, nullptr, false);
    EXPECT_TRUE(list.is_array()) << out.out << out.err;
    if (list.is_array()) {
      for (const Json& row : list) {
        rows[row["circuit"].get<std::string>()] = row;
      }
    }
    return rows;
  }

  static LabState state() {
    auto loaded = loadLabState(kStateDir);
    EXPECT_TRUE(loaded.has_value());
    return loaded.value_or(LabState{});
  }

  static Json status() {
    const CommandOutput out = sluice({"status", "--socket", state().socket, "--json"});
    return Json::parse(out.out, nullptr, false);
  }

  /// Live tree of `dev` in the shaper namespace.
  static Json tree(const std::string& dev) {
    const CommandOutput out = sluice({"tree", "--dev", dev, "--netns", "shaper", "--json"});
    EXPECT_EQ(out.exitCode, 0) << out.err;
    return Json::parse(out.out, nullptr, false);
  }

  static inline std::string skip_;
  static inline bool upOk_ = false;
  static inline std::string upLog_;
};

using BridgeLab = Lab<LabMode::Bridge>;
using StickLab = Lab<LabMode::Stick>;

/// Runs `check` once more when it failed the first time: the lab shares two vCPUs with whatever
/// else the machine runs, and a burst of foreign load (or an idle vCPU's late HTB timer) can cost
/// one 8 s run its rate. A shaper that is broken fails both runs.
template <typename Check>
void withOneRetry(Check check) {
  bool failed = false;
  {
    ::testing::TestPartResultArray results;
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    check();
    for (int i = 0; i < results.size(); ++i) {
      failed = failed || results.GetTestPartResult(i).failed();
      if (results.GetTestPartResult(i).failed()) {
        std::fprintf(stderr, "first run (retried): %s\n", results.GetTestPartResult(i).message());
      }
    }
  }
  if (failed) {
    check();
  }
}

/// Checks four circuits of different ceilings, each within ±10 % of its ceil both ways.
template <typename Suite>
void expectFourCircuitsShaped() {
  int exitCode = -1;
  std::map<std::string, Json> rows =
      Suite::traffic({"e2e-5", "e2e-10", "e2e-25", "e2e-50"}, &exitCode);
  const std::map<std::string, std::pair<double, double>> ceilings{
      {"e2e-5", {5, 2}}, {"e2e-10", {10, 4}}, {"e2e-25", {25, 8}}, {"e2e-50", {50, 15}}};
  for (const auto& [circuit, ceil] : ceilings) {
    ASSERT_TRUE(rows.contains(circuit)) << circuit;
    const Json& row = rows[circuit];
    EXPECT_DOUBLE_EQ(row["planned_down_mbps"].get<double>(), ceil.first) << circuit;
    EXPECT_DOUBLE_EQ(row["planned_up_mbps"].get<double>(), ceil.second) << circuit;
    EXPECT_TRUE(within(row["measured_down_mbps"].get<double>(), ceil.first)) << row.dump();
    EXPECT_TRUE(within(row["measured_up_mbps"].get<double>(), ceil.second)) << row.dump();
  }
  EXPECT_EQ(exitCode, 0);
}

/// Two circuits of 25/10 under Hill (30/12), run together: their sum is the site's cap.
template <typename Suite>
void expectSiteCapShared() {
  std::map<std::string, Json> rows = Suite::traffic({"e2e-hill-a", "e2e-hill-b"});
  ASSERT_EQ(rows.size(), 2u);
  double down = 0;
  double up = 0;
  for (const auto& entry : rows) {
    const Json& row = entry.second;
    EXPECT_DOUBLE_EQ(row["planned_down_mbps"].get<double>(), 25) << entry.first;
    down += row["measured_down_mbps"].get<double>();
    up += row["measured_up_mbps"].get<double>();
  }
  EXPECT_TRUE(within(down, 30)) << "sum of downloads " << down << " Mbit/s, site cap 30";
  EXPECT_TRUE(within(up, 12)) << "sum of uploads " << up << " Mbit/s, site cap 12";
}

template <typename Suite>
void expectIpv6OnlyShaped() {
  int exitCode = -1;
  std::map<std::string, Json> rows = Suite::traffic({"e2e-v6"}, &exitCode);
  ASSERT_TRUE(rows.contains("e2e-v6"));
  const Json& row = rows["e2e-v6"];
  EXPECT_NE(row["source"].get<std::string>().find(':'), std::string::npos) << row.dump();
  EXPECT_TRUE(within(row["measured_down_mbps"].get<double>(), 20, false)) << row.dump();
  EXPECT_TRUE(within(row["measured_up_mbps"].get<double>(), 6, false)) << row.dump();
  EXPECT_EQ(exitCode, 0);
}

/// Bytes sent by each class of `tree` ("1:2" -> bytes).
std::map<std::string, uint64_t> classBytes(const Json& tree) {
  std::map<std::string, uint64_t> out;
  for (const Json& c : tree["classes"]) {
    out[c["classid"].get<std::string>()] = c["stats"]["bytes"].get<uint64_t>();
  }
  return out;
}

/// Every qdisc handle and classid of `tree`, sorted: the tree's shape.
std::vector<std::string> handles(const Json& tree) {
  std::vector<std::string> out;
  for (const Json& q : tree["qdiscs"]) {
    out.push_back("qdisc " + q["handle"].get<std::string>() + " " + q["kind"].get<std::string>());
  }
  for (const Json& c : tree["classes"]) {
    out.push_back("class " + c["classid"].get<std::string>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// The classid of the class whose ceil is `mbps` (the e2e inputs have unique ceilings where used).
std::string classWithCeil(const Json& tree, double mbps) {
  for (const Json& c : tree["classes"]) {
    if (c.contains("options") &&
        c["options"]["ceil_bytes_per_sec"].get<double>() == mbps * 1e6 / 8) {
      return c["classid"].get<std::string>();
    }
  }
  return "";
}

bool isDefaultClass(const std::string& classid) { return classid.ends_with(":2"); }

/// An iperf3 download from `source` on the last server port (the traffic command uses the first).
Result<Child> startDownload(const std::string& source, int seconds) {
  return Child::start(iperfArgv(*IpNet::parse(source),
                                static_cast<uint16_t>(kFirstPort + kServerPorts - 1), true,
                                seconds));
}

double mbpsOf(Child& child, int seconds) {
  auto out = child.wait(std::chrono::seconds(seconds + 30));
  EXPECT_TRUE(out.has_value()) << (out ? "" : out.error().message());
  if (!out) {
    return 0;
  }
  auto mbps = receiverMbps(out->out);
  EXPECT_TRUE(mbps.has_value()) << out->out << out->err;
  return mbps.value_or(0);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST_F(BridgeLab, FourCircuitsEachWithinTenPercentOfCeil) {
  withOneRetry(expectFourCircuitsShaped<BridgeLab>);
}
TEST_F(BridgeLab, TwoCircuitsShareTheirSiteCap) { withOneRetry(expectSiteCapShared<BridgeLab>); }
TEST_F(BridgeLab, Ipv6OnlyCircuitIsShaped) { withOneRetry(expectIpv6OnlyShaped<BridgeLab>); }
TEST_F(StickLab, FourCircuitsEachWithinTenPercentOfCeil) {
  withOneRetry(expectFourCircuitsShaped<StickLab>);
}
TEST_F(StickLab, TwoCircuitsShareTheirSiteCap) { withOneRetry(expectSiteCapShared<StickLab>); }
TEST_F(StickLab, Ipv6OnlyCircuitIsShaped) { withOneRetry(expectIpv6OnlyShaped<StickLab>); }

}  // namespace
}  // namespace sluice::lab

namespace sluice::lab {
namespace {

TEST_F(BridgeLab, UnknownAddressGoesToTheDefaultClassUnshaped) {
  const LabState lab = state();
  ASSERT_FALSE(lab.unknownV4.empty());
  const auto before = classBytes(tree(kShaperNetworkIf));
  auto child = startDownload(lab.unknownV4, 4);
  ASSERT_TRUE(child.has_value()) << child.error().message();
  const double mbps = mbpsOf(*child, 4);
  const auto after = classBytes(tree(kShaperNetworkIf));
  uint64_t defaultDelta = 0;
  uint64_t largestCircuitDelta = 0;
  for (const auto& [classid, bytes] : after) {
    const uint64_t delta = bytes - (before.contains(classid) ? before.at(classid) : 0);
    if (isDefaultClass(classid)) {
      defaultDelta += delta;
    } else if (!classid.ends_with(":1")) {  // link classes carry everything
      largestCircuitDelta = std::max(largestCircuitDelta, delta);
    }
  }
  // 4 s (plus one omitted) at `mbps`: nearly all of it must have gone through default classes.
  const double sentBytes = mbps * 1e6 / 8 * 4;
  EXPECT_GE(static_cast<double>(defaultDelta), 0.9 * sentBytes)
      << "default classes grew by " << defaultDelta << " bytes for " << mbps << " Mbit/s";
  EXPECT_LT(static_cast<double>(largestCircuitDelta), 0.01 * sentBytes)
      << "a circuit or site class carried the unknown address's traffic";
  // Not held to any circuit's ceil (the largest in the inputs is 50 Mbit/s).
  EXPECT_GT(mbps, 55) << "unknown traffic looks shaped";
}

TEST_F(BridgeLab, CorruptInputIsRefusedWhileTrafficKeepsItsRate) {
  const LabState lab = state();
  const std::string good = readFile(lab.devices);
  const size_t badLine = static_cast<size_t>(std::count(good.begin(), good.end(), '\n')) + 1;
  constexpr int kRun = 12;
  auto child = startDownload("100.64.10.10", kRun);  // e2e-10: 10 Mbit/s down
  ASSERT_TRUE(child.has_value()) << child.error().message();
  std::this_thread::sleep_for(seconds(3));
  writeFile(lab.devices, good + "e2e-bad,Bad,d-bad,Bad,Valley,,100.64.10.300,,1,1,5,2,\n");
  ::kill(lab.sluicedPid, SIGHUP);
  Json refused;
  for (int i = 0; i < 50 && refused.is_null(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const Json s = status();
    if (s.is_object() && s.contains("refused") && !s["refused"].is_null()) {
      refused = s["refused"];
    }
  }
  ASSERT_FALSE(refused.is_null()) << "sluice status never showed the refusal: " << status().dump();
  const std::string where = "ShapedDevices.csv:" + std::to_string(badLine) + ":";
  EXPECT_NE(refused.dump().find(where), std::string::npos) << where << " in " << refused.dump();
  EXPECT_EQ(status()["state"], "ready");
  EXPECT_TRUE(within(mbpsOf(*child, kRun), 10)) << "the running shaper changed under a refusal";

  writeFile(lab.devices, good);
  ::kill(lab.sluicedPid, SIGHUP);
  std::string outcome;
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const Json s = status();
    outcome = s.is_object() ? s["last_reload"].value("outcome", "") : "";
    if (outcome == "applied" || outcome == "unchanged") {
      break;
    }
  }
  EXPECT_TRUE(outcome == "applied" || outcome == "unchanged") << status().dump();
}

TEST_F(BridgeLab, SigkilledDaemonKeepsShapingAndIsAdopted) {
  const LabState lab = state();
  const std::string classid = classWithCeil(tree(kShaperNetworkIf), 10);
  ASSERT_FALSE(classid.empty()) << "no class with a 10 Mbit/s ceil";
  constexpr int kRun = 10;
  auto child = startDownload("100.64.10.10", kRun);
  ASSERT_TRUE(child.has_value()) << child.error().message();
  std::this_thread::sleep_for(seconds(3));
  ASSERT_EQ(::kill(lab.sluicedPid, SIGKILL), 0);
  EXPECT_TRUE(within(mbpsOf(*child, kRun), 10)) << "not shaped after the daemon was killed";
  const Json orphaned = tree(kShaperNetworkIf);
  const uint64_t bytesBefore = classBytes(orphaned)[classid];
  EXPECT_GT(bytesBefore, 0u);

  const CommandOutput restart = sluice({"lab", "--state-dir", kStateDir, "restart"});
  ASSERT_EQ(restart.exitCode, 0) << restart.out << restart.err;
  const Json s = status();
  EXPECT_EQ(s.value("adopted", false), true) << s.dump();
  const Json adopted = tree(kShaperNetworkIf);
  EXPECT_EQ(handles(adopted), handles(orphaned)) << "the tree was rebuilt";
  EXPECT_GE(classBytes(adopted)[classid], bytesBefore) << "class counters were reset";
  auto rows = BridgeLab::traffic({"e2e-10"});
  ASSERT_TRUE(rows.contains("e2e-10"));
  EXPECT_TRUE(rows["e2e-10"]["within_tolerance"].get<bool>()) << rows["e2e-10"].dump();
}

}  // namespace
}  // namespace sluice::lab
