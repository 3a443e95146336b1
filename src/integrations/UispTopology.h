#pragma once
// UISP's infrastructure tree, as LibreQoS's "full2" strategy builds it (uisp_integration
// src/strategies/full2.rs, common.rs; reference §1.2 "Graph build"): sites and their devices are
// the vertices of a weighted graph (device<->site "ethernet" edges at the generated rate, and
// radio/wired data links between devices of different sites, each direction at the smaller of
// the two ends' capacities); the root is the configured site or the site(s) of the Internet
// uplink(s); every site is given the parent on its path of fattest links from the root (a
// shortest-path search with edge cost 10000 - capacity in Mbps, LibreQoS issue #334) and the
// smallest capacity along that path as its rates.

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/Error.h"
#include "integrations/Graph.h"
#include "integrations/UispCapacity.h"
#include "integrations/UispData.h"

namespace sluice::integrations::uisp {

/// Graph id of a UISP infrastructure site / device, also its network.json `id` and the
/// circuits' Parent Node ID ("uisp:site:<uuid>", "uisp:device:<uuid>", as LibreQoS writes).
std::string siteNodeId(const std::string& siteId);
std::string deviceNodeId(const std::string& deviceId);
/// Graph id of the generated "Orphans" site (circuits and sites with no path to the root).
inline constexpr const char* kOrphansId = "sluice:generated:uisp:site:orphans";

struct TopologyInput {
  const Data* data = nullptr;
  /// Sites and devices to leave out (exclude_sites, with the devices of excluded sites).
  std::unordered_set<std::string> excludedSites;
  std::unordered_map<std::string, std::string> siteNames;    ///< site id -> export name
  std::unordered_map<std::string, std::string> deviceNames;  ///< device id -> export name
  /// Client sites that exception_cpes places (no "linked to no AP" warning for them).
  std::unordered_set<std::string> exceptionClients;
  std::string rootSiteName;  ///< uisp_integration.site ("" = detect from the uplinks)
  bool ignoreCalculatedCapacity = false;  ///< APs at the generated rate
  CapacityRules capacity;
};

struct Topology {
  /// Site and Ap nodes (and "Orphans" when used), parentId set, rates from the path. A root
  /// site is a top-level virtual node (no HTB class: its children are shaped at the top, as
  /// LibreQoS hides it); with a generated root, the uplink sites are top level themselves.
  std::vector<GraphNode> nodes;
  /// Endpoint (client) site id -> graph id of its parent: an AP's deviceNodeId or kOrphansId.
  std::unordered_map<std::string, std::string> clientParent;
  std::vector<std::string> warnings;
};

/// Builds the tree. Errors (ENOENT): the configured root site does not exist (naming it) or is
/// a client site; no site is configured and no data link is marked as an Internet uplink
/// (canDelete = false), so there is no root.
Result<Topology> buildTopology(const TopologyInput& input);

}  // namespace sluice::integrations::uisp
