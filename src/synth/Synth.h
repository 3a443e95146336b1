#pragma once
// Seeded generator of realistic synthetic ISPs (sites → POPs → APs → circuits), used by tests,
// benchmarks and `sluice-gen`. Same options → byte-identical output, on any standard library: the
// engine is std::mt19937_64 (fully specified by the standard) and every distribution is Sluice's
// own (std::uniform_*_distribution are implementation-defined).
//
// What a generated ISP looks like:
//   - network.json: `sites` top-level nodes (type "site", 1–10 Gbit, with coordinates), each with
//     `popsPerSite` POPs (type "pop", ≤ the site's rate), each with `apsPerPop` APs (type "ap",
//     100 Mbit–1 Gbit, ≤ the POP's rate). Names are unique ("Oakridge", "Oakridge Water Tower",
//     "Oakridge Water Tower AP2-NE").
//   - ShapedDevices.csv: circuits spread randomly over the APs (a `fiberShare` of them hang
//     directly off the POP), plans from 25/5 to 1000/100 Mbps (a few symmetric business plans),
//     never above the parent's rates; minimums are about a quarter of the maximums. Each circuit
//     has 1..devicesPerCircuitMax devices (each with a unique MAC, most with an IPv4 /32 from
//     100.64.0.0/10, some with a /29 or /30, some with an IPv6 /64 or /56 from 2001:db8::/32).
//     No address is used twice and no prefix overlaps another. 10.0.0.0/8 is used only after
//     100.64.0.0/10 is exhausted (beyond about 3 million devices).

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::synth {

struct SynthOptions {
  uint64_t seed = 1;
  uint32_t circuits = 100;
  uint32_t sites = 4;        ///< top-level nodes; 0 = flat network ({}), every circuit unparented
  uint32_t popsPerSite = 2;  ///< 0 = circuits attach to sites
  uint32_t apsPerPop = 3;    ///< 0 = circuits attach to POPs
  double devicesPerCircuitMax = 3;  ///< 1..max devices per circuit (P(k) halves with each k)
  double ipv6Share = 0.5;           ///< fraction of devices that also get an IPv6 /64 (or /56)
  double cidrShare = 0.05;          ///< fraction of devices whose IPv4 cell is a CIDR
  double sqmOverrideShare = 0.05;   ///< fraction of circuits with an sqm column override
  /// Fraction of circuits with sqm "none" (no leaf qdisc), drawn before the other overrides. A
  /// device holds at most 65,534 qdiscs, so above ~65k circuits per interface this must be > 0
  /// for the planner to accept the ISP (it reports "planner-leaf-handles-exhausted").
  double sqmNoneShare = 0.0;
  double unparentedShare = 0.0;  ///< fraction of circuits with an empty Parent Node
  double ipv6OnlyShare = 0.0;    ///< fraction of circuits whose devices have no IPv4 at all
  double fiberShare = 0.1;       ///< fraction of circuits parented on a POP instead of an AP
  /// Scale circuit minimums down where their sum would exceed 90% of the parent node's rate, so
  /// that the planner has nothing to squash (no oversubscription warnings).
  bool fitGuarantees = true;
};

/// What was generated (counted while generating; tests recount from the text).
struct SynthStats {
  uint32_t nodes = 0;
  uint32_t circuits = 0;
  uint32_t unparentedCircuits = 0;
  uint32_t devices = 0;
  uint32_t ipv4Entries = 0;  ///< IPv4 hosts and prefixes
  uint32_t ipv6Entries = 0;  ///< IPv6 prefixes
  uint32_t sqmOverrides = 0;
};

struct SynthFiles {
  std::string networkJson;
  std::string shapedDevicesCsv;
  SynthStats stats;
};

/// Generates a valid ISP (no validation errors) for the options. Throws std::invalid_argument
/// for nonsensical options (shares outside 0..1, devicesPerCircuitMax < 1) and std::length_error
/// when the options need more addresses than the pools hold.
SynthFiles generate(const SynthOptions& options);

/// Settings for a matching lqos.conf (LibreQoS 1.5 layout plus Sluice's `[sluice]` section).
struct LqosConfOptions {
  std::string toInternet = "eth0";  ///< [bridge] to_internet
  std::string toNetwork = "eth1";   ///< [bridge] to_network
  bool useXdpBridge = true;
  std::string defaultSqm = "cake diffserv4";
  double uplinkMbps = 10000;
  double downlinkMbps = 10000;
  std::string networkJson = "network.json";            ///< [sluice] network_json
  std::string shapedDevicesCsv = "ShapedDevices.csv";  ///< [sluice] shaped_devices_csv
  /// [ip_ranges] allow_subnets; the defaults cover every range the generator uses.
  std::vector<std::string> allowSubnets = {"100.64.0.0/10", "10.0.0.0/8", "2001:db8::/32"};
};

/// Renders lqos.conf text for the settings (bridge mode).
std::string renderLqosConf(const LqosConfOptions& options);

}  // namespace sluice::synth
