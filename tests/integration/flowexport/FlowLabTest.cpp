// Flow export end to end: the namespace lab (docs/lab.md) with sluiced exporting NetFlow v5, v9
// and IPFIX at once to three nfcapd collectors on the shaper namespace's loopback, while an iperf3
// TCP download and an iperf3 UDP upload of known size cross a circuit. The ground truth is a
// tshark capture on the subscriber's port (each IP packet's total length, per direction); every
// collector's records must carry each flow's addresses, ports, protocol, direction and bytes
// within 1 %. Rates stay below the circuit's ceilings, so the shaper drops nothing that the
// capture would miss. Holds /tmp/sluice-lab.lock for the whole run (the lab's names are fixed).

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "CollectorSupport.h"

namespace sluice::flowexport {
namespace {

namespace fs = std::filesystem;
using process::Argv;

const std::string kSluice = SLUICE_BINARY_DIR "/src/cli/sluice";
const std::string kSluiced = SLUICE_BINARY_DIR "/src/daemon/sluiced";
const std::string kStateDir = "/run/sluice-flowlab";
const Argv kShaper{"ip", "netns", "exec", "shaper"};
const Argv kSubs{"ip", "netns", "exec", "subs"};
constexpr const char* kServer = "198.51.100.1";      // the lab's Internet-side iperf3 servers
constexpr const char* kSubscriber = "100.64.10.10";  // circuit e2e-10: 10/4 Mbit/s
constexpr uint16_t kPorts[] = {2055, 2056, 4739};    // v5, v9, IPFIX collectors in the shaper ns

/// The lab lock, opened close-on-exec so that no daemon the test starts inherits it.
class LabLock {
 public:
  LabLock() {
    fd_ = open("/tmp/sluice-lab.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) {
      flock(fd_, LOCK_EX);
    }
  }
  ~LabLock() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }

 private:
  int fd_ = -1;
};

process::CommandOutput sluice(Argv args) {
  args.insert(args.begin(), {kSluice, "lab", "--state-dir", kStateDir});
  auto out = process::run(args, {}, std::chrono::minutes(3));
  return out ? *out : process::CommandOutput{-1, "", out.error().message()};
}

std::string missingCapability() {
  if (geteuid() != 0) {
    return "needs root (network namespaces)";
  }
  for (const char* tool : {"ip", "ethtool", "iperf3", "tc", "nfcapd", "nfdump", "tshark"}) {
    auto found = process::run({"sh", "-c", std::string("command -v ") + tool});
    if (!found || found->exitCode != 0) {
      return std::string(tool) + " is not installed (tools/install-deps.sh)";
    }
  }
  if (!fs::exists(kSluice) || !fs::exists(kSluiced)) {
    return "sluice and sluiced are not built";
  }
  return "";
}

/// The e2e ISP's config and inputs in `dir`, plus [flows] exporting to the three collectors.
std::string writeConfig(const std::string& dir) {
  const std::string data = SLUICE_TEST_DATA_DIR "/e2e/";
  fs::copy_file(data + "network.json", dir + "/network.json");
  fs::copy_file(data + "ShapedDevices.csv", dir + "/ShapedDevices.csv");
  std::ifstream in(data + "lqos.conf");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text += fmt::format(
      "\n[flows]\nnetflow_enabled = true\nflow_timeout_seconds = 2\n"
      "template_refresh_seconds = 1\nnetflow_version = 9\n"
      "netflow_collectors = [\"127.0.0.1:{}/5\", \"127.0.0.1:{}/9\", \"127.0.0.1:{}/10\"]\n",
      kPorts[0], kPorts[1], kPorts[2]);
  const std::string path = dir + "/lqos.conf";
  std::ofstream(path) << text;
  return path;
}

/// Runs iperf3 in subs bound to the subscriber; returns the data stream's client port.
uint16_t iperf(const Argv& extra) {
  Argv argv = kSubs;
  for (const char* a : {"iperf3", "-c", kServer, "-B", kSubscriber, "-J"}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto out = process::run(argv, {}, std::chrono::seconds(60));
  EXPECT_TRUE(out && out->exitCode == 0) << process::describe(argv) << "\n"
                                         << (out ? out->out + out->err : out.error().message());
  if (!out || out->exitCode != 0) {
    return 0;
  }
  const auto json = nlohmann::json::parse(out->out, nullptr, false);
  return json.is_discarded() ? 0 : json["start"]["connected"][0]["local_port"].get<uint16_t>();
}

using FlowId = std::tuple<std::string, std::string, uint16_t, uint16_t, int>;
FlowId idOf(const test::DecodedFlow& d) {
  return {d.src, d.dst, d.srcPort, d.dstPort, d.protocol};
}

TEST(FlowLab, IperfTcpAndUdpFlowsMatchEveryCollector) {
  if (const std::string why = missingCapability(); !why.empty()) {
    GTEST_SKIP() << why;
  }
  LabLock lock;
  const std::string dir = fs::temp_directory_path() / fmt::format("sluice-flowlab-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string config = writeConfig(dir);
  sluice({"down"});
  struct Down {
    std::string dir;
    ~Down() {
      sluice({"down"});
      fs::remove_all(dir);
    }
  } down{dir};
  const auto up = sluice({"up", "--sluiced", kSluiced, "--config", config, "--no-ui"});
  ASSERT_EQ(up.exitCode, 0) << up.out << up.err;

  std::vector<test::Nfcapd> collectors;
  for (uint16_t port : kPorts) {
    auto c = test::Nfcapd::start(port, kShaper);
    ASSERT_TRUE(c.has_value()) << c.error().message();
    collectors.push_back(std::move(*c));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // templates (every 1 s) arrive
  auto capture = test::TsharkCapture::start(kSubs, "subs0", fmt::format("host {}", kServer));
  ASSERT_TRUE(capture.has_value()) << capture.error().message();

  // TCP download of 2 MB at 4 Mbit/s (ceil 10), UDP upload of 500 datagrams at 2 Mbit/s (ceil 4).
  const uint16_t tcpPort = iperf({"-p", "5201", "-R", "-b", "4M", "-n", "2M"});
  const uint16_t udpPort = iperf({"-p", "5202", "-u", "-b", "2M", "-l", "1000", "-n", "500000"});
  ASSERT_NE(tcpPort, 0);
  ASSERT_NE(udpPort, 0);
  auto truth = capture->stopAndSumIpLengths();
  ASSERT_TRUE(truth.has_value()) << truth.error().message();
  // TCP ends with FIN (exported after 1 s of quiet), UDP when idle for flow_timeout_seconds.
  std::this_thread::sleep_for(std::chrono::seconds(5));

  std::map<FlowId, test::DecodedFlow> want;
  for (const test::DecodedFlow& d : *truth) {
    const bool tcp = d.protocol == 6 && (d.srcPort == tcpPort || d.dstPort == tcpPort);
    const bool udp = d.protocol == 17 && (d.srcPort == udpPort || d.dstPort == udpPort);
    if (tcp || udp) {
      want[idOf(d)] = d;
    }
  }
  // Both directions of the TCP flow, at least the upload of the UDP flow.
  ASSERT_GE(want.size(), 3u);
  const FlowId download{kServer, kSubscriber, 5201, tcpPort, 6};
  const FlowId udpUpload{kSubscriber, kServer, udpPort, 5202, 17};
  ASSERT_TRUE(want.contains(download));
  ASSERT_TRUE(want.contains(udpUpload));
  EXPECT_GT(want[download].bytes, 2'000'000u);
  EXPECT_NEAR(static_cast<double>(want[udpUpload].bytes), 500 * 1028.0, 500 * 1028.0 * 0.01);

  // sluiced's /metrics (over its control socket) counts what it sent to each collector.
  auto metrics = process::run(
      {"curl", "-sf", "--unix-socket", kStateDir + "/sluiced.sock", "http://sluiced/metrics"});
  ASSERT_TRUE(metrics && metrics->exitCode == 0) << "GET /metrics failed";
  for (size_t i = 0; i < 3; ++i) {
    const std::string prefix = fmt::format(
        "sluice_flow_export_records_total{{collector=\"127.0.0.1:{}\",version=\"{}\","
        "result=\"sent\"}} ",
        kPorts[i],
        i == 0   ? 5
        : i == 1 ? 9
                 : 10);
    const size_t at = metrics->out.find(prefix);
    ASSERT_NE(at, std::string::npos) << prefix << "\n" << metrics->out;
    EXPECT_GE(std::stoull(metrics->out.substr(at + prefix.size())), want.size()) << prefix;
  }

  const char* names[] = {"nfdump v5", "nfdump v9", "nfdump IPFIX"};
  for (size_t i = 0; i < collectors.size(); ++i) {
    std::string log;
    auto decoded = collectors[i].stopAndRead(log);
    ASSERT_TRUE(decoded.has_value()) << names[i] << ": " << decoded.error().message();
    std::map<FlowId, test::DecodedFlow> got;
    for (const test::DecodedFlow& d : *decoded) {
      test::DecodedFlow& g = got[idOf(d)];
      g.bytes += d.bytes;
      g.packets += d.packets;
      g.input = d.input;
      g.output = d.output;
      g.direction = d.direction;
    }
    for (const auto& [id, w] : want) {
      SCOPED_TRACE(fmt::format("{}: {}:{} -> {}:{} proto {}", names[i], w.src, w.srcPort, w.dst,
                               w.dstPort, w.protocol));
      ASSERT_TRUE(got.contains(id)) << "no record; nfcapd said:\n" << log;
      const test::DecodedFlow& g = got[id];
      std::printf(
          "%-13s %s:%u -> %s:%u proto %d: captured %llu bytes / %llu packets, "
          "collector %llu / %llu\n",
          names[i], w.src.c_str(), w.srcPort, w.dst.c_str(), w.dstPort, w.protocol,
          static_cast<unsigned long long>(w.bytes), static_cast<unsigned long long>(w.packets),
          static_cast<unsigned long long>(g.bytes), static_cast<unsigned long long>(g.packets));
      EXPECT_NEAR(static_cast<double>(g.bytes), static_cast<double>(w.bytes), w.bytes * 0.01);
      const bool isDownload = w.src == kServer;
      EXPECT_EQ(g.input, isDownload ? 1u : 2u);
      EXPECT_EQ(g.output, isDownload ? 2u : 1u);
      if (i > 0) {  // v9 and IPFIX carry flowDirection; v5 has only the interfaces
        EXPECT_EQ(g.direction, isDownload ? 0 : 1);
      }
    }
    EXPECT_NE(log.find("Sequence Errors: 0"), std::string::npos) << names[i] << "\n" << log;
  }
}

}  // namespace
}  // namespace sluice::flowexport
