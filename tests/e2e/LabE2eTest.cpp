// End-to-end: the namespace lab with sluiced shaping real iperf3 TCP traffic (issue 5). Drives
// the installed binaries as an operator would: `sluice lab up|traffic|qoe|down`, `sluice status`,
// `sluice tree`. Inputs: tests/data/e2e (ceilings of at most 50 Mbit/s: veth + XDP + cpumap on a
// small shared machine is CPU-bound well above that), or with SLUICE_E2E_INPUTS=small
// tests/data/e2e/small (at most 10 Mbit/s, for the guest kernel under qemu's emulation).
//
// SLUICE_E2E_NO_SKIP=1 (the guest-kernel suite, tools/guest/lab-e2e.sh) turns every skip into a
// failure: there the kernel has what these tests need, and a skip would hide a broken setup.
//
// QoeLab (issue 8) needs CAKE: the demo ISP's lab, every leaf checked against the plan, and
// `sluice lab qoe` on its 10 Mbit/s circuit: CAKE keeps the RTT near idle under load, pfifo not.
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
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab/Command.h"
#include "lab/Lab.h"
#include "lab/Network.h"
#include "lab/Traffic.h"
#include "planner/TcBatch.h"
#include "telemetry/CpuStat.h"

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

/// The inputs and what the rate checks expect of them.
struct Profile {
  std::string dataDir;
  /// Circuits of different ceilings, run at once: id, ceil down, ceil up (Mbit/s).
  std::vector<std::tuple<std::string, double, double>> circuits;
  std::string hillA, hillB;  ///< two circuits under one site
  double hillCeilDown = 0;   ///< each one's own ceil
  double siteDown = 0, siteUp = 0;
  std::string v6;  ///< an IPv6-only circuit
  double v6Down = 0, v6Up = 0;
  double unshapedAboveMbps = 0;  ///< traffic in no circuit runs faster than this
};

Profile profile() {
  const char* inputs = std::getenv("SLUICE_E2E_INPUTS");
  if (inputs != nullptr && std::string(inputs) == "small") {
    return {SLUICE_TEST_DATA_DIR "/e2e/small",
            {{"e2e-1", 1, 1}, {"e2e-2", 2, 1}, {"e2e-5", 5, 2}},
            "e2e-hill-a", "e2e-hill-b", 4, 5, 2,
            "e2e-v6", 3, 1,
            12};
  }
  return {SLUICE_TEST_DATA_DIR "/e2e",
          {{"e2e-5", 5, 2}, {"e2e-10", 10, 4}, {"e2e-25", 25, 8}, {"e2e-50", 50, 15}},
          "e2e-hill-a", "e2e-hill-b", 25, 30, 12,
          "e2e-v6", 20, 6,
          55};
}
const Profile kProfile = profile();
const std::string kData = kProfile.dataDir;
const bool kNoSkip = std::getenv("SLUICE_E2E_NO_SKIP") != nullptr &&
                     std::string(std::getenv("SLUICE_E2E_NO_SKIP")) == "1";
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
      if (kNoSkip) {
        FAIL() << "SLUICE_E2E_NO_SKIP=1 but: " << skip_;
      }
      GTEST_SKIP() << skip_;
    }
    ASSERT_TRUE(upOk_) << "sluice lab up failed:\n" << upLog_;
    if (kNoSkip) {
      EXPECT_EQ(state().leafFallback, "") << "the guest kernel's leaves fell back";
    }
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

/// How many times a rate check runs before its failure counts: 2, or SLUICE_E2E_ATTEMPTS (the
/// guest suite sets 3: under qemu's emulation a run's rate also depends on how much host CPU the
/// emulator got during those 8 s).
int rateAttempts() {
  const char* value = std::getenv("SLUICE_E2E_ATTEMPTS");
  const int attempts = value == nullptr ? 2 : std::atoi(value);
  return std::clamp(attempts, 1, 5);
}

/// What each CPU did since `before` (telemetry::readCpuTimes of /proc/stat): "cpu0 busy 40 %
/// (steal 29 %), cpu1 ...", and the largest steal share of any CPU (percent).
struct CpuReport {
  std::string text;
  double maxStealPercent = 0;
};

CpuReport cpuReport(const telemetry::CpuTimes& before) {
  CpuReport report;
  const auto after = telemetry::readCpuTimes("/proc/stat");
  if (!after) {
    report.text = after.error().message();
    return report;
  }
  for (uint32_t cpu = 0; cpu < after->cpus.size(); ++cpu) {
    const auto busy = telemetry::cpuBusyPct(before, *after, cpu);
    const auto steal = telemetry::cpuStealPct(before, *after, cpu);
    if (!busy || !steal) {
      continue;
    }
    report.text += fmt::format("{}cpu{} busy {:.0f} % (steal {:.0f} %)",
                               report.text.empty() ? "" : ", ", cpu, *busy, *steal);
    report.maxStealPercent = std::max(report.maxStealPercent, *steal);
  }
  return report;
}

/// /proc/stat now; empty when it cannot be read (the report then says why).
telemetry::CpuTimes cpuTimesNow() {
  return telemetry::readCpuTimes("/proc/stat").value_or(telemetry::CpuTimes{});
}

/// A failed run during which the hypervisor stole at least this share of some vCPU is run again
/// without counting as an attempt, up to kStealReruns times. Measured 2026-12-07: a run with 29 %
/// steal on one vCPU read its downloads at 47-71 % of ceil (CUBIC loads; the next run passed).
/// Stolen time stops the shaper's HTB timers and the lab's own senders alike; which of them lost
/// the rate is not known (SIGSTOP on the guest kernel's qemu did not reproduce steal).
constexpr double kStealPercent = 5;
constexpr int kStealReruns = 2;

/// Runs `check` again when it failed, up to rateAttempts() counted runs, 10 s apart; only the
/// last run's failures count. The lab shares two vCPUs with whatever else the machine runs, and
/// a burst of foreign load can cost one 8 s run its rate (with a paced sender it cost CI's run of
/// 2026-12-07 its downloads, 75-85 % of ceil: Traffic.h iperfArgv, why the load is CUBIC). Each
/// failed run prints each CPU's busy and steal share over it. A shaper that is broken fails every
/// run.
template <typename Check>
void withRetries(Check check) {
  int attemptsLeft = rateAttempts();
  int stealReruns = kStealReruns;
  for (int run = 1; attemptsLeft > 1; ++run) {
    bool failed = false;
    ::testing::TestPartResultArray results;
    const telemetry::CpuTimes before = cpuTimesNow();
    {
      ::testing::ScopedFakeTestPartResultReporter reporter(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
      check();
    }
    for (int i = 0; i < results.size(); ++i) {
      failed = failed || results.GetTestPartResult(i).failed();
      if (results.GetTestPartResult(i).failed()) {
        std::fprintf(stderr, "run %d (retried): %s\n", run, results.GetTestPartResult(i).message());
      }
    }
    if (!failed) {
      return;
    }
    const CpuReport cpus = cpuReport(before);
    const bool stolen = cpus.maxStealPercent >= kStealPercent && stealReruns > 0;
    if (stolen) {
      --stealReruns;
    } else {
      --attemptsLeft;
    }
    std::fprintf(stderr, "run %d: %s%s\n", run, cpus.text.c_str(),
                 stolen ? " (steal: this run does not count)" : "");
    std::this_thread::sleep_for(seconds(10));
  }
  const telemetry::CpuTimes before = cpuTimesNow();
  check();
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "last run: %s\n", cpuReport(before).text.c_str());
  }
}

/// Checks circuits of different ceilings, each within ±10 % of its ceil both ways.
template <typename Suite>
void expectCircuitsShaped() {
  int exitCode = -1;
  Argv ids;
  for (const auto& entry : kProfile.circuits) {
    ids.push_back(std::get<0>(entry));
  }
  std::map<std::string, Json> rows = Suite::traffic(ids, &exitCode);
  for (const auto& [circuit, down, up] : kProfile.circuits) {
    ASSERT_TRUE(rows.contains(circuit)) << circuit;
    const Json& row = rows[circuit];
    EXPECT_DOUBLE_EQ(row["planned_down_mbps"].get<double>(), down) << circuit;
    EXPECT_DOUBLE_EQ(row["planned_up_mbps"].get<double>(), up) << circuit;
    EXPECT_TRUE(within(row["measured_down_mbps"].get<double>(), down)) << row.dump();
    EXPECT_TRUE(within(row["measured_up_mbps"].get<double>(), up)) << row.dump();
  }
  EXPECT_EQ(exitCode, 0);
}

/// Two circuits under Hill, whose ceilings add up to more than the site, run together: their sum
/// is the site's cap.
template <typename Suite>
void expectSiteCapShared() {
  std::map<std::string, Json> rows = Suite::traffic({kProfile.hillA, kProfile.hillB});
  ASSERT_EQ(rows.size(), 2u);
  double down = 0;
  double up = 0;
  for (const auto& entry : rows) {
    const Json& row = entry.second;
    EXPECT_DOUBLE_EQ(row["planned_down_mbps"].get<double>(), kProfile.hillCeilDown)
        << entry.first;
    down += row["measured_down_mbps"].get<double>();
    up += row["measured_up_mbps"].get<double>();
  }
  EXPECT_TRUE(within(down, kProfile.siteDown))
      << "sum of downloads " << down << " Mbit/s, site cap " << kProfile.siteDown;
  EXPECT_TRUE(within(up, kProfile.siteUp))
      << "sum of uploads " << up << " Mbit/s, site cap " << kProfile.siteUp;
}

template <typename Suite>
void expectIpv6OnlyShaped() {
  int exitCode = -1;
  std::map<std::string, Json> rows = Suite::traffic({kProfile.v6}, &exitCode);
  ASSERT_TRUE(rows.contains(kProfile.v6));
  const Json& row = rows[kProfile.v6];
  EXPECT_NE(row["source"].get<std::string>().find(':'), std::string::npos) << row.dump();
  EXPECT_TRUE(within(row["measured_down_mbps"].get<double>(), kProfile.v6Down, false))
      << row.dump();
  EXPECT_TRUE(within(row["measured_up_mbps"].get<double>(), kProfile.v6Up, false)) << row.dump();
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

TEST_F(BridgeLab, CircuitsEachWithinTenPercentOfCeil) {
  withRetries(expectCircuitsShaped<BridgeLab>);
}
TEST_F(BridgeLab, TwoCircuitsShareTheirSiteCap) { withRetries(expectSiteCapShared<BridgeLab>); }
TEST_F(BridgeLab, Ipv6OnlyCircuitIsShaped) { withRetries(expectIpv6OnlyShaped<BridgeLab>); }
TEST_F(StickLab, CircuitsEachWithinTenPercentOfCeil) {
  withRetries(expectCircuitsShaped<StickLab>);
}
TEST_F(StickLab, TwoCircuitsShareTheirSiteCap) { withRetries(expectSiteCapShared<StickLab>); }
TEST_F(StickLab, Ipv6OnlyCircuitIsShaped) { withRetries(expectIpv6OnlyShaped<StickLab>); }

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
  EXPECT_GT(mbps, kProfile.unshapedAboveMbps) << "unknown traffic looks shaped";
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

namespace sluice::lab {
namespace {

/// Why this kernel cannot run the QoE lab (no CAKE), or "".
std::string kernelLacksCake() {
  auto probe = run({"unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "cake"});
  if (!probe) {
    return probe.error().message();
  }
  return probe->exitCode == 0 ? "" : "this kernel has no CAKE (" + probe->err + ")";
}

/// The demo ISP's lab with CAKE leaves (issue 8): leaves as planned, and QoE under load.
class QoeLab : public ::testing::Test {
 protected:
  static constexpr const char* kCircuit = "1002";  // "Lab 10M": 10/2 Mbit/s
  static constexpr int kQoeSeconds = 8;

  static void SetUpTestSuite() {
    skip_ = missingCapability();
    if (skip_.empty()) {
      skip_ = kernelLacksCake();
    }
    if (!skip_.empty()) {
      return;
    }
    sluice({"lab", "--state-dir", kStateDir, "down"});
    const CommandOutput out = sluice({"lab", "--state-dir", kStateDir, "up", "--sluiced",
                                      kSluiced, "--config", SLUICE_EXAMPLES_DIR "/lqos.conf"});
    upOk_ = out.exitCode == 0;
    upLog_ = out.out + out.err;
  }

  static void TearDownTestSuite() {
    if (skip_.empty()) {
      const CommandOutput down = sluice({"lab", "--state-dir", kStateDir, "down"});
      EXPECT_EQ(down.exitCode, 0) << down.err;
    }
  }

  void SetUp() override {
    if (!skip_.empty()) {
      if (kNoSkip) {
        FAIL() << "SLUICE_E2E_NO_SKIP=1 but: " << skip_;
      }
      GTEST_SKIP() << skip_;
    }
    ASSERT_TRUE(upOk_) << "sluice lab up failed:\n" << upLog_;
  }

  static inline std::string skip_;
  static inline bool upOk_ = false;
  static inline std::string upLog_;
};

TEST_F(QoeLab, EveryLeafIsTheCakeOrFqCodelThePlanAsksFor) {
  auto lab = loadLabState(kStateDir);
  ASSERT_TRUE(lab.has_value());
  EXPECT_EQ(lab->leafFallback, "") << "the lab fell back although the kernel has CAKE";
  auto planned = planLab(*lab);
  ASSERT_TRUE(planned.has_value()) << planned.error().message();
  // classid -> planned leaf kind, per device.
  std::map<std::string, std::map<std::string, std::string>> expected;
  size_t cake = 0;
  size_t fqCodel = 0;
  for (const plan::InterfacePlan& iface : planned->plan->interfaces) {
    for (const plan::HtbQueuePlan& queue : iface.queues) {
      for (const plan::HtbClassPlan& cls : queue.classes) {
        if (cls.leaf) {
          const std::string options = plan::leafTcOptions(*cls.leaf);
          const std::string kind = options.substr(0, options.find(' '));
          expected[iface.ifname][cls.classid.toString()] = kind;
          cake += kind == "cake" ? 1 : 0;
          fqCodel += kind == "fq_codel" ? 1 : 0;
        }
      }
    }
  }
  // The demo ISP has both kinds: CAKE by default, fq_codel where a circuit's sqm asks for it.
  EXPECT_GT(cake, 50u);
  EXPECT_GT(fqCodel, 0u);
  for (const auto& [dev, leaves] : expected) {
    const CommandOutput out = sluice({"tree", "--dev", dev, "--netns", "shaper", "--json"});
    ASSERT_EQ(out.exitCode, 0) << out.err;
    const Json tree = Json::parse(out.out, nullptr, false);
    ASSERT_TRUE(tree.contains("qdiscs")) << out.out;
    // Leaves: qdiscs under HTB classes (not the mq's unused tx queues, which keep their default
    // qdiscs, nor the clsact qdisc that holds sluiced's tc classifier).
    std::map<std::string, std::string> live;
    for (const Json& q : tree["qdiscs"]) {
      const std::string kind = q["kind"].get<std::string>();
      const std::string parent = q["parent"].get<std::string>();
      if (kind != "mq" && kind != "htb" && kind != "clsact" && !parent.starts_with("7fff:") &&
          parent != "root" && parent != "clsact") {
        live[parent] = kind;
      }
    }
    for (const auto& [classid, kind] : leaves) {
      EXPECT_EQ(live.contains(classid) ? live[classid] : "(none)", kind)
          << dev << " class " << classid;
    }
    EXPECT_EQ(live.size(), leaves.size()) << dev << ": leaves the plan does not have";
  }
}

/// RTT p50 (ms) of one phase of one leaf's run in `sluice lab qoe --json` output.
const Json& phaseOf(const Json& report, size_t run, const std::string& load) {
  static const Json kMissing;
  for (const Json& phase : report["runs"][run]["phases"]) {
    if (phase["load"] == load) {
      return phase;
    }
  }
  ADD_FAILURE() << "no phase " << load << " in run " << run;
  return kMissing;
}

TEST_F(QoeLab, CakeKeepsLatencyNearIdleUnderLoadPfifoDoesNot) {
  const CommandOutput out = sluice({"lab", "--state-dir", kStateDir, "qoe", kCircuit, "--json",
                                    "--seconds", std::to_string(kQoeSeconds)},
                                   seconds(600));
  ASSERT_EQ(out.exitCode, 0) << out.out << out.err;
  std::fprintf(stderr, "%s", out.err.c_str());  // the progress lines: the measured table
  const Json report = Json::parse(out.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << out.out;
  ASSERT_EQ(report["runs"].size(), 2u);
  EXPECT_EQ(report["runs"][0]["leaf"], "cake");
  EXPECT_EQ(report["runs"][1]["leaf"], "pfifo");
  const double share = report["payload_share"].get<double>();
  const double ceilDown = report["planned_down_mbps"].get<double>();
  const double ceilUp = report["planned_up_mbps"].get<double>();
  EXPECT_DOUBLE_EQ(ceilDown, 10);
  const double idleP50 = phaseOf(report, 0, "idle")["rtt_ms"]["p50"].get<double>();
  for (const std::string load : {"down", "up", "both"}) {
    const Json& cake = phaseOf(report, 0, load);
    const Json& fifo = phaseOf(report, 1, load);
    const double cakeP50 = cake["rtt_ms"]["p50"].get<double>();
    const double fifoP50 = fifo["rtt_ms"]["p50"].get<double>();
    // Nearly every ping answered: percentiles over a few survivors would prove nothing.
    EXPECT_GE(cake["pings_received"].get<double>(), 0.9 * cake["pings_sent"].get<double>())
        << cake.dump();
    EXPECT_LE(cakeP50, idleP50 + 10) << load << ": CAKE p50 " << cakeP50 << " ms, idle "
                                     << idleP50 << " ms";
    // If the two cannot be told apart, the measurement is not seeing the queue.
    EXPECT_GE(fifoP50, 5 * cakeP50) << load << ": pfifo p50 " << fifoP50 << " ms vs CAKE "
                                    << cakeP50 << " ms";
  }
  // Throughput through CAKE within ±15 % of what the ceil carries as TCP payload.
  auto within15 = [&](double mbps, double ceil) {
    return std::abs(mbps - ceil * share) <= 0.15 * ceil * share;
  };
  EXPECT_TRUE(within15(phaseOf(report, 0, "down")["down_mbps"].get<double>(), ceilDown))
      << phaseOf(report, 0, "down").dump();
  EXPECT_TRUE(within15(phaseOf(report, 0, "up")["up_mbps"].get<double>(), ceilUp))
      << phaseOf(report, 0, "up").dump();
  EXPECT_TRUE(within15(phaseOf(report, 0, "both")["down_mbps"].get<double>(), ceilDown))
      << phaseOf(report, 0, "both").dump();
  // The leaves are CAKE again afterwards.
  auto lab = loadLabState(kStateDir);
  ASSERT_TRUE(lab.has_value());
  for (const std::string dev : {kShaperNetworkIf, kShaperInternetIf}) {
    const CommandOutput tree = sluice({"tree", "--dev", dev, "--netns", "shaper", "--json"});
    EXPECT_EQ(tree.out.find("\"pfifo\""), std::string::npos) << dev << " still has a pfifo";
  }
}

}  // namespace
}  // namespace sluice::lab
