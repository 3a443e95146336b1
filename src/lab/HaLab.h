#pragma once
// `sluice lab ha up|down`: an active/backup shaper pair steered by OSPF, in namespaces
// (docs/ha.md). Routed, IPv4 (OSPFv2); both routers run FRR's zebra and ospfd (Debian `frr`);
// each shaper is a transparent bridge running its own sluiced on the same inputs:
//
//   ha-inet      ha-core (FRR)  ha-shp-a: shp-inet ─ br-sluice ─ shp-subs  ha-dist (FRR)  ha-subs
//   inet0 ═ core-inet  core-a ═══ (sluiced a, OSPF cost 1)          ═══ dist-a
//                      core-b ═══ (sluiced b, OSPF cost 100)        ═══ dist-b  dist-subs ═ subs0
//   ha-shp-b is built like ha-shp-a.
//
//   addresses: inet0 192.0.2.2/30 and 198.51.100.1/32 (iperf3, probes), core-inet 192.0.2.1/30;
//   core-a 192.0.2.5/30 ─ dist-a 192.0.2.6/30; core-b 192.0.2.9/30 ─ dist-b 192.0.2.10/30;
//   dist-subs 192.0.2.13/30 ─ subs0 192.0.2.14/30 plus one /32 per circuit address.
//
// OSPF area 0 on the four transit interfaces: point-to-point, hello 1 s, dead 3 s (a silent path
// is given up within 3 s; a link that goes down is given up at once). Costs 1 (a) and 100 (b) on
// both routers, so both directions take path a. The core redistributes its route to the
// Internet host, the distribution router its routes to the subscriber hosts (kernel routes, one
// /32 per host, onlink on dist-subs).
//
// Each sluiced gets the template lqos.conf with the lab's interfaces and an [ha] section: role,
// fail_mode = open, hold_down_seconds (default 5, short so the drill stays short), and a routing
// hook that sets its path's OSPF cost on both routers through vtysh (<state>/ospf-cost.sh):
// drain = 65535, restore = the path's own cost. Addresses are documentation ranges (RFC 5737)
// and the circuits' own; every one of them lives in a namespace the lab created.
//
// State directory (default /run/sluice-lab-ha): ha-lab.json, ospf-cost.sh, frr/<router>/ (config,
// logs, pids), a/ and b/ (each a lab state directory of lab/Lab.h: lqos.conf, inputs, sluiced's
// log, socket, state and bpffs).

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "lab/Lab.h"

namespace sluice::lab {

inline constexpr const char* kHaStateDir = "/run/sluice-lab-ha";
inline constexpr const char* kHaInetNs = "ha-inet";
inline constexpr const char* kHaCoreNs = "ha-core";
inline constexpr const char* kHaDistNs = "ha-dist";
inline constexpr const char* kHaSubsNs = "ha-subs";
/// Every namespace of the HA lab, in teardown order (shapers first: their sluiced detach).
inline const std::vector<std::string> kHaNamespaces = {"ha-shp-a", "ha-shp-b", kHaInetNs,
                                                       kHaCoreNs,  kHaDistNs,  kHaSubsNs};

/// One path: its shaper's namespace and the routers' interfaces towards it.
struct HaPath {
  const char* name;         ///< "a" (primary) | "b" (backup)
  const char* ns;           ///< the shaper's namespace
  const char* coreIf;       ///< on ha-core
  const char* distIf;       ///< on ha-dist
  const char* coreAddress;  ///< "192.0.2.5/30"
  const char* distAddress;
  int cost;  ///< OSPF cost when preferred/restored
};
inline constexpr std::array<HaPath, 2> kHaPaths{
    HaPath{"a", "ha-shp-a", "core-a", "dist-a", "192.0.2.5/30", "192.0.2.6/30", 1},
    HaPath{"b", "ha-shp-b", "core-b", "dist-b", "192.0.2.9/30", "192.0.2.10/30", 100}};
/// The cost the drain command sets: OSPF's largest interface cost (RFC 2328 §C.3: 16 bits).
inline constexpr int kHaDrainedCost = 65535;

struct HaUpOptions {
  std::string config;   ///< template lqos.conf; "" = tests/data/e2e/small's (then the demo's)
  std::string network;  ///< "" = the file the template names
  std::string devices;
  std::string sluiced;  ///< "" = as `sluice lab up` finds it
  std::string stateDir = kHaStateDir;
  uint32_t holdDownSeconds = 5;
  std::chrono::seconds readyTimeout{90};
};

/// What `up` built; persisted as ha-lab.json.
struct HaLabState {
  std::string stateDir;
  std::string templateConfig;
  std::string network;  ///< the inputs both shapers run (copies in each shaper's directory)
  std::string devices;
  std::string hookScript;
  uint32_t holdDownSeconds = 5;
  std::array<LabState, 2> shapers;  ///< a, b (LabState::netns = the shaper's namespace)

  nlohmann::json toJson() const;
  static HaLabState fromJson(const nlohmann::json& json);
};

/// Builds the routers (FRR), the two shaper bridges, the endpoints and their addresses, starts
/// iperf3 servers in ha-inet and both sluiced, waits until both are ready and OSPF carries both
/// directions over path a. Refuses when an HA lab exists (EEXIST) or frr is not installed
/// (ENOENT, naming tools/install-deps.sh). A failure removes what was built, except a sluiced
/// that does not become ready (the lab stays for inspection; the error has its log's tail).
Result<HaLabState> haLabUp(const HaUpOptions& options, const StatusQuery& status, std::FILE* log);

/// Stops both sluiced (SIGTERM), FRR and every other process in the lab's namespaces, deletes the
/// namespaces, FRR's runtime directories, the shapers' bpffs mounts and the state directory.
/// Idempotent; returns what it could not clean (empty = clean).
std::vector<std::string> haLabDown(const std::string& stateDir);

/// Reads ha-lab.json. ENOENT when no HA lab is up.
Result<HaLabState> loadHaLabState(const std::string& stateDir);

/// (Re)creates path `p`'s links: the two veth pairs between the routers and the shaper, the
/// shaper's bridge, the routers' addresses, checksum offload off and XPS cleared (as lab up).
Result<void> createHaPath(const HaPath& p);

/// Deletes the shaper's two ports (their peers on the routers go with them) and its bridge: the
/// host is gone.
Result<void> deleteHaPath(const HaPath& p);

/// Which path each router's route takes now: core -> `subscriber`, dist -> the Internet host.
/// "a", "b", or "core a, dist b" when they differ; "none" when a router has no route.
std::string carryingPath(const std::string& subscriber);

/// The argv of the routing hook for path `p` setting `cost` (ospf-cost.sh).
std::vector<std::string> ospfCostArgv(const HaLabState& lab, const HaPath& p, int cost);

}  // namespace sluice::lab
