#pragma once
// The lab's fixed names and addresses, and the subscriber addresses derived from the inputs.
//
// Bridge mode (DESIGN §1: download shaped on egress of the subscriber-facing port, upload on
// egress of the Internet-facing one):
//
//   netns isp                    netns shaper                          netns subs
//   ┌──────────────────┐   ┌────────────────────────────────────┐   ┌────────────────────────┐
//   │ iperf3 -s :5201..│   │  shp-inet ── br-sluice ── shp-subs  │   │ one host address per   │
//   │ isp0             ╞═══╡  (8 txq,      (Linux       (8 txq, ╞═══╡ circuit address, plus  │
//   │ 198.51.100.1/32  │   │   XDP, mq/HTB  bridge)   mq/HTB     │   │ the unknown ones       │
//   │ 2001:db8:ffff::1 │   │   = upload)              = download)│   │ subs0                  │
//   │ default dev isp0 │   │  sluiced --foreground               │   │ default dev subs0      │
//   └──────────────────┘   └────────────────────────────────────┘   └────────────────────────┘
//
// On a stick (one shaper port carrying two VLANs, as behind an operator's core switch):
//
//   netns isp     netns switch                                     netns shaper
//   isp0 ═══ sw-isp ── br-sw-inet ── sw-trunk.<inet vlan> ┐
//                                                        sw-trunk ═══ shp-stick (16 txq, XDP;
//   netns subs                                            │            download on queues 0..7,
//   subs0 ═══ sw-subs ── br-sw-subs ── sw-trunk.<net vlan> ┘            upload on 8..15)
//                                                      shp-stick.<inet vlan> ┐
//                                                      shp-stick.<net vlan>  ┴ br-sluice
//
//   A frame from isp enters the switch untagged, leaves the trunk tagged internet_vlan, comes up
//   on shp-stick.<internet_vlan>, is bridged to shp-stick.<network_vlan>, leaves shp-stick tagged
//   network_vlan (shaped there as download), and the switch delivers it untagged to subs. The
//   switch never forwards between the two VLANs itself, so the shaper is the only path.
//
// Routes are onlink (`default dev X`, no gateway): both ends resolve each other with ARP/ND
// across the bridge, so traffic between them is switched at L2 and crosses the shaper.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/IpNet.h"
#include "model/Model.h"

namespace sluice::lab {

enum class LabMode : uint8_t { Bridge, Stick };

inline constexpr const char* kIspNs = "isp";
inline constexpr const char* kShaperNs = "shaper";
inline constexpr const char* kSubsNs = "subs";
inline constexpr const char* kSwitchNs = "switch";  ///< on a stick only
/// Every namespace the lab may create, in teardown order.
inline const std::vector<std::string> kLabNamespaces = {kShaperNs, kIspNs, kSubsNs, kSwitchNs};

inline constexpr const char* kIspIf = "isp0";
inline constexpr const char* kSubsIf = "subs0";
inline constexpr const char* kShaperInternetIf = "shp-inet";
inline constexpr const char* kShaperNetworkIf = "shp-subs";
inline constexpr const char* kShaperStickIf = "shp-stick";
inline constexpr const char* kShaperBridge = "br-sluice";
inline constexpr const char* kSwitchInternetBridge = "br-sw-inet";
inline constexpr const char* kSwitchNetworkBridge = "br-sw-subs";
inline constexpr const char* kSwitchIspPort = "sw-isp";
inline constexpr const char* kSwitchSubsPort = "sw-subs";
inline constexpr const char* kSwitchTrunkPort = "sw-trunk";

/// Tx (and rx) queues of each bridge-mode shaper port; on a stick the one port gets twice as many
/// so that each direction still has this many (DESIGN §4: queues halve on a stick).
inline constexpr uint32_t kShaperQueues = 8;

/// The Internet-side iperf3 servers (documentation ranges, RFC 5737 / RFC 3849).
inline constexpr const char* kServerV4 = "198.51.100.1";
inline constexpr const char* kServerV6 = "2001:db8:ffff::1";
/// iperf3 serves one test at a time per port: this many servers run, ports kFirstPort...
inline constexpr uint16_t kFirstPort = 5201;
inline constexpr uint16_t kServerPorts = 16;

/// The addresses the subs namespace holds for one circuit (hosts: /32 and /128).
struct CircuitHosts {
  std::string circuitId;
  std::string circuitName;
  std::vector<IpNet> ipv4;
  std::vector<IpNet> ipv6;
};

/// The host address the lab assigns for one ShapedDevices.csv entry: an IPv4 /32 or IPv6 /128 as
/// is, the first usable host of a shorter prefix (IPv4 network+1 below /31, the network address
/// of a /31; IPv6 prefix::1).
IpNet hostFor(const IpNet& entry);

/// Every circuit's host addresses, in circuit order (devices and entries in file order).
std::vector<CircuitHosts> circuitHosts(const model::ShapedDevices& shaped);

/// An address of the given family inside none of the circuits' prefixes: for IPv4 the top of the
/// CGNAT range (100.127.255.254, then 100.127.254.254, ...), for IPv6 2001:db8:fffe::1 (then
/// 2001:db8:fffd::1, ...). nullopt only
/// when every candidate is taken.
std::optional<IpNet> unknownAddress(const model::ShapedDevices& shaped, bool v4);

}  // namespace sluice::lab
