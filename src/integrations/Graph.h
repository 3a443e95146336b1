#pragma once
// The graph every integration builds (UISP, Splynx, Sonar): sites, APs, clients and their devices,
// with rates and addresses, turned into the classic network.json + ShapedDevices.csv pair that
// the model reader (model/NetworkJson.h, model/ShapedDevicesCsv.h) reads like an operator's own
// files. Semantics follow LibreQoS's shared integration layer (integrationCommon.py,
// NetworkGraph; facts in shared/reference/libreqos-behaviour.md §1.0) and its topology compile
// modes (lqos_topology_compile compile_mode.rs, §1.2 "Compile modes"), with these differences:
//   - allow_subnets is applied as well as ignore_subnets, for every integration (LibreQoS's
//     Python layer applies only ignore_subnets);
//   - vendor-only rules (UISP's exclude_sites and exception_cpes) are GraphOptions the vendor's
//     code fills in, never read from another vendor's config section;
//   - exported node names are made unique (the model rejects duplicates; LibreQoS's ap_site
//     projection names a synthetic site after its AP, a duplicate);
//   - commit rates never exceed max rates (the model rejects min > max).
//
// Knows nothing of HTTP, vendors or files: it takes nodes and returns text. Not thread-safe;
// one Graph per build.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"
#include "integrations/Integration.h"

namespace sluice::integrations {

/// LibreQoS's NodeType without `root` (the root is implicit: nodes with no parent hang under it).
enum class NodeKind : uint8_t {
  Site,                ///< infrastructure site; exported to network.json
  Ap,                  ///< access point (or any infrastructure device); exported
  Client,              ///< a subscriber circuit; its Device children are its CSV rows
  ClientWithChildren,  ///< set by prepare() for a client that has non-device children
  Device,              ///< one CSV row of its parent client
};

/// "site", "ap", "client", "clientWithChildren", "device".
std::string_view nodeKindName(NodeKind kind);

/// One node as an integration adds it. Which fields matter depends on `kind` (noted per field).
struct GraphNode {
  /// Unique in the graph. Written as `Circuit ID` (Client) or `Device ID` (Device).
  std::string id;
  /// Display name: the network.json key (Site/Ap), `Circuit Name` (Client), `Device Name`
  /// (Device). Empty = `id`.
  std::string name;
  /// The parent's `id`; "" = the root. Resolved by prepare(); an id not in the graph is a
  /// warning and the node is re-attached to the root.
  std::string parentId;
  NodeKind kind = NodeKind::Site;
  /// Site/Ap: capacity; Client: the plan's max (HTB ceil). Mbps; 0 = GraphOptions' generated
  /// default (queues.generated_pn_download_mbps / _upload_mbps, as LibreQoS's NetworkNode).
  double downloadMbps = 0;
  double uploadMbps = 0;
  /// Client: commit rate (HTB rate) in Mbps; unset = max × GraphOptions::commitMultiplier.
  std::optional<double> downloadMinMbps;
  std::optional<double> uploadMinMbps;
  /// Site/Ap: network.json `id` and the circuits' `Parent Node ID` (e.g. "uisp:site:<uuid>");
  /// "" = none written. Generated nodes use ids starting "sluice:generated:".
  std::string networkJsonId;
  /// Site/Ap: network.json `virtual`: a logical node with no HTB class of its own, which does
  /// not limit its children (they are shaped as its parent's); its own rates are ignored. UISP's
  /// root site (LibreQoS hides it and promotes its children).
  bool isVirtual = false;
  std::optional<double> latitude;  ///< Site/Ap: network.json latitude/longitude when set
  std::optional<double> longitude;
  std::string address;  ///< Client: postal address (Circuit Name when circuit_name_as_address)
  std::string comment;  ///< Client: the `Comment` cell of its rows
  std::string mac;      ///< Device: `MAC`
  /// Device: addresses and prefixes, both families (the CSV's IPv4 / IPv6 columns).
  std::vector<IpNet> addresses;
  /// Device: negotiated Ethernet speed of the subscriber port in Mbps (0 = unknown); with
  /// GraphOptions::ethernetPortLimitsEnabled the circuit's max is capped at
  /// round(lowest positive speed × ethernetPortLimitMultiplier) (LibreQoS
  /// lqos_config/src/ethernet_port_limits.rs).
  double ethernetMbps = 0;
};

/// Topology projection applied before emitting (LibreQoS compile_mode.rs):
///   Full   the prepared tree as it is;
///   ApSite top-level sites holding APs: each circuit goes to the nearest Ap at or above its
///          parent, each such Ap under its nearest Site ancestor (or under a generated site
///          "(Generated Site) <ap name>" when it has none); circuits with no Ap above them
///          are unparented;
///   ApOnly top-level APs only (those that carry circuits), circuits as in ApSite;
///   Flat   network.json is {} and no circuit has a parent.
enum class CompileMode : uint8_t { Flat, ApOnly, ApSite, Full };

/// "flat", "ap_only", "ap_site", "full".
std::string_view compileModeName(CompileMode mode);
/// Parses a mode name as LibreQoS accepts it ("full2" is an alias of "full"); case-sensitive.
std::optional<CompileMode> parseCompileMode(std::string_view text);

/// A rule that forces a node's parent (UISP's exception_cpes).
struct ParentException {
  std::string node;    ///< a node's id or name; a Device's exception moves its client
  std::string parent;  ///< the parent's id, networkJsonId or name
};

/// Everything the graph needs from lqos.conf, plus the vendor-only rules.
struct GraphOptions {
  double generatedPnDownloadMbps = 1000;  ///< queues.generated_pn_download_mbps
  double generatedPnUploadMbps = 1000;    ///< queues.generated_pn_upload_mbps
  double downlinkBandwidthMbps = 1000;    ///< queues.downlink_bandwidth_mbps: top clamp (down)
  double uplinkBandwidthMbps = 1000;      ///< queues.uplink_bandwidth_mbps: top clamp (up)
  /// integration_common.promote_to_root: nodes whose parent has one of these names are
  /// attached to the root (and, by name, these nodes themselves).
  std::vector<std::string> promoteToRoot;
  std::vector<IpNet> ignoreSubnets;  ///< ip_ranges.ignore_subnets: addresses inside are dropped
  /// ip_ranges.allow_subnets: addresses outside all of these are dropped (empty = allow all).
  std::vector<IpNet> allowSubnets;
  bool circuitNameAsAddress = false;        ///< integration_common.circuit_name_as_address
  bool ethernetPortLimitsEnabled = true;    ///< integration_common.ethernet_port_limits_enabled
  double ethernetPortLimitMultiplier = 0.94;  ///< integration_common.ethernet_port_limit_multiplier
  /// Commit (min) rate when a client sets none: max × this (LibreQoS's Python layer: 0.98).
  double commitMultiplier = 0.98;
  /// Floor of every circuit rate in Mbps (LibreQoS's Python layer: 1.0; UISP: 0.1).
  double minimumRateMbps = 1.0;
  /// Vendor-only (UISP exclude_sites): nodes with these names are not added (their subtree
  /// becomes unreachable and is re-attached to the root, as in LibreQoS).
  std::vector<std::string> excludeNames;
  /// Vendor-only (UISP exception_cpes), applied by prepare() before parents are resolved.
  std::vector<ParentException> parentExceptions;
};

class Graph {
 public:
  explicit Graph(GraphOptions options);

  /// Adds a node. Errors: EINVAL for an empty id or an id already in the graph (naming it). A
  /// node named in excludeNames is skipped with a warning (not an error).
  Result<void> addNode(GraphNode node);

  /// LibreQoS's prepareTree(), in order: (0) parentExceptions; (1) resolve parentId (an
  /// unknown one warns; a parent named in promoteToRoot sends the child to the root);
  /// (2) clients with non-device children become ClientWithChildren; (3) each of those gets a
  /// generated site "<id>_gen" named "(Generated Site) <name>" in its place, holding it (as a
  /// Client again) and its non-device children; (4) sites and clients under a client (including
  /// a Device's client) move up to that client's parent; (5) nodes unreachable from the root
  /// (cycles) are re-attached to it; (6) device addresses in ignoreSubnets or outside
  /// allowSubnets are dropped, and so is an address listed twice or equal to / overlapping one
  /// an earlier circuit holds (the model refuses both; integrations/AddressClaims.h), then
  /// devices with no address, then clients with no device left (each with a warning). Call
  /// once, after the last addNode().
  void prepare();

  /// The two files for `mode` (see CompileMode) from the prepared graph:
  ///   network.json  Site/Ap/ClientWithChildren nodes keyed by (unique) name, children sorted
  ///                 by name, `downloadBandwidthMbps`/`uploadBandwidthMbps` clamped to the
  ///                 parent's (from downlink/uplinkBandwidthMbps at the top; a virtual node
  ///                 takes its parent's), `type`, `id` when set, `virtual` when true,
  ///                 latitude/longitude when set, `children` when any;
  ///   ShapedDevices one row per (Client, Device), the 15-column header (ShapingFiles), every
  ///                 cell quoted; Parent Node = the exported parent's name ("" under the root),
  ///                 Parent Node ID its networkJsonId, Anchor Node ID = Parent Node ID in Full
  ///                 mode (empty in the projections, as LibreQoS clears anchors there); rates
  ///                 rounded to 2 decimals, floored at minimumRateMbps, min ≤ max, then the
  ///                 Ethernet cap.
  /// Errors: EINVAL if prepare() has not run.
  Result<ShapingFiles> emit(CompileMode mode) const;

  const std::vector<GraphNode>& nodes() const { return nodes_; }
  /// Index of the node with `id` in nodes(), or -1.
  int32_t find(std::string_view id) const;
  /// After prepare(): index of each node's parent in nodes() (-1 = the root).
  const std::vector<int32_t>& parents() const { return parents_; }
  /// What was dropped or guessed so far, one sentence each.
  const std::vector<std::string>& warnings() const { return warnings_; }
  const GraphOptions& options() const { return options_; }

 private:
  GraphOptions options_;
  std::vector<GraphNode> nodes_;
  std::unordered_map<std::string, int32_t> index_;  ///< id -> index into nodes_
  std::vector<int32_t> parents_;
  std::vector<std::string> warnings_;
  bool prepared_ = false;

  friend struct GraphAccess;  // the split implementation files (GraphPrepare.cpp, ...)
};

/// Parses an address as vendors write it: "a.b.c.d", "a.b.c.d/n", "x::y", "x::y/n", blanks
/// trimmed. An interface address written with its netmask ("10.0.0.5/24": host bits set) is the
/// host alone (/32 or /128), as LibreQoS's fixSubnet() reads it; a network address
/// ("10.0.0.0/24") is kept as a prefix. nullopt for anything else (the caller warns).
std::optional<IpNet> parseVendorAddress(std::string_view text);

/// One-call form: adds `nodes` (stopping at the first addNode error), prepares, emits.
Result<ShapingFiles> buildShapingFiles(std::vector<GraphNode> nodes, GraphOptions options,
                                       CompileMode mode);

}  // namespace sluice::integrations
