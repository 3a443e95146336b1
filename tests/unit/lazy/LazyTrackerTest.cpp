// LazyTracker: longest-prefix host -> circuit, activation on byte growth (threshold), baseline on
// the first tick, expiry after lazy_expire_seconds (0 = never), reload carry-over, revert.

#include <gtest/gtest.h>

#include "lazy/LazyTracker.h"

namespace sluice::lazy {
namespace {

using config::LazyQueues;
using Clock = LazyTracker::Clock;
using std::chrono::seconds;

IpNet net(const char* text) {
  auto n = IpNet::parse(text);
  EXPECT_TRUE(n) << text;
  return n.value_or(IpNet{});
}

/// Circuits "wide" (10.0.0.0/8), "narrow" (10.1.0.0/16), "v6" (2001:db8:1::/48), "host"
/// (10.1.2.3).
plan::QueuePlan fourCircuits() {
  plan::QueuePlan p;
  for (const char* id : {"wide", "narrow", "v6", "host"}) {
    p.circuits.push_back(plan::CircuitPlacement{.circuitId = id});
  }
  const std::pair<const char*, int32_t> addrs[] = {
      {"10.0.0.0/8", 0}, {"10.1.0.0/16", 1}, {"2001:db8:1::/48", 2}, {"10.1.2.3", 3}};
  for (const auto& [text, c] : addrs) {
    p.addresses.push_back(plan::AddressMapping{.prefix = net(text), .circuit = c});
  }
  return p;
}

dataplane::HostCounters host(const char* address, uint64_t down, uint64_t up = 0) {
  dataplane::HostCounters h;
  h.address = net(address);
  h.bytes = {down, up};
  return h;
}

TEST(LazyTracker, LongestPrefixWins) {
  LazyTracker t;
  t.setPlan(fourCircuits(), Clock::now());
  EXPECT_EQ(t.circuitOf(net("10.9.9.9")), 0);
  EXPECT_EQ(t.circuitOf(net("10.1.9.9")), 1);
  EXPECT_EQ(t.circuitOf(net("10.1.2.3")), 3);
  EXPECT_EQ(t.circuitOf(net("2001:db8:1:ffff::7")), 2);
  EXPECT_EQ(t.circuitOf(net("2001:db8:2::7")), -1);
  EXPECT_EQ(t.circuitOf(net("192.0.2.1")), -1);
}

TEST(LazyTracker, ActivatesOnGrowthAfterTheBaselineAndExpiresWhenIdle) {
  LazyTracker t({.mode = LazyQueues::Full, .expire = seconds(3)});
  const auto t0 = Clock::now();
  t.setPlan(fourCircuits(), t0);
  // First tick: every host is a baseline, nothing activates.
  std::vector<dataplane::HostCounters> hosts = {host("10.1.7.7", 5000), host("10.2.0.1", 100)};
  auto d = t.observe(hosts, t0);
  EXPECT_FALSE(d.changed());
  EXPECT_TRUE(t.active().empty());
  // Growth on 10.1.7.7 (narrow), none on 10.2.0.1; a new host 192.0.2.1 matches nothing.
  hosts = {host("10.1.7.7", 5100), host("10.2.0.1", 100), host("192.0.2.1", 9)};
  d = t.observe(hosts, t0 + seconds(1));
  EXPECT_EQ(d.activated, std::vector<std::string>{"narrow"});
  EXPECT_EQ(d.unmatched, 1u);
  EXPECT_EQ(t.active(), ActiveCircuits{"narrow"});
  // A host appearing after the baseline counts with all its bytes (upload too).
  hosts.push_back(host("2001:db8:1::9", 0, 64));
  d = t.observe(hosts, t0 + seconds(2));
  EXPECT_EQ(d.activated, std::vector<std::string>{"v6"});
  // Traffic keeps "narrow" alive; "v6" idles out 3 s after its activation.
  hosts[0] = host("10.1.7.7", 6000);
  d = t.observe(hosts, t0 + seconds(4));
  EXPECT_TRUE(d.expired.empty());
  d = t.observe(hosts, t0 + seconds(5));
  EXPECT_EQ(d.expired, std::vector<std::string>{"v6"});
  d = t.observe(hosts, t0 + seconds(7));
  EXPECT_EQ(d.expired, std::vector<std::string>{"narrow"});
  EXPECT_TRUE(t.active().empty());
}

TEST(LazyTracker, ThresholdAndNeverExpire) {
  LazyTracker t({.mode = LazyQueues::Htb, .expire = seconds(0), .thresholdBytes = 1000});
  const auto t0 = Clock::now();
  t.setPlan(fourCircuits(), t0);
  std::vector<dataplane::HostCounters> hosts = {host("10.1.2.3", 0)};
  t.observe(hosts, t0);
  hosts[0] = host("10.1.2.3", 600, 400);  // exactly the threshold: not more than it
  EXPECT_FALSE(t.observe(hosts, t0 + seconds(1)).changed());
  hosts[0] = host("10.1.2.3", 2100, 401);  // 1,501 bytes in this tick
  EXPECT_EQ(t.observe(hosts, t0 + seconds(2)).activated, std::vector<std::string>{"host"});
  EXPECT_FALSE(t.observe(hosts, t0 + seconds(100000)).changed());  // 0 = never expire
  EXPECT_EQ(t.active(), ActiveCircuits{"host"});
}

TEST(LazyTracker, EvictedHostCountsFromZeroAndNoModeNeverActivates) {
  LazyTracker t({.mode = LazyQueues::No});
  const auto t0 = Clock::now();
  t.setPlan(fourCircuits(), t0);
  std::vector<dataplane::HostCounters> hosts = {host("10.3.0.1", 1000)};
  t.observe(hosts, t0);
  hosts[0] = host("10.3.0.1", 10);
  EXPECT_FALSE(t.observe(hosts, t0 + seconds(1)).changed());
  t.setOptions({.mode = LazyQueues::Full, .expire = seconds(60)});
  hosts[0] = host("10.3.0.1", 5);  // went down: re-created entry, 5 bytes of growth
  EXPECT_EQ(t.observe(hosts, t0 + seconds(2)).activated, std::vector<std::string>{"wide"});
}

TEST(LazyTracker, ReloadCarriesTheActiveSetByIdAndRevertUndoesATick) {
  LazyTracker t({.mode = LazyQueues::Full, .expire = seconds(10)});
  const auto t0 = Clock::now();
  t.setPlan(fourCircuits(), t0);
  t.setActive({"wide", "v6", "gone"}, t0);
  EXPECT_EQ(t.active(), (ActiveCircuits{"wide", "v6"}));
  // New plan without "v6" and with the circuits in another order.
  auto p = fourCircuits();
  p.circuits.erase(p.circuits.begin() + 2);
  p.addresses.erase(p.addresses.begin() + 2);
  p.addresses[2].circuit = 2;
  std::swap(p.circuits[0], p.circuits[1]);
  p.addresses[0].circuit = 1;
  p.addresses[1].circuit = 0;
  t.setPlan(p, t0 + seconds(5));
  EXPECT_EQ(t.active(), ActiveCircuits{"wide"});
  EXPECT_EQ(t.circuitOf(net("10.9.9.9")), 1);
  // "wide" keeps its idle time from before the reload: expires 10 s after t0.
  std::vector<dataplane::HostCounters> hosts = {host("10.1.0.9", 1)};
  t.observe(hosts, t0 + seconds(6));
  hosts[0] = host("10.1.0.9", 2);
  auto d = t.observe(hosts, t0 + seconds(10));
  EXPECT_EQ(d.activated, std::vector<std::string>{"narrow"});
  EXPECT_EQ(d.expired, std::vector<std::string>{"wide"});
  t.revert(d, t0 + seconds(10));
  EXPECT_EQ(t.active(), ActiveCircuits{"wide"});
  // The reverted activation is retried on the next growth.
  hosts[0] = host("10.1.0.9", 3);
  EXPECT_EQ(t.observe(hosts, t0 + seconds(11)).activated, std::vector<std::string>{"narrow"});
}

}  // namespace
}  // namespace sluice::lazy
