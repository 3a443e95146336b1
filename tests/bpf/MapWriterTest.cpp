// BpfMapWriter against a real LPM trie: a full republish never leaves a surviving prefix missing
// (checked by a concurrent reader), stale prefixes go, every call bumps the epoch exactly once,
// and bad input is refused without touching the maps.

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"

namespace sluice::dataplane {
namespace {

plan::AddressMapping host(uint32_t i, uint16_t minor) {
  plan::AddressMapping m;
  m.prefix = *IpNet::parse(fmt::format("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff));
  m.circuit = static_cast<int32_t>(i);
  m.downClass = {1, minor};
  m.upClass = {1, minor};
  return m;
}

class MapWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DataplaneOptions o;
    o.lpmCapacity = 65536;
    o.flowCapacity = 1024;
    o.hotCacheCapacity = 1024;
    o.hostCapacity = 1024;
    auto dp = Dataplane::open(o);
    ASSERT_TRUE(dp) << dp.error().message();
    dp_ = std::move(*dp);
  }
  std::unique_ptr<Dataplane> dp_;
};

TEST_F(MapWriterTest, RepublishNeverDropsASurvivingPrefix) {
  BpfMapWriter writer(dp_->lpmMapFd(), dp_->epochMapFd(), 512);
  // Set A: hosts 0..19999; set B: hosts 10000..29999 with other classes. 15000 is in both.
  std::vector<plan::AddressMapping> a, b;
  for (uint32_t i = 0; i < 20000; ++i) {
    a.push_back(host(i, 3));
    b.push_back(host(i + 10000, 4));
  }
  ASSERT_TRUE(writer.publish(a));
  sluice_lpm_key probe = toLpmKey(host(15000, 0).prefix);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0}, misses{0};
  std::thread reader([&] {
    sluice_mapping v{};
    while (!stop) {
      if (bpf_map_lookup_elem(dp_->lpmMapFd(), &probe, &v) != 0) {
        ++misses;
      }
      ++lookups;
    }
  });
  for (int round = 0; round < 6; ++round) {
    auto epoch = writer.publish(round % 2 == 0 ? b : a);
    ASSERT_TRUE(epoch) << epoch.error().message();
    EXPECT_EQ(*epoch, static_cast<uint32_t>(round + 2));  // one bump per publish
  }
  stop = true;
  reader.join();
  EXPECT_GT(lookups.load(), 100u);
  EXPECT_EQ(misses.load(), 0u);
  auto keys = writer.keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), a.size());  // last publish was A: B's extra hosts are gone
}

TEST_F(MapWriterTest, UpdateUpsertsRemovesAndBumpsOnce) {
  BpfMapWriter writer(dp_->lpmMapFd(), dp_->epochMapFd());
  std::vector<plan::AddressMapping> base{host(1, 3), host(2, 3)};
  ASSERT_TRUE(writer.publish(base));
  std::vector<plan::AddressMapping> ups{host(2, 9), host(3, 3)};
  std::vector<IpNet> gone{host(1, 0).prefix, host(77, 0).prefix};  // 77 absent: not an error
  auto epoch = writer.update(ups, gone);
  ASSERT_TRUE(epoch) << epoch.error().message();
  EXPECT_EQ(*epoch, 2u);
  auto keys = writer.keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), 2u);
  sluice_lpm_key k = toLpmKey(host(2, 0).prefix);
  sluice_mapping v{};
  ASSERT_EQ(bpf_map_lookup_elem(dp_->lpmMapFd(), &k, &v), 0);
  EXPECT_EQ(v.classid_down, (1u << 16) | 9u);
}

TEST_F(MapWriterTest, PublishKeepsEveryPrefixWithItsOwnValueInAnyInputOrder) {
  // publish sorts indices by key and writes in chunks (kChunk 16384, batches of 256 here); a
  // scattered input with one class per host shows each prefix gets its own value.
  BpfMapWriter writer(dp_->lpmMapFd(), dp_->epochMapFd(), 256);
  std::vector<plan::AddressMapping> in;
  for (uint32_t i = 0; i < 20000; ++i) {
    in.push_back(host((i * 35761u) % 50000, static_cast<uint16_t>(3 + i)));  // distinct hosts, classes
  }
  plan::AddressMapping wide = host(4, 7);
  wide.prefix = *IpNet::parse("10.0.0.0/24");
  in.push_back(wide);
  auto epoch = writer.publish(in);
  ASSERT_TRUE(epoch) << epoch.error().message();
  EXPECT_EQ(writer.keys()->size(), in.size());
  for (const auto& m : in) {
    sluice_lpm_key k = toLpmKey(m.prefix);
    sluice_mapping v{};
    ASSERT_EQ(bpf_map_lookup_elem(dp_->lpmMapFd(), &k, &v), 0) << m.prefix.toString();
    EXPECT_EQ(v.classid_down, m.downClass.raw()) << m.prefix.toString();
  }
}

TEST_F(MapWriterTest, DuplicatePrefixRefusedWithoutWrites) {
  BpfMapWriter writer(dp_->lpmMapFd(), dp_->epochMapFd());
  std::vector<plan::AddressMapping> dup{host(5, 3), host(5, 4)};
  auto r = writer.publish(dup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, EINVAL);
  EXPECT_EQ(writer.keys()->size(), 0u);
  EXPECT_EQ(*writer.epoch(), 0u);
}

}  // namespace
}  // namespace sluice::dataplane
