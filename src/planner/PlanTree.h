#pragma once
// Internal to the planner: the working tree the planning stages pass along. Not a public API
// (the result is plan::QueuePlan); split out so that each stage can live in its own file and be
// tested on its own.
//
// Stages (Planner.cpp runs them in this order):
//   buildTree          Topology.cpp      nodes + generated parent nodes, circuit parents, virtual
//                                        promotion, depth flattening
//   fixBandwidth       Bandwidth.cpp     inherit/cap node rates, cap circuit maxes
//   assignQueues       QueueAssignment.cpp  round-robin or binpacking of top-level items
//   squashGuarantees   Bandwidth.cpp     squash oversubscribed guarantees
//   allocateClasses    ClassAllocation.cpp  minors, HTB classes, leaves, leaf handles
//   buildAddressMap    AddressMap.cpp

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "model/Model.h"
#include "planner/QueuePlan.h"

namespace sluice::plan::detail {

/// Class parent value meaning "directly under the queue's link class M:1".
inline constexpr int32_t kUnderLink = -1;

struct TreeNode {
  int32_t modelIndex = -1;  ///< index into model::Network::nodes; -1 for generated nodes
  bool generated = false;
  bool isVirtual = false;
  int32_t logicalParent = -1;  ///< tree index of the network.json parent (may be virtual)
  /// Tree index of the node whose class this node's class (or, for a virtual node, its children's
  /// classes) hangs under: the nearest non-virtual ancestor after flattening, or kUnderLink.
  int32_t classParent = kUnderLink;
  uint32_t classDepth = 0;  ///< 0 = directly under the link class (non-virtual nodes only)
  bool flattened = false;   ///< re-parented by depth flattening
  /// Tree index of the queue item this node takes its queue from (-1 = none: a virtual node with
  /// no class and no circuits of its own; it reports queue 0).
  int32_t queueItem = -1;
  uint16_t queue = 0;
  uint16_t minor = 0;  ///< class minor (0 for virtual nodes)
  double downMax = 0;  ///< ceil after fix-ups (Mbps)
  double upMax = 0;
  double downRate = 0;  ///< HTB rate (Mbps)
  double upRate = 0;
};

struct TreeCircuit {
  int32_t logicalParent = -1;        ///< tree node the circuit names (may be virtual or generated)
  int32_t classParent = kUnderLink;  ///< tree node whose class is the circuit class's parent
  int32_t queueItem = -1;            ///< tree node the circuit takes its queue from
  uint16_t queue = 0;
  uint16_t minor = 0;
  double downMin = 0;  ///< after fix-ups (Mbps)
  double upMin = 0;
  double downMax = 0;
  double upMax = 0;
};

struct PlanTree {
  std::vector<TreeNode> nodes;        ///< model nodes in model (pre-)order, then generated nodes
  std::vector<TreeCircuit> circuits;  ///< parallel to model::ShapedDevices::circuits
  int32_t firstGenerated = -1;        ///< tree index of Generated_PN_1, -1 when none were needed
  uint16_t queueCount = 1;
  double linkDownMbps = 0;  ///< downlink_bandwidth_mbps: ceil of every download link class
  double linkUpMbps = 0;    ///< uplink_bandwidth_mbps
};

/// Name of generated parent node `i` (0-based): "Generated_PN_<i+1>" (LibreQoS's naming).
std::string generatedNodeName(uint32_t i);

/// Builds the tree: one TreeNode per model node, Generated_PN_1..Q when any circuit has no parent,
/// circuit → node resolution (Parent Node by name, else Parent Node ID), class parents skipping
/// virtual nodes and flattening below the 5th site level (warning "planner-depth-flattened").
/// An unknown parent (validation should have caught it) is an error "planner-unknown-parent".
/// Returns false on errors.
bool buildTree(const model::Model& model, const config::Config& config, uint16_t queueCount,
               PlanTree& tree, Diagnostics& diags);

/// Bandwidth fix-ups (DESIGN §3/§4), in place:
///   - a node rate of 0 inherits its class parent's max (the link rate at the top);
///   - a node max above its class parent's max is capped (warning "planner-node-rate-capped");
///   - node HTB rate = min(own max, class parent's rate);
///   - circuit maxes above the parent's max are capped (one warning per node and direction,
///     "planner-circuit-rate-capped"); min = min(min, max).
/// Unparented circuits are capped against the generated nodes' rates (all generated nodes have the
/// same rates, so this does not depend on which one assignQueues picks).
void fixBandwidth(const model::Model& model, PlanTree& tree, Diagnostics& diags);

/// Squashing (LibreQoS "nodes_requiring_min_squashing"), after assignQueues: when the guaranteed
/// rates of the circuits directly under a node exceed the node's HTB rate, those circuits' mins
/// become 1 Mbps, and if count × 1 Mbps still exceeds it, 0.01 Mbps (never above the circuit's
/// max), one warning "planner-min-squashed" per node and direction. Circuits directly under the
/// link class (children of a virtual top-level node) are not squashed.
void squashGuarantees(const model::Model& model, PlanTree& tree, Diagnostics& diags);

/// Assigns every node and circuit a queue: generated nodes to their own queue, unparented circuits
/// to generated nodes round-robin in file order (binpacking: heaviest first to the lightest), top
/// items (top-level classes, promoted children of virtual top-level nodes, virtual nodes with
/// circuits of their own) round-robin in tree order, or by binpacking on the sum of their circuits'
/// download + upload max rates (heaviest first, ties by name; lightest queue, ties by index).
void assignQueues(const model::Model& model, bool useBinpacking, PlanTree& tree);

/// Allocates minors per queue (1 link, 2 default, nodes from 3 in tree order, then circuits in file
/// order); more than 0xFFFF minors in a queue is an error "planner-minor-overflow" naming the
/// queue. Then builds the interface plans (classes, leaves, leaf handle majors). Returns false on
/// errors.
bool allocateClasses(const model::Model& model, const config::Config& config, PlanTree& tree,
                     QueuePlan& plan, Diagnostics& diags);

/// Fills plan.addresses (sorted by prefix) from the circuits' devices.
void buildAddressMap(const model::Model& model, QueuePlan& plan);

}  // namespace sluice::plan::detail
