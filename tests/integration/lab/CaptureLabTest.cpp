// `sluice capture` on the lab (src/capture, daemon/CaptureService.h): a known ICMP burst to one
// circuit while another circuit has traffic of its own; tcpdump reads the file back: only the
// requested subscriber's packets, exactly the burst's echo requests and replies, wall-clock
// timestamps within 1 s of the test's clock, mode 0600. Also through the API (control socket):
// the concurrency limit (429) and the retention (file and capture gone after it). Needs root,
// tcpdump, ping and curl; hold /tmp/sluice-lab.lock while it runs.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "LabTestSupport.h"
#include "lab/Lab.h"

namespace sluice::labtest {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::seconds;

const std::string kStateDir = "/run/sluice-lab-capture-test";
// The demo ISP's 1001 (100.64.1.5, 2001:db8:100:1005::/64) and 1002 (100.64.1.10).
const std::string kTarget = "100.64.1.5";
const std::string kOther = "100.64.1.10";
constexpr int kBurst = 20;  // echo requests; as many replies

double wallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class LabCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    skip_ = missingCapability({"tcpdump", "ping", "curl"});
    if (!skip_.empty()) {
      GTEST_SKIP() << skip_;
    }
    sluice({"lab", "--state-dir", kStateDir, "down"});
    // The demo's config with a small limit and a short retention, so both can be seen.
    dir_ = ::testing::TempDir() + "sluice-capture-test";
    fs::create_directories(dir_);
    std::ifstream in(kDemoConfig);
    std::stringstream text;
    text << in.rdbuf() << "\n[capture]\nmax_concurrent = 2\nretention_seconds = 3\n";
    std::ofstream(dir_ + "/lqos.conf") << text.str();
  }
  void TearDown() override {
    if (skip_.empty()) {
      sluice({"lab", "--state-dir", kStateDir, "down"});
    }
  }
  CommandOutput api(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    std::string line = "curl -sS --max-time 20 -w '\\n%{http_code}' --unix-socket " + socket_ +
                       " -X " + method + " http://sluiced" + path;
    if (!body.empty()) {
      line += " -H 'Content-Type: application/json' -d '" + body + "'";
    }
    return sh(line);
  }
  std::string skip_;
  std::string dir_;
  std::string socket_;
};

TEST_F(LabCapture, BurstToOneCircuitIsAllTheFileHolds) {
  const CommandOutput up =
      sluice({"lab", "--state-dir", kStateDir, "up", "--config", dir_ + "/lqos.conf", "--network",
              SLUICE_SOURCE_DIR "/examples/network.json", "--devices",
              SLUICE_SOURCE_DIR "/examples/ShapedDevices.csv", "--sluiced", kSluiced, "--no-ui"});
  ASSERT_EQ(up.exitCode, 0) << up.out << up.err;
  socket_ = kStateDir + "/sluiced.sock";

  // The other circuit's traffic runs through the whole capture.
  auto other = process::Child::start(
      {"ip", "netns", "exec", "isp", "ping", "-q", "-c", "80", "-i", "0.05", kOther});
  ASSERT_TRUE(other.has_value());
  const double begin = wallNow();
  const std::string file = dir_ + "/burst.pcap";
  fs::remove(file);
  auto capture = process::Child::start(
      {kSluice, "capture", "--socket", socket_, "--circuit", "1001", "--seconds", "3", "-w", file});
  ASSERT_TRUE(capture.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // the capture is open by now
  const CommandOutput burst =
      sh(fmt::format("ip netns exec isp ping -q -c {} -i 0.05 -W 1 {}", kBurst, kTarget));
  EXPECT_NE(burst.out.find(fmt::format("{} received", kBurst)), std::string::npos) << burst.out;
  auto done = capture->wait(seconds(30));
  const double end = wallNow();
  ASSERT_TRUE(done.has_value());
  ASSERT_EQ(done->exitCode, 0) << done->out << done->err;
  EXPECT_NE(done->out.find("0 dropped by the kernel"), std::string::npos) << done->out;

  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  // Every packet is the subscriber's; the echo packets are exactly the burst.
  const CommandOutput all = sh("tcpdump -r " + file + " -nn -tt 2>/dev/null");
  ASSERT_EQ(all.exitCode, 0) << all.err;
  int lines = 0;
  std::istringstream in(all.out);
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_EQ(line.find(kOther + " "), std::string::npos) << "another subscriber: " << line;
    EXPECT_TRUE(line.find(kTarget) != std::string::npos ||
                line.find("2001:db8:100:1005:") != std::string::npos)
        << "not the subscriber's: " << line;
    const double t = std::stod(line.substr(0, line.find(' ')));
    EXPECT_GE(t, begin - 1) << line;
    EXPECT_LE(t, end + 1) << line;
  }
  const CommandOutput echoes = sh("tcpdump -r " + file +
                                  " -nn 'icmp[icmptype] == icmp-echo or "
                                  "icmp[icmptype] == icmp-echoreply' 2>/dev/null | wc -l");
  EXPECT_EQ(std::stoi(echoes.out), 2 * kBurst) << all.out;
  EXPECT_GE(lines, 2 * kBurst);

  // The API: the capture's status counts what the file holds.
  const CommandOutput list = api("GET", "/api/capture");
  const Json captures = Json::parse(list.out.substr(0, list.out.rfind('\n')), nullptr, false);
  ASSERT_TRUE(captures.is_object()) << list.out;
  ASSERT_EQ(captures["captures"].size(), 1u) << list.out;
  const Json& status = captures["captures"][0];
  EXPECT_EQ(status["state"], "done");
  EXPECT_EQ(status["packets"].get<int>(), lines);
  EXPECT_EQ(status["kernel_drops"].get<int>(), 0);
  EXPECT_EQ(status["interface"], "shp-subs");
  const std::string id = status["id"];
  const std::string stored = kStateDir + "/state/captures/" + id + ".pcap";
  ASSERT_EQ(::stat(stored.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_uid, ::geteuid());

  // Two may run at once ([capture] max_concurrent = 2); a third is refused.
  for (int i = 0; i < 2; ++i) {
    const CommandOutput ok =
        api("POST", "/api/capture", R"({"address":"100.64.1.10","seconds":2})");
    EXPECT_TRUE(ok.out.ends_with("\n202")) << ok.out;
  }
  const CommandOutput refused =
      api("POST", "/api/capture", R"({"address":"100.64.1.10","seconds":2})");
  EXPECT_TRUE(refused.out.ends_with("\n429")) << refused.out;
  EXPECT_TRUE(api("POST", "/api/capture", R"({"circuit":"nope"})").out.ends_with("\n404"));
  EXPECT_TRUE(api("POST", "/api/capture", R"({"address":"1.2.3"})").out.ends_with("\n422"));

  // Retention (3 s after the end): the first capture's file and entry go away.
  bool gone = false;
  for (int i = 0; i < 60 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gone = !fs::exists(stored) && api("GET", "/api/capture/" + id).out.ends_with("\n404");
  }
  EXPECT_TRUE(gone) << "the capture outlived its retention";
  (void)other->wait(seconds(10));
}

}  // namespace
}  // namespace sluice::labtest
