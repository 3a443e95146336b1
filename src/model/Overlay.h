#pragma once
// The overlay: changes that sluiced's adaptive modules own, laid over the operator's inputs
// before every plan (start, reload, and each overlay change). The operator's files are never
// written: a reload re-reads them and lays the same overlay over the new inputs, so an overlay
// entry lives until its owner removes it.
//
//   - circuits:    dynamic circuits (RADIUS accounting, src/radius): added to ShapedDevices;
//   - nodeRates:   a node's HTB rate/ceil replaced (StormGuard, src/stormguard);
//   - circuitSqm:  a circuit's leaf kind replaced (TreeGuard's CAKE <-> fq_codel, src/treeguard);
//   - virtualNodes: nodes made virtual, their children promoted (TreeGuard's node virtualisation).
//
// An entry that no longer fits the operator's inputs (its node or circuit is gone, its circuit ID
// or an address is already in ShapedDevices.csv) is skipped with a warning naming the owner and
// the reason; the operator's inputs always win. A skipped entry stays in the overlay and applies
// again when the inputs allow it.

#include <map>
#include <set>
#include <string>

#include "model/Inputs.h"
#include "model/Model.h"

namespace sluice::model {

/// A node's rates as an overlay sets them (Mbit/s; 0 keeps the file's value for that direction).
struct NodeRateOverride {
  double downloadMbps = 0;
  double uploadMbps = 0;
  bool operator==(const NodeRateOverride&) const = default;
};

struct Overlay {
  /// Dynamic circuits by circuit ID. Each needs a parentNode (and parentNodeId, if set) that
  /// exists in network.json (or empty, for the generated parent nodes) and at least one device
  /// address.
  std::map<std::string, Circuit> circuits;
  /// Node name -> rates.
  std::map<std::string, NodeRateOverride> nodeRates;
  /// Circuit ID -> leaf kinds (Default in a direction keeps what the inputs say).
  std::map<std::string, SqmOverride> circuitSqm;
  /// Node names to make virtual.
  std::set<std::string> virtualNodes;

  bool empty() const {
    return circuits.empty() && nodeRates.empty() && circuitSqm.empty() && virtualNodes.empty();
  }
};

/// What applyOverlay did.
struct OverlayReport {
  size_t circuitsAdded = 0;
  size_t nodeRatesSet = 0;
  size_t circuitSqmSet = 0;
  size_t nodesVirtualized = 0;
  size_t skipped = 0;  ///< entries that did not fit (each also a warning in the diagnostics)
};

/// Lays `overlay` over `inputs` (already loaded and validated without errors): adds the dynamic
/// circuits (skipping one whose ID or any address is already a circuit's, whose parent node does
/// not exist, or that has no address), sets node rates (skipping unknown nodes and rates that are
/// not positive finite numbers), circuit leaf kinds (skipping unknown circuits) and virtual nodes
/// (skipping unknown nodes). Each skip adds a warning of category "overlay-skipped" to
/// inputs.diagnostics, located at `source` (e.g. "radius" for a dynamic circuit) and naming the
/// entry and the reason. Never adds an error: a plan that the overlay makes impossible is the
/// planner's to refuse.
OverlayReport applyOverlay(const Overlay& overlay, Inputs& inputs);

}  // namespace sluice::model
