// NetSnmpWalker (net-snmp's library) against a real agent: Debian's snmpd on 127.0.0.1 at a
// free UDP port, its own config only, serving sysName and an AirMax station table through a
// `pass` script (tests/fakes/snmp_station_table.py). Skipped, with the reason, where snmpd is
// not installed (tools/install-deps.sh installs it).

#include "integrations/SonarSnmp.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "GoldenFiles.h"
#include "VendorServer.h"

namespace sluice::integrations {
namespace {

constexpr const char* kSnmpd = "/usr/sbin/snmpd";

int freeUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class SnmpdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kSnmpd, X_OK) != 0) {
      GTEST_SKIP() << kSnmpd << " is not installed (Debian package snmpd)";
    }
    port_ = freeUdpPort();
    const std::string table = scratch_.write(
        "stations.txt",
        ".1.3.6.1.4.1.41112.1.4.7.1.1.1.1 octet AA BB CC 00 00 01\n"
        ".1.3.6.1.4.1.41112.1.4.7.1.1.1.2 octet AA BB CC 00 00 07\n"
        ".1.3.6.1.4.1.41112.1.4.7.1.1.1.3 string aa:bb:cc:00:00:09\n");
    const std::string conf = scratch_.write(
        "snmpd.conf",
        fmt::format("agentAddress udp:127.0.0.1:{}\n"
                    "rocommunity sluice-test 127.0.0.1\n"
                    "sysName ridge-ap-test\n"
                    "pass .1.3.6.1.4.1.41112.1.4.7.1.1.1 /usr/bin/env python3 {}/tests/fakes/"
                    "snmp_station_table.py {}\n",
                    port_, SLUICE_SOURCE_DIR, table));
    std::vector<std::string> args{kSnmpd, "-f", "-C", "-c", conf, "-Lf",
                                  scratch_.path() + "/snmpd.log", "-p",
                                  scratch_.path() + "/snmpd.pid"};
    const std::string persistent = scratch_.path() + "/persistent";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      setenv("SNMP_PERSISTENT_DIR", persistent.c_str(), 1);
      setenv("MIBS", "", 1);
      // snmpd's own start-up chatter (MIB modules Debian does not ship) goes to its log file.
      if (FILE* log = std::fopen((persistent + ".stderr").c_str(), "w"); log != nullptr) {
        dup2(fileno(log), STDERR_FILENO);
      }
      std::vector<char*> argv;
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      execv(kSnmpd, argv.data());
      _exit(127);
    }
    // Ready once it answers sysName.
    NetSnmpWalker probe({.timeoutMs = 200, .retries = 0});
    for (int i = 0; i < 50; ++i) {
      if (auto name = probe.walk(agent(), "sluice-test", kSysNameOid); name && !name->empty()) {
        return;
      }
    }
    FAIL() << "snmpd did not answer; log: " << testing::readText(scratch_.path() + "/snmpd.log");
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 50 && waitpid(pid_, nullptr, WNOHANG) != pid_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (i == 49) {
          kill(pid_, SIGKILL);
          waitpid(pid_, nullptr, 0);
        }
      }
    }
  }

  std::string agent() const { return fmt::format("udp:127.0.0.1:{}", port_); }

  testing::ScratchDir scratch_;
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST_F(SnmpdTest, WalksTheStationTableOfARealAgent) {
  NetSnmpWalker walker({.timeoutMs = 1000, .retries = 1});
  auto walk = walker.walk(agent(), "sluice-test", kAirMaxStationMacOid);
  ASSERT_TRUE(walk) << walk.error().message();
  ASSERT_EQ(walk->size(), 3u);
  EXPECT_EQ((*walk)[0].oid, ".1.3.6.1.4.1.41112.1.4.7.1.1.1.1");
  EXPECT_TRUE((*walk)[0].octets);
  EXPECT_EQ(stationMacs(*walk), (std::vector<std::string>{
                                    "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:07", "aa:bb:cc:00:00:09"}));
}

TEST_F(SnmpdTest, ReadsSysName) {
  NetSnmpWalker walker;
  auto walk = walker.walk(agent(), "sluice-test", kSysNameOid);
  ASSERT_TRUE(walk) << walk.error().message();
  ASSERT_EQ(walk->size(), 1u);
  EXPECT_EQ((*walk)[0].oid, ".1.3.6.1.2.1.1.5.0");
  EXPECT_EQ((*walk)[0].value, "ridge-ap-test");
}

TEST_F(SnmpdTest, AnUnservedSubtreeIsEmptyNotAnError) {
  NetSnmpWalker walker;
  auto walk = walker.walk(agent(), "sluice-test", kLtuStationMacOid);
  ASSERT_TRUE(walk) << walk.error().message();
  EXPECT_TRUE(walk->empty());
}

TEST_F(SnmpdTest, AWrongCommunityTimesOut) {
  NetSnmpWalker walker({.timeoutMs = 200, .retries = 0});
  auto walk = walker.walk(agent(), "not-the-community", kSysNameOid);
  ASSERT_FALSE(walk);
  EXPECT_EQ(walk.error().errnum, ETIMEDOUT) << walk.error().message();
}

TEST_F(SnmpdTest, PollsAccessPointsInParallel) {
  NetSnmpWalker walker({.timeoutMs = 1000, .retries = 1});
  std::vector<SonarAccessPoint> aps{{"501", "10", "45", agent()},
                                    {"502", "10", "45", agent()},
                                    {"601", "11", "77", agent()},   // LTU: table not served
                                    {"701", "12", "99", agent()}};  // no known model
  auto polls = pollAccessPoints(walker, aps, "sluice-test", {"45"}, {"77"}, 4);
  ASSERT_EQ(polls.size(), 4u);
  for (int i : {0, 1}) {
    EXPECT_EQ(polls[i].error, "");
    EXPECT_EQ(polls[i].name, "ridge-ap-test");
    EXPECT_EQ(polls[i].cpeMacs.size(), 3u);
  }
  EXPECT_EQ(polls[2].error, "");
  EXPECT_TRUE(polls[2].cpeMacs.empty());
  EXPECT_NE(polls[3].error.find("model 99"), std::string::npos);
}

}  // namespace
}  // namespace sluice::integrations
