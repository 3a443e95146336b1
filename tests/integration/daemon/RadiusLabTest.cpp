// RADIUS end to end in the namespace lab (issue 20), with Debian's radclient (freeradius-utils)
// talking to sluiced's listeners on 127.0.0.1 inside the shaper namespace. The subscriber is the
// lab's unknown address (100.127.255.254: in the subs namespace, in no circuit), which a
// [[radius.parents]] range puts under the same AP as circuit 1001.
//   1. Accounting-Start with Mikrotik-Rate-Limit 4M/10M creates a circuit: iperf3 measures the
//      10 Mbit/s download within 10 % (median of 0.5 s intervals; one retry on this shared host);
//   2. a CoA-Request with 2M/5M halves it while iperf3 runs (0.5 s intervals): from 1 s after the
//      CoA the download (median of the intervals) is within 10 % of 5 Mbit/s, and a probe through
//      the neighbouring circuit 1001 loses nothing; the change is one bakery apply of <= 2 tc ops;
//   3. a CoA with a wrong secret gets no answer, is counted as bad-authenticator, and changes
//      nothing (no apply, same rate);
//   4. a restart of sluiced brings the session back from the state directory (at the CoA's rate)
//      in the shaper's first plan: its classes are in the tree when sluiced is ready and nothing
//      is applied after the start's apply;
//   5. a Disconnect-Request removes the circuit: the address falls to the default class (its
//      bytes are counted there) and is no longer held at 5 Mbit/s.
// Needs root; holds /tmp/sluice-lab.lock for its whole run (the lab's namespaces are fixed).

#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"
#include "common/Process.h"
#include "lab/Lab.h"
#include "lab/Layout.h"
#include "lab/Probe.h"
#include "lab/Traffic.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

const std::string kSluice = SLUICE_BINARY_DIR "/src/cli/sluice";
const std::string kSluiced = SLUICE_BINARY_DIR "/src/daemon/sluiced";
const std::string kLabDir = "/run/sluice-lab-radius";
constexpr const char* kSecret = "lab-secret-20";
constexpr const char* kAp = "Riverbend Water Tower AP1-N";  // circuit 1001's parent

process::CommandOutput run(const process::Argv& argv, const std::string& input = "",
                           seconds timeout = seconds(300)) {
  auto out = process::run(argv, input, timeout);
  return out ? *out : process::CommandOutput{-1, "", out.error().message()};
}

process::CommandOutput sluice(process::Argv args, seconds timeout = seconds(300)) {
  args.insert(args.begin(), kSluice);
  return run(args, "", timeout);
}

std::string missingCapability() {
  if (geteuid() != 0) {
    return "needs root (network namespaces)";
  }
  for (const char* tool : {"ip", "ethtool", "iperf3", "tc", "radclient"}) {
    const auto found = run({"sh", "-c", std::string("command -v ") + tool});
    if (found.exitCode != 0) {
      return std::string(tool) + " is not installed (tools/install-deps.sh)";
    }
  }
  return "";
}

class RadiusLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = missingCapability(); !why.empty()) {
      GTEST_SKIP() << why;
    }
    lockFd_ = ::open("/tmp/sluice-lab.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0666);
    ASSERT_GE(lockFd_, 0);
    ASSERT_EQ(::flock(lockFd_, LOCK_EX), 0);  // the lab's namespace names are fixed
    sluice({"lab", "--state-dir", kLabDir, "down"});
    ASSERT_FALSE(fs::exists("/run/netns/shaper")) << "another lab is up (netns shaper exists)";
    tmp_ = fs::temp_directory_path() / fmt::format("sluice-radius-lab-{}", getpid());
    fs::create_directories(tmp_);
    std::ofstream(tmp_ / "secret") << kSecret << "\n";
    std::ofstream(tmp_ / "lqos.conf") << fmt::format(R"(version = "1.5"
lqos_directory = "."
node_id = "sluice-radius-lab"
node_name = "radius lab"

[bridge]
use_xdp_bridge = false
to_internet = "shp-inet"
to_network = "shp-subs"

[queues]
default_sqm = "cake diffserv4"
uplink_bandwidth_mbps = 1000
downlink_bandwidth_mbps = 1000
generated_pn_download_mbps = 1000
generated_pn_upload_mbps = 1000

[ip_ranges]
allow_subnets = ["100.64.0.0/10", "2001:db8::/32"]

[sluice]
network_json = "network.json"
shaped_devices_csv = "ShapedDevices.csv"
leaf_fallback = "pfifo"

[radius]
enabled = true
listen = "127.0.0.1"
parents = [{{ range = "100.127.0.0/16", node = "{}" }}]

[[radius.clients]]
name = "lab-bng"
source = "127.0.0.1"
secret_file = "{}"
)",
                                                     kAp, (tmp_ / "secret").string());
    const auto up = sluice({"lab", "--state-dir", kLabDir, "up", "--sluiced", kSluiced, "--config",
                            (tmp_ / "lqos.conf").string(), "--network",
                            SLUICE_SOURCE_DIR "/examples/network.json", "--devices",
                            SLUICE_SOURCE_DIR "/examples/ShapedDevices.csv"});
    ASSERT_EQ(up.exitCode, 0) << up.out << up.err;
    auto state = lab::loadLabState(kLabDir);
    ASSERT_TRUE(state) << state.error().message();
    state_ = *state;
    subscriber_ = *IpNet::parse(state_.unknownV4);
  }

  void TearDown() override {
    if (lockFd_ < 0) {
      return;
    }
    if (HasFailure()) {
      std::error_code ec;
      fs::copy_file(kLabDir + "/sluiced.log", "/tmp/radius-lab-sluiced.log",
                    fs::copy_options::overwrite_existing, ec);
      fmt::print("sluiced's log: /tmp/radius-lab-sluiced.log\n");
    }
    sluice({"lab", "--state-dir", kLabDir, "down"});
    fs::remove_all(tmp_);
    ::close(lockFd_);
  }

  /// radclient inside the shaper namespace (sluiced listens on its loopback); one try.
  process::CommandOutput radclient(const std::string& command, const std::string& attrs,
                                   const std::string& secret = kSecret) {
    const std::string port = command == "acct" ? "1813" : "3799";
    return run({"ip", "netns", "exec", lab::kShaperNs, "radclient", "-x", "-t", "2", "-r", "1",
                "127.0.0.1:" + port, command, secret},
               attrs + "\n", seconds(20));
  }

  Json get(const std::string& path) {
    auto r = api::request(state_.socket, "GET", path);
    return r && r->body.is_object() ? r->body : Json::object();
  }

  /// Waits until GET /api/radius reports `circuits` circuits (at most 10 s).
  Json waitCircuits(size_t circuits) {
    Json r;
    for (int i = 0; i < 100; ++i) {
      r = get("/api/radius");
      if (r.value("circuits", size_t{99}) == circuits &&
          r["apply"].value("last_outcome", "") != "") {
        return r;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    ADD_FAILURE() << "radius circuits never became " << circuits << ": " << r.dump(1);
    return r;
  }

  /// iperf3 download to the subscriber, 0.5 s intervals: {start_s, mbps} per interval.
  process::Argv iperfDownload(int secondsLong, uint16_t port = lab::kFirstPort) {
    return {"ip",
            "netns",
            "exec",
            lab::kSubsNs,
            "iperf3",
            "--client",
            lab::kServerV4,
            "--port",
            std::to_string(port),
            "--bind",
            subscriber_.toString(),
            "--time",
            std::to_string(secondsLong),
            "--interval",
            "0.5",
            "--reverse",
            "--connect-timeout",
            "5000",
            "--json"};
  }

  static std::vector<std::pair<double, double>> intervals(const std::string& json) {
    std::vector<std::pair<double, double>> out;
    const Json report = Json::parse(json, nullptr, false);
    if (!report.is_object()) {
      return out;
    }
    for (const Json& i : report.value("intervals", Json::array())) {
      const Json& sum = i["sum"];
      out.emplace_back(sum.value("start", 0.0), sum.value("bits_per_second", 0.0) / 1e6);
    }
    return out;
  }

  /// The median of the 0.5 s intervals inside [from, to] s: one interval of a loaded host's
  /// scheduling hiccup (seen: 2.6 of 4.8 Mbit/s once) does not decide the rate.
  static double median(const std::vector<std::pair<double, double>>& xs, double from, double to) {
    std::vector<double> in;
    for (const auto& [start, mbps] : xs) {
      if (start >= from && start + 0.5 <= to + 1e-6) {
        in.push_back(mbps);
      }
    }
    if (in.empty()) {
      return -1;
    }
    std::ranges::sort(in);
    return in.size() % 2 == 1 ? in[in.size() / 2] : (in[in.size() / 2 - 1] + in[in.size() / 2]) / 2;
  }

  /// Bytes sent by the default classes (minor 2) of every HTB qdisc on the download port, from
  /// `tc -s class show` text ("class htb 3:2 ..." then " Sent N bytes ..."; this tc ignores -j
  /// for classes).
  uint64_t defaultClassBytes() {
    const auto out = run({"ip", "netns", "exec", lab::kShaperNs, "tc", "-s", "class", "show", "dev",
                          lab::kShaperNetworkIf});
    uint64_t bytes = 0;
    bool inDefault = false;
    std::istringstream lines(out.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("class ")) {
        std::istringstream words(line);
        std::string kind, qdisc, handle;
        words >> kind >> qdisc >> handle;
        inDefault = handle.size() > 2 && handle.ends_with(":2");
      } else if (inDefault && line.starts_with(" Sent ")) {
        bytes += std::stoull(line.substr(6));
        inDefault = false;
      }
    }
    return bytes;
  }

  int lockFd_ = -1;
  fs::path tmp_;
  lab::LabState state_;
  IpNet subscriber_;
};

TEST_F(RadiusLab, StartCoaWrongSecretDisconnect) {
  const double share = lab::payloadShare(true);
  const std::string session = R"(Acct-Session-Id = "lab-1", NAS-Identifier = "bng-lab")";
  // 1. Accounting-Start: a 10 Mbit/s download circuit under the AP.
  auto r = radclient("acct", "Acct-Status-Type = Start, " + session +
                                 R"(, User-Name = "radius-sub", Framed-IP-Address = )" +
                                 subscriber_.toString() + R"(, Mikrotik-Rate-Limit = "4M/10M")");
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  ASSERT_NE(r.out.find("Accounting-Response"), std::string::npos) << r.out;
  Json radius = waitCircuits(1);
  ASSERT_EQ(radius.value("circuits", 0), 1) << radius.dump(1);
  const Json& s0 = radius["sessions"][0];
  EXPECT_EQ(s0["circuit"]["parent"], kAp) << s0.dump(1);
  EXPECT_EQ(s0["circuit"]["download_max_mbps"], 10.0);
  // The circuits API (telemetry's list, refreshed each 1 s tick) marks it RADIUS-owned.
  Json circuits;
  bool owned = false;
  for (int i = 0; i < 30 && !owned; ++i) {
    std::this_thread::sleep_for(milliseconds(200));
    circuits = get("/api/circuits?limit=1000");
    for (const Json& c : circuits.value("circuits", Json::array())) {
      owned = owned ||
              (c.value("id", "") == "radius:bng-lab:lab-1" && c.value("owner", "") == "radius");
    }
  }
  EXPECT_TRUE(owned) << circuits.dump(1).substr(0, 2000);

  // The circuit's 10 Mbit/s: median of 0.5 s intervals after the first second, one retry (this
  // 2-core host is shared; a scheduling hiccup once held three intervals at 6.3 Mbit/s).
  double initial = -1;
  std::string initialSeries;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto first = run(iperfDownload(4), "", seconds(30));
    const auto ws = intervals(first.out);
    initial = median(ws, 1.0, 4.0);
    initialSeries.clear();
    for (const auto& [start, mbps] : ws) {
      initialSeries += fmt::format("{:.1f}:{:.2f} ", start, mbps);
    }
    if (std::abs(initial - 10 * share) <= 10 * share * 0.10) {
      break;
    }
  }
  fmt::print(stderr, "after Start: {:.2f} Mbit/s ({})\n", initial, initialSeries);
  EXPECT_NEAR(initial, 10 * share, 10 * share * 0.10) << initialSeries;

  // 2. CoA halves it under load, with a probe through the neighbouring circuit 1001.
  auto probe = lab::startCircuitProbe(state_, "1001", 500);
  ASSERT_TRUE(probe) << probe.error().message();
  const uint64_t appliesBefore = get("/api/status")["bakery"].value("applies", uint64_t{0});
  const auto t0 = Clock::now();
  auto iperf = process::Child::start(iperfDownload(8));
  ASSERT_TRUE(iperf) << iperf.error().message();
  std::this_thread::sleep_for(milliseconds(3500));
  const double coaAt = std::chrono::duration<double>(Clock::now() - t0).count();
  r = radclient("coa", session + R"(, Mikrotik-Rate-Limit = "2M/5M")");
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("CoA-ACK"), std::string::npos) << r.out;
  auto iperfOut = iperf->wait(seconds(30));
  const lab::ProbeReport report = (*probe)->stop();
  ASSERT_TRUE(iperfOut) << iperfOut.error().message();
  const auto xs = intervals(iperfOut->out);
  ASSERT_GE(xs.size(), 14u) << iperfOut->out << iperfOut->err;
  // Before the CoA (skipping slow start): 10 Mbit/s; from 1 s after it: 5 Mbit/s.
  const double before = median(xs, 1.0, coaAt);
  const double after = median(xs, coaAt + 1.0, 8.0);
  std::string series;
  for (const auto& [start, mbps] : xs) {
    series += fmt::format("{:.1f}:{:.2f} ", start, mbps);
  }
  fmt::print(stderr,
             "CoA at {:.2f} s; intervals (start:Mbit/s) {}\nbefore {:.2f}, after {:.2f} "
             "Mbit/s; probe through 1001: {}\n",
             coaAt, series, before, after, report.toJson().dump());
  EXPECT_GT(before, after * 1.5) << series;  // the CoA lowered the rate in this run
  EXPECT_NEAR(after, 5 * share, 5 * share * 0.10) << series;
  EXPECT_EQ(report.lost, 0u) << report.toJson().dump(1);
  EXPECT_GT(report.received, 1000u);
  const Json status = get("/api/status");
  const Json last = status["bakery"]["last_apply"];
  EXPECT_EQ(status["bakery"].value("applies", uint64_t{0}), appliesBefore + 1) << last.dump(1);
  EXPECT_LE(last.value("tc_ops", 99), 2) << last.dump(1);  // the circuit's class, both directions
  EXPECT_NE(last.value("mode", ""), "full") << last.dump(1);

  // 3. A wrong secret: no answer, counted, nothing changes.
  const uint64_t badBefore =
      get("/api/radius")["counters"]["rejected"].value("bad_authenticator", uint64_t{0});
  r = radclient("coa", session + R"(, Mikrotik-Rate-Limit = "1M/1M")", "not-the-secret");
  EXPECT_NE(r.exitCode, 0) << r.out;
  EXPECT_EQ(r.out.find("CoA-ACK"), std::string::npos) << r.out;
  std::this_thread::sleep_for(milliseconds(500));
  radius = get("/api/radius");
  EXPECT_EQ(radius["counters"]["rejected"].value("bad_authenticator", uint64_t{0}), badBefore + 1);
  EXPECT_EQ(radius["sessions"][0]["circuit"]["download_max_mbps"], 5.0) << radius.dump(1);
  EXPECT_EQ(get("/api/status")["bakery"].value("applies", uint64_t{0}), appliesBefore + 1);
  const std::string metrics =
      run({"curl", "-sS", "--unix-socket", state_.socket, "http://sluiced/metrics"}).out;
  EXPECT_NE(metrics.find(fmt::format(
                "sluice_radius_rejected_total{{reason=\"bad-authenticator\"}} {}", badBefore + 1)),
            std::string::npos)
      << metrics.substr(0, 400);
  const auto statusText = sluice({"status", "--socket", state_.socket});
  EXPECT_NE(statusText.out.find("radius: 1 circuits from 1 sessions (0 pending)"),
            std::string::npos)
      << statusText.out;

  // 3b. A restart of sluiced: the session comes back from the state directory (at the CoA's
  // rate) without any accounting, in the first plan: the tree has the circuit's classes when
  // sluiced is ready, and no apply follows the start's.
  const auto classes = [&] {
    const auto out = run({"ip", "netns", "exec", lab::kShaperNs, "tc", "class", "show", "dev",
                          lab::kShaperNetworkIf});
    return std::ranges::count(out.out, '\n');
  };
  const auto classesBefore = classes();
  const auto restarted = sluice({"lab", "--state-dir", kLabDir, "restart"}, seconds(120));
  ASSERT_EQ(restarted.exitCode, 0) << restarted.out << restarted.err;
  EXPECT_EQ(classes(), classesBefore) << "the dynamic circuit's classes are missing at ready";
  radius = waitCircuits(1);
  ASSERT_EQ(radius["sessions"].size(), 1u) << radius.dump(1);
  EXPECT_EQ(radius["sessions"][0]["circuit"]["download_max_mbps"], 5.0) << radius.dump(1);
  EXPECT_EQ(radius["apply"].value("last_outcome", ""), "applied") << radius.dump(1);
  std::this_thread::sleep_for(milliseconds(1500));  // the first batch and a re-map have run
  const Json restartStatus = get("/api/status");
  EXPECT_EQ(restartStatus["last_reload"].value("trigger", ""), "startup")
      << "an apply after the start's: " << restartStatus["last_reload"].dump();
  std::ifstream logFile(kLabDir + "/sluiced.log");
  std::stringstream logText;
  logText << logFile.rdbuf();
  const std::string log = logText.str();
  const size_t readyAt = log.rfind("sluiced: ready: ");  // the shaper's, not "ha: ready: "
  ASSERT_NE(readyAt, std::string::npos) << log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
  const std::string readyLine = log.substr(readyAt, log.find('\n', readyAt) - readyAt);
  EXPECT_NE(readyLine.find("overlay: 1 dynamic circuits"), std::string::npos) << readyLine;
  EXPECT_EQ(log.find("reload (radius)", readyAt), std::string::npos) << log.substr(readyAt, 3000);

  // 4. Disconnect-Request: the circuit goes; the address falls to the default class.
  r = radclient("disconnect", session);
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Disconnect-ACK"), std::string::npos) << r.out;
  waitCircuits(0);
  EXPECT_EQ(get("/api/radius")["sessions"].size(), 0u);
  const uint64_t defaultBefore = defaultClassBytes();
  auto unshaped = run(iperfDownload(3, lab::kFirstPort + 1), "", seconds(30));
  const uint64_t defaultBytes = defaultClassBytes() - defaultBefore;
  const auto ys = intervals(unshaped.out);
  const double freeMbps = median(ys, 1.0, 3.0);
  const Json end = Json::parse(unshaped.out, nullptr, false);
  ASSERT_TRUE(end.is_object() && end.contains("end")) << unshaped.out << unshaped.err;
  const double sentBytes = end["end"]["sum_received"].value("bytes", 0.0);
  fmt::print(stderr,
             "after Disconnect: {:.2f} Mbit/s, {} bytes in the default classes ({} by "
             "iperf3)\n",
             freeMbps, defaultBytes, sentBytes);
  EXPECT_GT(freeMbps, 5 * 1.3) << unshaped.out;
  EXPECT_GE(static_cast<double>(defaultBytes), 0.9 * sentBytes);
}

}  // namespace
}  // namespace sluice
