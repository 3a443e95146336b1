// Fixtures of the host slots (dataplane/HostSlots.h): a one-address mapping counts its host in
// the slot array, a host inside a wider prefix per address; a slot freed by unmapping is reused,
// zeroed, by the next one-address mapping; a flow whose mapping changes under an epoch bump
// re-resolves mapping and slot instead of counting into the old ones.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "Fixture.h"
#include "PacketBuilder.h"
#include "dataplane/Readers.h"

namespace sluice::bpftest {
namespace {

constexpr uint32_t cid(uint32_t major, uint32_t minor) { return (major << 16) | minor; }

plan::AddressMapping hostMapping(const char* prefix, int circuit, uint32_t down, uint32_t up) {
  plan::AddressMapping m;
  m.prefix = *IpNet::parse(prefix);
  m.circuit = circuit;
  m.cpu = 1;
  m.queue = static_cast<uint16_t>((down >> 16) - 1);
  m.downClass = plan::TcHandle::fromRaw(down);
  m.upClass = plan::TcHandle::fromRaw(up);
  return m;
}

Step down(const char* dst, uint16_t dport, uint32_t classid, uint32_t cpu) {
  return Step{Hook::Xdp, Port::Internet,
              PacketBuilder().ip("203.0.113.5", dst).tcp(443, dport).payload(20).build(),
              XDP_REDIRECT, classid, cpu, {}};
}

// The slot the LPM holds for `prefix` (its exact entry).
uint32_t slotOf(Env& env, const char* prefix) {
  sluice_lpm_key key = dataplane::toLpmKey(*IpNet::parse(prefix));
  sluice_mapping value{};
  EXPECT_EQ(bpf_map_lookup_elem(env.dp->lpmMapFd(), &key, &value), 0) << prefix;
  return value.slot;
}

// Slot `slot` as the writer left it and as XDP counted it: CPU 0's header, packets summed.
struct SlotView {
  uint32_t inUse = 0;
  IpNet address;
  uint64_t packets = 0;
  uint32_t circuit = SLUICE_CIRCUIT_NONE;
};
SlotView readSlot(Env& env, uint32_t slot) {
  std::vector<sluice_host_slot> perCpu(static_cast<size_t>(libbpf_num_possible_cpus()));
  EXPECT_EQ(bpf_map_lookup_elem(env.dp->hostMapFd(), &slot, perCpu.data()), 0) << slot;
  SlotView v;
  v.inUse = perCpu[0].in_use;
  v.address = dataplane::addressFromBytes(perCpu[0].addr);
  for (const auto& c : perCpu) {
    v.packets += c.counters.packets[0] + c.counters.packets[1];
    if (c.counters.packets[0] + c.counters.packets[1] > 0) {
      v.circuit = c.counters.circuit;
    }
  }
  return v;
}

Step withBeforeStep(Step s, std::function<void(Env&)> before) {
  s.before = std::move(before);
  return s;
}

bool countedPerAddress(Env& env, const char* address) {
  return static_cast<bool>(
      dataplane::readHostCounters(env.dp->addressHostMapFd(), *IpNet::parse(address)));
}

}  // namespace

std::vector<Fixture> slotFixtures() {
  std::vector<Fixture> f;
  f.push_back({"host_counters_through_slot",
               Mode::Bridge,
               {down("10.1.2.3", 1000, cid(1, 0x30), 1), down("10.1.2.3", 1000, cid(1, 0x30), 1),
                down("10.1.2.9", 1000, cid(2, 0x20), 0)},
               {{SLUICE_STAT_FLOW_HIT, 1}, {SLUICE_STAT_LPM_HIT, 2}},
               [](Env& env) {
                 const uint32_t slot = slotOf(env, "10.1.2.3/32");
                 ASSERT_NE(slot, SLUICE_SLOT_NONE);
                 EXPECT_EQ(slotOf(env, "10.1.2.0/24"), SLUICE_SLOT_NONE);  // wider: no slot
                 const SlotView v = readSlot(env, slot);
                 EXPECT_EQ(v.inUse, 1u);
                 EXPECT_EQ(v.address.toString(), "10.1.2.3");
                 EXPECT_EQ(v.packets, 2u);
                 EXPECT_EQ(v.circuit, 3u);
                 EXPECT_FALSE(countedPerAddress(env, "10.1.2.3"));
                 EXPECT_TRUE(countedPerAddress(env, "10.1.2.9"));  // inside the /24
                 // The reader shows both, once each, from the one fd.
                 auto hosts = dataplane::readHostCounters(env.dp->hostMapFd());
                 ASSERT_TRUE(hosts) << hosts.error().message();
                 ASSERT_EQ(hosts->size(), 2u);
                 for (const auto& h : *hosts) {
                   const bool slotted = h.address.toString() == "10.1.2.3";
                   EXPECT_EQ(h.packets[SLUICE_DIR_DOWN], slotted ? 2u : 1u);
                   EXPECT_EQ(h.circuit, slotted ? 3u : 2u);
                 }
               }});
  f.push_back({"slot_reused_after_unmapping",
               Mode::Bridge,
               {down("10.1.2.3", 1000, cid(1, 0x30), 1),
                // Unmapped: 10.1.2.3 falls back to the /24 and to per-address counters; its slot
                // is freed after the bump and the next one-address mapping gets it, zeroed.
                withBeforeStep(down("10.1.2.3", 1000, cid(2, 0x20), 0),
                               [](Env& env) {
                                 const uint32_t slot = slotOf(env, "10.1.2.3/32");
                                 const std::vector<IpNet> gone{*IpNet::parse("10.1.2.3/32")};
                                 ASSERT_TRUE(env.writer->update({}, gone));
                                 EXPECT_EQ(readSlot(env, slot).inUse, 0u);
                                 EXPECT_EQ(readSlot(env, slot).packets, 0u);
                                 std::vector<plan::AddressMapping> add{
                                     hostMapping("10.1.7.7/32", 8, cid(1, 0x80), cid(1, 0x81))};
                                 ASSERT_TRUE(env.writer->update(add, {}));
                                 EXPECT_EQ(slotOf(env, "10.1.7.7/32"), slot);
                                 EXPECT_EQ(readSlot(env, slot).address.toString(),
                                           "10.1.7.7");
                               }),
                down("10.1.7.7", 1000, cid(1, 0x80), 1)},
               {{SLUICE_STAT_FLOW_HIT, 0}, {SLUICE_STAT_LPM_HIT, 3}},
               [](Env& env) {
                 const SlotView v = readSlot(env, slotOf(env, "10.1.7.7/32"));
                 EXPECT_EQ(v.packets, 1u);  // only the new host's packet
                 EXPECT_EQ(v.circuit, 8u);
                 auto h = dataplane::readHostCounters(env.dp->hostMapFd(),
                                                      *IpNet::parse("10.1.2.3"));
                 ASSERT_TRUE(h) << h.error().message();
                 EXPECT_EQ(h->packets[SLUICE_DIR_DOWN], 1u);  // counts restart per address
                 EXPECT_EQ(h->circuit, 2u);
               }});
  f.push_back({"flow_hit_across_epoch_bump_re_resolves_mapping_and_slot",
               Mode::Bridge,
               {down("10.1.2.3", 1000, cid(1, 0x30), 1),
                // Same prefix, new class and circuit, one bump: the flow's cached mapping is
                // stale, so the next packet re-reads the LPM (same slot, new circuit).
                withBeforeStep(down("10.1.2.3", 1000, cid(2, 0x99), 1),
                               [](Env& env) {
                                 std::vector<plan::AddressMapping> moved{
                                     hostMapping("10.1.2.3/32", 9, cid(2, 0x99), cid(2, 0x9a))};
                                 ASSERT_TRUE(env.writer->update(moved, {}));
                               }),
                down("10.1.2.3", 1000, cid(2, 0x99), 1)},
               {{SLUICE_STAT_FLOW_HIT, 1}, {SLUICE_STAT_LPM_HIT, 2}},
               [](Env& env) {
                 const SlotView v = readSlot(env, slotOf(env, "10.1.2.3/32"));
                 EXPECT_EQ(v.packets, 3u);  // the slot survives a re-mapping of its prefix
                 EXPECT_EQ(v.circuit, 9u);
                 auto flows = dataplane::readFlows(env.dp->flowMapFd());
                 ASSERT_TRUE(flows);
                 ASSERT_EQ(flows->size(), 1u);
                 EXPECT_EQ((*flows)[0].flow.mapping.circuit, 9u);
                 EXPECT_EQ((*flows)[0].flow.mapping.slot, slotOf(env, "10.1.2.3/32"));
               }});
  f.push_back({"host_route_answers_before_the_trie",
               Mode::Bridge,
               // An exact entry that disagrees with the trie (only a test writes one): the packet
               // takes the exact answer, so the host-route map is consulted and consulted first.
               {withBeforeStep(down("10.1.2.3", 1000, cid(2, 0x77), 0),
                               [](Env& env) {
                                 sluice_mapping m{};
                                 m.cpu = 0;
                                 m.classid_down = cid(2, 0x77);
                                 m.classid_up = cid(2, 0x78);
                                 m.circuit = 77;
                                 const sluice_addr a = dataplane::addressToBytes(
                                     *IpNet::parse("10.1.2.3"));
                                 ASSERT_EQ(bpf_map_update_elem(env.dp->hostRouteMapFd(), &a, &m,
                                                               BPF_ANY),
                                           0);
                                 ASSERT_TRUE(env.writer->bumpEpoch());
                               })},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  return f;
}

}  // namespace sluice::bpftest
