// The fixture table. Base mappings (Fixture.h: baseMappings):
//
//   prefix              circuit  cpu  down    up
//   10.1.0.0/16         1        1    1:10    1:11
//   10.1.2.0/24         2        0    2:20    2:21
//   10.1.2.3/32         3        1    1:30    1:31
//   2001:db8:1::/48     4        0    2:40    2:41
//   2001:db8:1:5::/64   5        1    1:50    1:51
//   100.64.0.0/10       6        0    2:60    2:61
//
// Remote (Internet) hosts are 203.0.113.x and 2001:db8:ffff::x. Stick mode: VLAN 100 faces the
// Internet, VLAN 200 the subscribers.

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>

#include <chrono>
#include <thread>

#include "Fixture.h"
#include "PacketBuilder.h"
#include "dataplane/Readers.h"

namespace sluice::bpftest {
namespace {

using dataplane::readFlows;
using dataplane::readHostCounters;

constexpr uint32_t cid(uint32_t major, uint32_t minor) { return (major << 16) | minor; }

plan::AddressMapping mapping(const char* prefix, int circuit, uint32_t cpu, uint32_t down,
                             uint32_t up) {
  plan::AddressMapping m;
  m.prefix = *IpNet::parse(prefix);
  m.circuit = circuit;
  m.cpu = cpu;
  m.queue = static_cast<uint16_t>((down >> 16) - 1);
  m.downClass = plan::TcHandle::fromRaw(down);
  m.upClass = plan::TcHandle::fromRaw(up);
  return m;
}

Step xdp(Port port, PacketBuilder b, int verdict, std::optional<uint32_t> classid = {},
         std::optional<uint32_t> cpu = {}) {
  return Step{Hook::Xdp, port, b.build(), verdict, classid, cpu, {}};
}
Step tc(Port port, PacketBuilder b, std::optional<uint32_t> classid) {
  return Step{Hook::Tc, port, b.build(), TC_ACT_OK, classid, {}, {}};
}
Step withBefore(Step s, std::function<void(Env&)> before) {
  s.before = std::move(before);
  return s;
}

PacketBuilder down4(const char* dst, uint16_t sport = 443, uint16_t dport = 50000) {
  return PacketBuilder().ip("203.0.113.5", dst).tcp(sport, dport).payload(20);
}
PacketBuilder up4(const char* src, uint16_t sport = 50000, uint16_t dport = 443) {
  return PacketBuilder().ip(src, "203.0.113.5").udp(sport, dport).payload(20);
}

const sluice_flow* findFlow(const std::vector<dataplane::FlowRecord>& flows, uint16_t localPort) {
  for (const auto& f : flows) {
    if (f.key.local_port == localPort) {
      return &f.flow;
    }
  }
  return nullptr;
}

void expectFlowPorts(Env& env, uint16_t local, uint16_t remote, uint8_t proto) {
  auto flows = readFlows(env.dp->flowMapFd());
  ASSERT_TRUE(flows) << flows.error().message();
  ASSERT_EQ(flows->size(), 1u);
  EXPECT_EQ((*flows)[0].key.local_port, local);
  EXPECT_EQ((*flows)[0].key.remote_port, remote);
  EXPECT_EQ((*flows)[0].key.proto, proto);
}

void publishExtra(Env& env, plan::AddressMapping m, bool bump) {
  // Write the LPM directly (no bump) or through the writer (write + bump).
  if (bump) {
    std::vector<plan::AddressMapping> one{m};
    ASSERT_TRUE(env.writer->update(one, {}));
    return;
  }
  sluice_lpm_key key = dataplane::toLpmKey(m.prefix);
  sluice_mapping value = dataplane::toLpmValue(m);
  ASSERT_EQ(bpf_map_update_elem(env.dp->lpmMapFd(), &key, &value, BPF_ANY), 0);
  if (key.prefixlen == 128) {  // as the writer: one-address prefixes also by exact address
    ASSERT_EQ(bpf_map_update_elem(env.dp->hostRouteMapFd(), key.addr, &value, BPF_ANY), 0);
  }
}

}  // namespace

std::vector<plan::AddressMapping> baseMappings() {
  return {
      mapping("10.1.0.0/16", 1, 1, cid(1, 0x10), cid(1, 0x11)),
      mapping("10.1.2.0/24", 2, 0, cid(2, 0x20), cid(2, 0x21)),
      mapping("10.1.2.3/32", 3, 1, cid(1, 0x30), cid(1, 0x31)),
      mapping("2001:db8:1::/48", 4, 0, cid(2, 0x40), cid(2, 0x41)),
      mapping("2001:db8:1:5::/64", 5, 1, cid(1, 0x50), cid(1, 0x51)),
      mapping("100.64.0.0/10", 6, 0, cid(2, 0x60), cid(2, 0x61)),
  };
}

std::vector<Fixture> allFixtures() {
  std::vector<Fixture> f;
  const auto I = Port::Internet;
  const auto N = Port::Network;

  // --- addresses, prefixes, directions -------------------------------------------------------
  f.push_back({"ipv4_host_route_download",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}, {SLUICE_STAT_REDIRECT, 1}, {SLUICE_STAT_FLOW_HIT, 0}},
               {}});
  f.push_back({"ipv4_upload_by_source",
               Mode::Bridge,
               {xdp(N, up4("10.1.2.9"), XDP_REDIRECT, cid(2, 0x21), 0)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"ipv4_cidr_16",
               Mode::Bridge,
               {xdp(I, down4("10.1.200.7"), XDP_REDIRECT, cid(1, 0x10), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"ipv4_longest_prefix_wins",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.4"), XDP_REDIRECT, cid(2, 0x20), 0),
                xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1),
                xdp(I, down4("10.1.3.3"), XDP_REDIRECT, cid(1, 0x10), 1)},
               {{SLUICE_STAT_LPM_HIT, 3}},
               {}});
  f.push_back({"ipv6_prefix_48_download",
               Mode::Bridge,
               {xdp(I, PacketBuilder().ip("2001:db8:ffff::1", "2001:db8:1:9::1").tcp(443, 40000),
                    XDP_REDIRECT, cid(2, 0x40), 0)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"ipv6_longest_prefix_64",
               Mode::Bridge,
               {xdp(I, PacketBuilder().ip("2001:db8:ffff::1", "2001:db8:1:5::7").udp(53, 40000),
                    XDP_REDIRECT, cid(1, 0x50), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"ipv6_upload_icmpv6",
               Mode::Bridge,
               {xdp(N, PacketBuilder().ip("2001:db8:1:5::7", "2001:db8:ffff::1").icmp(),
                    XDP_REDIRECT, cid(1, 0x51), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               [](Env& env) {
                 auto h = readHostCounters(env.dp->hostMapFd(), *IpNet::parse("2001:db8:1:5::7"));
                 ASSERT_TRUE(h) << h.error().message();
                 EXPECT_EQ(h->protoPackets[SLUICE_PROTO_ICMP][SLUICE_DIR_UP], 1u);
                 EXPECT_EQ(h->circuit, 5u);
               }});
  f.push_back({"unknown_interface_passes",
               Mode::Bridge,
               {xdp(Port::Other, down4("10.1.2.3"), XDP_PASS)},
               {{SLUICE_STAT_NO_DIRECTION, 1}, {SLUICE_STAT_LPM_HIT, 0}},
               {}});

  // --- encapsulations ------------------------------------------------------------------------
  f.push_back({"vlan_8021q",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").vlan(42), XDP_REDIRECT, cid(1, 0x30), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"qinq_8021ad_outer",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.9").vlan(300, 0x88a8).vlan(42), XDP_REDIRECT, cid(2, 0x20),
                    0)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"pppoe_ipv4",
               Mode::Bridge,
               {xdp(N, up4("100.64.3.4").pppoe(), XDP_REDIRECT, cid(2, 0x61), 0)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"pppoe_ipv6",
               Mode::Bridge,
               {xdp(I,
                    PacketBuilder().ip("2001:db8:ffff::1", "2001:db8:1::5").tcp(80, 1234).pppoe(),
                    XDP_REDIRECT, cid(2, 0x40), 0)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"pppoe_lcp_is_not_ip",
               Mode::Bridge,
               {xdp(I, down4("100.64.3.4").pppoe(0xc021), XDP_PASS)},
               {{SLUICE_STAT_NOT_IP, 1}, {SLUICE_STAT_LPM_HIT, 0}},
               {}});
  f.push_back({"qinq_pppoe_ipv4",
               Mode::Bridge,
               {xdp(N, up4("100.64.9.9").vlan(10, 0x88a8).vlan(20).pppoe(), XDP_REDIRECT,
                    cid(2, 0x61), 0)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"mpls_one_label_ipv4",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").mpls(1), XDP_REDIRECT, cid(1, 0x30), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"mpls_stack_ipv6",
               Mode::Bridge,
               {xdp(I, PacketBuilder().ip("2001:db8:ffff::1", "2001:db8:1:5::1").udp(1, 2).mpls(3),
                    XDP_REDIRECT, cid(1, 0x50), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"mpls_without_bottom_of_stack_is_malformed",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").mpls(9), XDP_PASS)},
               {{SLUICE_STAT_MALFORMED, 1}},
               {}});

  // --- IP details ----------------------------------------------------------------------------
  f.push_back({"ipv4_options_ports_found",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3", 443, 51000).ipv4Options(3), XDP_REDIRECT, cid(1, 0x30),
                    1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               [](Env& env) { expectFlowPorts(env, 51000, 443, 6); }});
  f.push_back({"ipv4_non_first_fragment_has_no_ports",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").fragment(185, false), XDP_REDIRECT, cid(1, 0x30), 1)},
               {{SLUICE_STAT_FRAGMENT, 1}, {SLUICE_STAT_LPM_HIT, 1}},
               [](Env& env) { expectFlowPorts(env, 0, 0, 6); }});
  f.push_back({"ipv4_first_fragment_keeps_ports",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3", 443, 52000).fragment(0, true), XDP_REDIRECT,
                    cid(1, 0x30), 1)},
               {{SLUICE_STAT_FRAGMENT, 0}},
               [](Env& env) { expectFlowPorts(env, 52000, 443, 6); }});
  f.push_back({"ipv6_extension_headers_walked",
               Mode::Bridge,
               {xdp(I,
                    PacketBuilder()
                        .ip("2001:db8:ffff::1", "2001:db8:1:5::9")
                        .ext(0)
                        .ext(43)
                        .ext(60)
                        .tcp(443, 53000),
                    XDP_REDIRECT, cid(1, 0x50), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               [](Env& env) { expectFlowPorts(env, 53000, 443, 6); }});
  f.push_back({"ipv6_non_first_fragment",
               Mode::Bridge,
               {xdp(I,
                    PacketBuilder().ip("2001:db8:ffff::1", "2001:db8:1::9").udp(1, 2).fragment(
                        100, true),
                    XDP_REDIRECT, cid(2, 0x40), 0)},
               {{SLUICE_STAT_FRAGMENT, 1}},
               [](Env& env) { expectFlowPorts(env, 0, 0, 17); }});

  // --- broken input --------------------------------------------------------------------------
  f.push_back({"truncated_ipv4_header",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").truncate(14 + 12), XDP_PASS)},
               {{SLUICE_STAT_MALFORMED, 1}, {SLUICE_STAT_LPM_HIT, 0}},
               {}});
  f.push_back({"truncated_tcp_header",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").truncate(14 + 20 + 10), XDP_PASS)},
               {{SLUICE_STAT_MALFORMED, 1}},
               {}});
  f.push_back({"truncated_ipv6_ext_header",
               Mode::Bridge,
               {xdp(I,
                    PacketBuilder().ip("2001:db8:ffff::1", "2001:db8:1::9").ext(0).udp(1, 2)
                        .truncate(14 + 40 + 6),
                    XDP_PASS)},
               {{SLUICE_STAT_MALFORMED, 1}},
               {}});
  f.push_back({"garbage_ip_version",
               Mode::Bridge,
               {[] {
                 Step s = xdp(I, down4("10.1.2.3"), XDP_PASS);
                 s.packet[14] = 0x75;  // version 7
                 return s;
               }()},
               {{SLUICE_STAT_MALFORMED, 1}},
               {}});
  f.push_back({"runt_frame",
               Mode::Bridge,
               {[] {
                 Step s = xdp(I, down4("10.1.2.3"), XDP_PASS);
                 s.packet.resize(14);  // Ethernet header only (test-run needs >= 14)
                 return s;
               }()},
               {{SLUICE_STAT_MALFORMED, 1}},
               {}});
  f.push_back({"arp_is_not_ip",
               Mode::Bridge,
               {xdp(I, PacketBuilder().rawEtherType(0x0806), XDP_PASS)},
               {{SLUICE_STAT_NOT_IP, 1}},
               {}});

  // --- unknown addresses, caches, epochs -----------------------------------------------------
  f.push_back({"unknown_address_default_class",
               Mode::Bridge,
               {xdp(I, down4("192.0.2.55"), XDP_REDIRECT,
                    expectedDefaultClassid("192.0.2.55", SLUICE_DIR_DOWN, kQueues, false))},
               {{SLUICE_STAT_LPM_MISS, 1}, {SLUICE_STAT_DEFAULT_CLASS, 1}},
               {}});
  f.push_back({"negative_cache_hit",
               Mode::Bridge,
               {xdp(I, down4("192.0.2.55", 443, 1000), XDP_REDIRECT,
                    expectedDefaultClassid("192.0.2.55", SLUICE_DIR_DOWN, kQueues, false)),
                xdp(I, down4("192.0.2.55", 443, 1001), XDP_REDIRECT,
                    expectedDefaultClassid("192.0.2.55", SLUICE_DIR_DOWN, kQueues, false))},
               {{SLUICE_STAT_LPM_MISS, 1}, {SLUICE_STAT_HOT_NEGATIVE_HIT, 1}},
               {}});
  f.push_back({"negative_cache_invalidated_by_epoch",
               Mode::Bridge,
               {xdp(I, down4("10.9.9.9", 443, 1000), XDP_REDIRECT,
                    expectedDefaultClassid("10.9.9.9", SLUICE_DIR_DOWN, kQueues, false)),
                // Mapping written without a bump: the negative entry still stands.
                withBefore(xdp(I, down4("10.9.9.9", 443, 1001), XDP_REDIRECT,
                               expectedDefaultClassid("10.9.9.9", SLUICE_DIR_DOWN, kQueues, false)),
                           [](Env& env) {
                             publishExtra(env, mapping("10.9.9.0/24", 7, 1, cid(1, 0x70),
                                                       cid(1, 0x71)), false);
                           }),
                // After the bump the next packet re-reads the LPM.
                withBefore(xdp(I, down4("10.9.9.9", 443, 1002), XDP_REDIRECT, cid(1, 0x70), 1),
                           [](Env& env) { ASSERT_TRUE(env.writer->bumpEpoch()); })},
               {{SLUICE_STAT_LPM_MISS, 1}, {SLUICE_STAT_HOT_NEGATIVE_HIT, 1},
                {SLUICE_STAT_LPM_HIT, 1}},
               {}});
  // An address a wider prefix covers: the trie once, then the hot cache for its next flow.
  f.push_back({"hot_cache_hit_for_new_flow",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.9", 443, 1000), XDP_REDIRECT, cid(2, 0x20), 0),
                xdp(I, down4("10.1.2.9", 443, 1001), XDP_REDIRECT, cid(2, 0x20), 0)},
               {{SLUICE_STAT_LPM_HIT, 1}, {SLUICE_STAT_HOT_HIT, 1}, {SLUICE_STAT_FLOW_HIT, 0}},
               {}});
  // A /32 is a host route: one exact lookup per new flow, never copied into the hot cache.
  f.push_back({"host_route_bypasses_hot_cache",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3", 443, 1000), XDP_REDIRECT, cid(1, 0x30), 1),
                xdp(I, down4("10.1.2.3", 443, 1001), XDP_REDIRECT, cid(1, 0x30), 1)},
               {{SLUICE_STAT_LPM_HIT, 2}, {SLUICE_STAT_HOT_HIT, 0}, {SLUICE_STAT_FLOW_HIT, 0}},
               {}});
  f.push_back({"flow_hit_for_same_flow",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1),
                xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1),
                xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").tcp(50000, 443),
                    XDP_REDIRECT, cid(1, 0x31), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}, {SLUICE_STAT_FLOW_HIT, 2}},
               [](Env& env) {
                 auto flows = readFlows(env.dp->flowMapFd());
                 ASSERT_TRUE(flows);
                 ASSERT_EQ(flows->size(), 1u);  // both directions share one entry
                 EXPECT_EQ((*flows)[0].flow.packets[SLUICE_DIR_DOWN], 2u);
                 EXPECT_EQ((*flows)[0].flow.packets[SLUICE_DIR_UP], 1u);
                 EXPECT_EQ((*flows)[0].flow.mapping.circuit, 3u);
               }});
  f.push_back({"epoch_bump_reclassifies_existing_flow",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1),
                withBefore(xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1),
                           [](Env& env) {
                             publishExtra(env, mapping("10.1.2.3/32", 3, 0, cid(2, 0x99),
                                                       cid(2, 0x9a)), false);
                           }),
                withBefore(xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(2, 0x99), 0),
                           [](Env& env) { ASSERT_TRUE(env.writer->bumpEpoch()); })},
               {{SLUICE_STAT_FLOW_HIT, 1}, {SLUICE_STAT_LPM_HIT, 2}},
               [](Env& env) {
                 auto flows = readFlows(env.dp->flowMapFd());
                 ASSERT_TRUE(flows);
                 ASSERT_EQ(flows->size(), 1u);
                 EXPECT_EQ((*flows)[0].flow.mapping.classid_down, cid(2, 0x99));
                 EXPECT_EQ((*flows)[0].flow.packets[SLUICE_DIR_DOWN], 3u);
               }});
  f.push_back({"republish_removes_stale_prefix",
               Mode::Bridge,
               {withBefore(xdp(I, down4("10.1.2.9"), XDP_REDIRECT, cid(1, 0x10), 1),
                           [](Env& env) {
                             auto all = baseMappings();
                             std::erase_if(all, [](const plan::AddressMapping& m) {
                               return m.prefix.toString() == "10.1.2.0/24";
                             });
                             ASSERT_TRUE(env.writer->publish(all));
                             auto keys = env.writer->keys();
                             ASSERT_TRUE(keys);
                             EXPECT_EQ(keys->size(), all.size());
                           })},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});

  // --- switches ------------------------------------------------------------------------------
  f.push_back({"bypass_passes_untouched",
               Mode::Bridge,
               {withBefore(xdp(I, down4("10.1.2.3"), XDP_PASS),
                           [](Env& env) {
                             dataplane::RuntimeConfig cfg{SLUICE_CFG_BYPASS, {0, 1}};
                             ASSERT_TRUE(env.dp->setRuntimeConfig(cfg));
                           }),
                tc(N, down4("10.1.2.3"), 0)},
               {{SLUICE_STAT_XDP_BYPASS, 1}, {SLUICE_STAT_TC_BYPASS, 1}, {SLUICE_STAT_LPM_HIT, 0}},
               [](Env& env) {
                 auto hosts = dataplane::readHostCounters(env.dp->hostMapFd());
                 ASSERT_TRUE(hosts);
                 EXPECT_TRUE(hosts->empty());
               }});
  f.push_back({"flow_tracking_off",
               Mode::Bridge,
               {withBefore(xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1),
                           [](Env& env) {
                             dataplane::RuntimeConfig cfg{SLUICE_CFG_NO_FLOWS, {0, 1}};
                             ASSERT_TRUE(env.dp->setRuntimeConfig(cfg));
                           })},
               {{SLUICE_STAT_LPM_HIT, 1}},
               [](Env& env) {
                 auto flows = readFlows(env.dp->flowMapFd());
                 ASSERT_TRUE(flows);
                 EXPECT_TRUE(flows->empty());
               }});

  // --- on a stick ----------------------------------------------------------------------------
  f.push_back({"stick_internet_vlan_is_download",
               Mode::Stick,
               {xdp(I, down4("10.1.2.3").vlan(100), XDP_REDIRECT, cid(1, 0x30), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"stick_network_vlan_is_upload",
               Mode::Stick,
               {xdp(I, up4("10.1.2.3").vlan(200), XDP_REDIRECT, cid(1, 0x31), 1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"stick_qinq_inner_vlan_wins",
               Mode::Stick,
               {xdp(I, up4("10.1.2.3").vlan(100, 0x88a8).vlan(200), XDP_REDIRECT, cid(1, 0x31),
                    1)},
               {{SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"stick_other_vlan_passes",
               Mode::Stick,
               {xdp(I, up4("10.1.2.3").vlan(300), XDP_PASS)},
               {{SLUICE_STAT_NO_DIRECTION, 1}},
               {}});
  f.push_back({"stick_unknown_upload_uses_upper_queues",
               Mode::Stick,
               {xdp(I, up4("192.0.2.77").vlan(200), XDP_REDIRECT,
                    expectedDefaultClassid("192.0.2.77", SLUICE_DIR_UP, kQueues, true))},
               {{SLUICE_STAT_DEFAULT_CLASS, 1}},
               {}});

  // --- tc egress (lookup path; metadata path is covered by the namespace test) ---------------
  f.push_back({"tc_download_priority_and_queue",
               Mode::Bridge,
               {tc(N, down4("10.1.2.3"), cid(1, 0x30))},
               {{SLUICE_STAT_TC_FROM_LOOKUP, 1}, {SLUICE_STAT_LPM_HIT, 1}},
               {}});
  f.push_back({"tc_upload_priority",
               Mode::Bridge,
               {tc(I, up4("10.1.2.9"), cid(2, 0x21))},
               {{SLUICE_STAT_TC_FROM_LOOKUP, 1}},
               {}});
  f.push_back({"tc_unknown_default_class",
               Mode::Bridge,
               {tc(N, down4("198.51.100.1"),
                   expectedDefaultClassid("198.51.100.1", SLUICE_DIR_DOWN, kQueues, false))},
               {{SLUICE_STAT_TC_FROM_LOOKUP, 1}, {SLUICE_STAT_DEFAULT_CLASS, 1}},
               {}});
  f.push_back({"tc_reuses_flow_from_xdp",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x30), 1),
                tc(N, down4("10.1.2.3"), cid(1, 0x30))},
               {{SLUICE_STAT_LPM_HIT, 1}, {SLUICE_STAT_HOT_HIT, 0}},
               {}});
  f.push_back({"tc_stick_vlan_egress",
               Mode::Stick,
               {tc(I, down4("10.1.2.3").vlan(200), cid(1, 0x30)),
                tc(I, up4("10.1.2.9").vlan(100), cid(2, 0x21))},
               {{SLUICE_STAT_TC_FROM_LOOKUP, 2}},
               {}});
  f.push_back({"tc_malformed_untouched",
               Mode::Bridge,
               {tc(N, down4("10.1.2.3").truncate(14 + 20 + 6), 0)},
               {{SLUICE_STAT_TC_UNCLASSIFIED, 1}},
               {}});

  // --- telemetry -----------------------------------------------------------------------------
  f.push_back({"retransmit_detected",
               Mode::Bridge,
               {xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").tcp(50000, 443, 1000)
                           .payload(100), XDP_REDIRECT, cid(1, 0x31), 1),
                xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").tcp(50000, 443, 1100)
                           .payload(100), XDP_REDIRECT, cid(1, 0x31), 1),
                xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").tcp(50000, 443, 1000)
                           .payload(100), XDP_REDIRECT, cid(1, 0x31), 1)},
               {{SLUICE_STAT_RETRANSMIT, 1}},
               [](Env& env) {
                 auto flows = readFlows(env.dp->flowMapFd());
                 ASSERT_TRUE(flows);
                 const sluice_flow* fl = findFlow(*flows, 50000);
                 ASSERT_NE(fl, nullptr);
                 EXPECT_EQ(fl->retransmits[SLUICE_DIR_UP], 1u);
                 EXPECT_EQ(fl->retransmits[SLUICE_DIR_DOWN], 0u);
                 EXPECT_EQ(fl->next_seq[SLUICE_DIR_UP], 1200u);
               }});
  f.push_back({"fin_and_rst_recorded",
               Mode::Bridge,
               {xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").tcp(50000, 443, 1, 0x11),
                    XDP_REDIRECT, cid(1, 0x31), 1),
                xdp(I, PacketBuilder().ip("203.0.113.5", "10.1.2.3").tcp(443, 50000, 1, 0x04),
                    XDP_REDIRECT, cid(1, 0x30), 1)},
               {},
               [](Env& env) {
                 auto flows = readFlows(env.dp->flowMapFd());
                 ASSERT_TRUE(flows);
                 const sluice_flow* fl = findFlow(*flows, 50000);
                 ASSERT_NE(fl, nullptr);
                 uint32_t seen =
                     fl->flags & (SLUICE_FLOW_FIN_UP | SLUICE_FLOW_FIN_DOWN | SLUICE_FLOW_RST);
                 EXPECT_EQ(seen, SLUICE_FLOW_FIN_UP | SLUICE_FLOW_RST);
               }});
  f.push_back({"rtt_sample_from_timestamps",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").timestamps(5000, 77), XDP_REDIRECT, cid(1, 0x30), 1),
                withBefore(xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").tcp(50000, 443)
                                      .timestamps(900, 5000, false),
                               XDP_REDIRECT, cid(1, 0x31), 1),
                           [](Env&) { std::this_thread::sleep_for(std::chrono::milliseconds(3)); }),
                // A second echo of the same TSval gives no second sample.
                xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").tcp(50000, 443)
                           .timestamps(901, 5000),
                    XDP_REDIRECT, cid(1, 0x31), 1)},
               {{SLUICE_STAT_RTT_SAMPLE, 1}},
               [](Env& env) {
                 std::vector<sluice_rtt_event> events;
                 auto c = dataplane::RttConsumer::create(
                     env.dp->rttRingFd(), [&](const sluice_rtt_event& e) { events.push_back(e); });
                 ASSERT_TRUE(c);
                 ASSERT_TRUE((*c)->consume());
                 ASSERT_EQ(events.size(), 1u);
                 EXPECT_EQ(events[0].direction, static_cast<uint32_t>(SLUICE_DIR_DOWN));
                 EXPECT_GE(events[0].rtt_ns, 3'000'000u);
                 EXPECT_LT(events[0].rtt_ns, 1'000'000'000u);
                 EXPECT_EQ(events[0].circuit, 3u);
                 EXPECT_EQ(events[0].key.local_port, 50000);
               }});
  f.push_back({"host_counters_by_direction_and_protocol",
               Mode::Bridge,
               {xdp(I, down4("10.1.2.3").payload(100), XDP_REDIRECT, cid(1, 0x30), 1),
                xdp(I, down4("10.1.2.3", 443, 50001).payload(100), XDP_REDIRECT, cid(1, 0x30), 1),
                xdp(N, up4("10.1.2.3"), XDP_REDIRECT, cid(1, 0x31), 1),
                xdp(N, PacketBuilder().ip("10.1.2.3", "203.0.113.5").icmp(), XDP_REDIRECT,
                    cid(1, 0x31), 1)},
               {{SLUICE_STAT_XDP_PACKETS, 4}},
               [](Env& env) {
                 auto h = readHostCounters(env.dp->hostMapFd(), *IpNet::parse("10.1.2.3"));
                 ASSERT_TRUE(h) << h.error().message();
                 // 14 eth + 20 IP + 20 TCP + 100 payload
                 EXPECT_EQ(h->bytes[SLUICE_DIR_DOWN], 2u * 154u);
                 EXPECT_EQ(h->packets[SLUICE_DIR_DOWN], 2u);
                 EXPECT_EQ(h->packets[SLUICE_DIR_UP], 2u);
                 EXPECT_EQ(h->protoPackets[SLUICE_PROTO_TCP][SLUICE_DIR_DOWN], 2u);
                 EXPECT_EQ(h->protoPackets[SLUICE_PROTO_UDP][SLUICE_DIR_UP], 1u);
                 EXPECT_EQ(h->protoPackets[SLUICE_PROTO_ICMP][SLUICE_DIR_UP], 1u);
                 EXPECT_EQ(h->circuit, 3u);
                 EXPECT_GT(h->lastSeenNs, 0u);
               }});
  for (auto& slot : slotFixtures()) {
    f.push_back(std::move(slot));
  }
  return f;
}

}  // namespace sluice::bpftest
