// The map writer's host slots (dataplane/HostSlots.h) and host routes against real maps:
// one-address mappings get distinct slots and an exact host-route entry, wider prefixes neither; a second writer over the same maps (a restarted
// daemon) keeps every slot and its counters; a republish without a host frees its slot after
// the bump and the next new host reuses it; a full array leaves further hosts without a slot.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"
#include "dataplane/Readers.h"

namespace sluice::dataplane {
namespace {

plan::AddressMapping mapping(const std::string& prefix, int circuit) {
  plan::AddressMapping m;
  m.prefix = *IpNet::parse(prefix);
  m.circuit = circuit;
  m.downClass = {1, static_cast<uint16_t>(10 + circuit)};
  m.upClass = m.downClass;
  return m;
}

class HostSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DataplaneOptions o;
    o.lpmCapacity = 1024;
    o.flowCapacity = 1024;
    o.hotCacheCapacity = 1024;
    o.hostCapacity = 1024;
    o.hostSlotCapacity = 5;  // descriptor + 4 hosts
    auto dp = Dataplane::open(o);
    ASSERT_TRUE(dp) << dp.error().message();
    dp_ = std::move(*dp);
  }
  uint32_t slotOf(const std::string& prefix) {
    sluice_lpm_key k = toLpmKey(*IpNet::parse(prefix));
    sluice_mapping v{};
    EXPECT_EQ(bpf_map_lookup_elem(dp_->lpmMapFd(), &k, &v), 0) << prefix;
    return v.slot;
  }
  std::vector<sluice_host_slot> slot(uint32_t s) {
    std::vector<sluice_host_slot> perCpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    EXPECT_EQ(bpf_map_lookup_elem(dp_->hostMapFd(), &s, perCpu.data()), 0);
    return perCpu;
  }
  bool hostRoute(const std::string& address) {
    const sluice_addr a = addressToBytes(*IpNet::parse(address));
    sluice_mapping v{};
    return bpf_map_lookup_elem(dp_->hostRouteMapFd(), &a, &v) == 0;
  }
  std::unique_ptr<Dataplane> dp_;
};

TEST_F(HostSlotsTest, KeptByANewWriterFreedAfterRemovalReusedAndBoundedByCapacity) {
  std::vector<plan::AddressMapping> set{mapping("10.0.0.1/32", 1), mapping("10.0.0.2/32", 2),
                                        mapping("2001:db8::9/128", 3),
                                        mapping("10.0.1.0/24", 4)};
  {
    BpfMapWriter w(dp_->lpmMapFd(), dp_->epochMapFd());
    ASSERT_TRUE(w.publish(set));
    EXPECT_EQ(w.hostSlotsUsed(), 3u);
  }
  const uint32_t s1 = slotOf("10.0.0.1/32"), s2 = slotOf("10.0.0.2/32"),
                 s3 = slotOf("2001:db8::9/128");
  EXPECT_EQ(std::set<uint32_t>({s1, s2, s3}).size(), 3u);
  EXPECT_EQ(std::set<uint32_t>({s1, s2, s3}).count(SLUICE_SLOT_NONE), 0u);
  EXPECT_EQ(slotOf("10.0.1.0/24"), SLUICE_SLOT_NONE);
  EXPECT_TRUE(hostRoute("10.0.0.2"));  // one-address prefixes also by exact address
  EXPECT_TRUE(hostRoute("2001:db8::9"));
  EXPECT_FALSE(hostRoute("10.0.1.0"));

  // Counters XDP would have written into 10.0.0.2's slot (CPU 0).
  auto v = slot(s2);
  v[0].counters.packets[SLUICE_DIR_DOWN] = 7;
  v[0].counters.circuit = 2;
  ASSERT_EQ(bpf_map_update_elem(dp_->hostMapFd(), &s2, v.data(), BPF_ANY), 0);

  // A restarted daemon's writer: same slots, counters untouched.
  BpfMapWriter w(dp_->lpmMapFd(), dp_->epochMapFd());
  ASSERT_TRUE(w.publish(set));
  EXPECT_EQ(slotOf("10.0.0.1/32"), s1);
  EXPECT_EQ(slotOf("10.0.0.2/32"), s2);
  EXPECT_EQ(slotOf("2001:db8::9/128"), s3);
  auto h = readHostCounters(dp_->hostMapFd(), *IpNet::parse("10.0.0.2"));
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->packets[SLUICE_DIR_DOWN], 7u);
  EXPECT_EQ(h->circuit, 2u);

  // Republished without 10.0.0.2: its slot is cleared; the next new host takes it, zeroed.
  set.erase(set.begin() + 1);
  ASSERT_TRUE(w.publish(set));
  EXPECT_EQ(slot(s2)[0].in_use, 0u);
  EXPECT_EQ(slot(s2)[0].counters.packets[SLUICE_DIR_DOWN], 0u);
  EXPECT_FALSE(readHostCounters(dp_->hostMapFd(), *IpNet::parse("10.0.0.2")));
  EXPECT_FALSE(hostRoute("10.0.0.2"));
  std::vector<plan::AddressMapping> more{mapping("10.0.0.5/32", 5), mapping("10.0.0.6/32", 6),
                                         mapping("10.0.0.7/32", 7)};
  ASSERT_TRUE(w.update(more, {}));
  EXPECT_EQ(slotOf("10.0.0.5/32"), s2);  // the lowest free slot first
  EXPECT_EQ(slot(s2)[0].counters.packets[SLUICE_DIR_DOWN], 0u);
  // 4 host slots: 10.0.0.1, 2001:db8::9, 10.0.0.5, 10.0.0.6; 10.0.0.7 is counted per address.
  EXPECT_NE(slotOf("10.0.0.6/32"), SLUICE_SLOT_NONE);
  EXPECT_EQ(slotOf("10.0.0.7/32"), SLUICE_SLOT_NONE);
  EXPECT_EQ(w.hostSlotsUsed(), 4u);
  // Removing a host by update() frees its slot for the next call too.
  const std::vector<IpNet> gone{*IpNet::parse("10.0.0.6/32")};
  const uint32_t s6 = slotOf("10.0.0.6/32");
  ASSERT_TRUE(w.update({}, gone));
  EXPECT_FALSE(hostRoute("10.0.0.6"));
  std::vector<plan::AddressMapping> last{mapping("10.0.0.8/32", 8)};
  ASSERT_TRUE(w.update(last, {}));
  EXPECT_EQ(slotOf("10.0.0.8/32"), s6);
}

}  // namespace
}  // namespace sluice::dataplane
