// delay_probe_active's ICMP probe on a real kernel (root): the process moves into a network
// namespace of its own at start (gone with the process, so nothing is left behind on failure) and
// pings its own loopback over raw and datagram ICMP sockets, IPv4 and IPv6, then an address that
// never answers and one without a route.

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "stormguard/ActivePinger.h"
#include "stormguard/IcmpProbe.h"

namespace sluice::stormguard {
namespace {

void setPingGroupRange(const char* range) {
  std::ofstream("/proc/sys/net/ipv4/ping_group_range") << range;
}

class IcmpProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root (a network namespace, raw sockets)";
    }
    setPingGroupRange("1\t0");  // the kernel's default: no datagram ICMP sockets
  }
};

TEST_F(IcmpProbeTest, RawSocketsTimeLoopbackEchoesV4AndV6) {
  for (const char* target : {"127.0.0.1", "::1"}) {
    auto probe = IcmpProbe::open(target);
    ASSERT_TRUE(probe) << probe.error().message();
    EXPECT_EQ((*probe)->kind(), IcmpProbe::Kind::Raw) << target;
    for (int i = 0; i < 3; ++i) {
      auto rtt = (*probe)->ping(1.0);
      ASSERT_TRUE(rtt) << rtt.error().message();
      ASSERT_TRUE(rtt->has_value()) << target << ": no reply from loopback";
      EXPECT_GT(**rtt, 0);
      EXPECT_LT(**rtt, 500) << target;
    }
  }
}

TEST_F(IcmpProbeTest, DatagramSocketsWhenThePingGroupRangeAllowsThem) {
  setPingGroupRange("0\t0");  // root's group
  for (const char* target : {"127.0.0.1", "::1"}) {
    auto probe = IcmpProbe::open(target);
    ASSERT_TRUE(probe) << probe.error().message();
    EXPECT_EQ((*probe)->kind(), IcmpProbe::Kind::Datagram) << target;
    auto rtt = (*probe)->ping(1.0);
    ASSERT_TRUE(rtt) << rtt.error().message();
    EXPECT_TRUE(rtt->has_value()) << target;
  }
}

TEST_F(IcmpProbeTest, AnUnansweredEchoTimesOutAndNoRouteIsAnError) {
  ASSERT_EQ(std::system("ip link add sgp0 type veth peer name sgp1 && ip addr add 192.0.2.1/24 dev sgp0 && "
                        "ip link set sgp0 up && ip link set sgp1 up"),
            0);
  auto silent = IcmpProbe::open("192.0.2.99");  // on a veth whose peer has no address
  ASSERT_TRUE(silent) << silent.error().message();
  const auto t0 = std::chrono::steady_clock::now();
  auto rtt = (*silent)->ping(0.3);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(rtt) << rtt.error().message();
  EXPECT_FALSE(rtt->has_value());
  EXPECT_GE(waited, 0.29);
  EXPECT_LT(waited, 1.5);

  auto unrouted = IcmpProbe::open("203.0.113.7");  // no default route in this namespace
  ASSERT_TRUE(unrouted);
  auto failed = (*unrouted)->ping(0.3);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().errnum, ENETUNREACH) << failed.error().message();
  std::system("ip link del sgp0");
}

TEST_F(IcmpProbeTest, ThePingerKeepsTheNewestReplyAndReportsItsCounts) {
  ActivePinger pinger;
  Settings s;
  s.enabled = true;
  s.strategy = "delay_probe_active";
  s.activePingTarget = "127.0.0.1";
  s.activePingIntervalSeconds = 0.2;  // floored at 1 s, LibreQoS's minimum
  const auto t0 = std::chrono::steady_clock::now();
  pinger.configure(s);
  nlohmann::json status;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
    status = pinger.status();
    if (status.is_object() && status["answered"].get<int>() >= 2) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["target"], "127.0.0.1");
  EXPECT_EQ(status["interval_s"], 1.0);
  EXPECT_EQ(status["socket"], "raw");
  EXPECT_EQ(status["answered"], 2) << status.dump();
  EXPECT_EQ(status["timeouts"], 0) << status.dump();
  EXPECT_GE(took, 0.95) << "the second echo came before the 1 s floor";
  ASSERT_TRUE(pinger.latestMs().has_value());
  EXPECT_LT(*pinger.latestMs(), 500);

  s.activePingTarget = "192.0.2.250";  // a new target restarts the loop and forgets the sample
  pinger.configure(s);
  EXPECT_FALSE(pinger.latestMs().has_value());
  s.strategy = "delay_probe";
  pinger.configure(s);
  EXPECT_TRUE(pinger.status().is_null());
}

}  // namespace
}  // namespace sluice::stormguard

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() == 0) {
    if (::unshare(CLONE_NEWNET) != 0 || std::system("ip link set lo up") != 0) {
      std::perror("a private network namespace");
      return 1;
    }
  }
  return RUN_ALL_TESTS();
}
