#pragma once
// Which nodes StormGuard watches, and the rates it holds them to: the plan's, or a persisted
// adjustment's. Pure functions of the inputs and plan in force; no kernel, no clock.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "model/Model.h"
#include "planner/QueuePlan.h"
#include "stormguard/Settings.h"

namespace sluice::stormguard {

/// One watched node as the plan in force has it (Mbit/s).
struct WatchedNode {
  std::string name;
  double plannedDownMbps = 0;   ///< the plan's node rate (NodePlacement::downloadMaxMbps)
  double plannedUpMbps = 0;
  double operatorDownMbps = 0;  ///< network.json's value for the node (0 = inherits)
  double operatorUpMbps = 0;
  bool operator==(const WatchedNode&) const = default;
};

struct Selection {
  std::vector<WatchedNode> nodes;
  /// Targets that name no node with a class in the plan ("name: why"), for the log and status.
  std::vector<std::string> missing;
};

/// The watched set: `settings.targets` (each must be a node of `network` with an HTB class in
/// `plan`: not virtual, not a circuit), or with `settings.allSites` every node of `network`
/// without child nodes (LibreQoS's rule: nodes that are not parents of other nodes, i.e. the
/// sites and APs that circuits hang off, not the top level above them) that has a class, minus
/// `settings.excludeSites`. Generated parent nodes are never watched. Order: network.json order.
/// Empty when !settings.enabled.
Selection selectTargets(const Settings& settings, const model::Network& network,
                        const plan::QueuePlan& plan);

/// Replaces the operator rates of `selection`'s nodes by those of `operatorNetwork` (network.json
/// as read, without the overlay: the snapshot's network carries StormGuard's own rates while an
/// adjustment is in force). A node missing there gets -1 (so it differs from any rate).
void setOperatorRates(Selection& selection, const model::Network& operatorNetwork);

/// One persisted adjustment: a node held below its plan in one or both directions.
struct Adjustment {
  std::string node;
  std::optional<double> downMbps;  ///< nullopt: at the plan
  std::optional<double> upMbps;
  double plannedDownMbps = 0;  ///< the plan it was made under (a changed plan discards it)
  double plannedUpMbps = 0;
  double operatorDownMbps = 0;  ///< network.json's rates it was made under
  double operatorUpMbps = 0;
  bool operator==(const Adjustment&) const = default;
};

/// JSON of the state file (<state dir>/stormguard/adjustments.json):
///   {"version": 1, "adjustments": [{"node", "download_mbps"|null, "upload_mbps"|null,
///     "planned_download_mbps", "planned_upload_mbps", "operator_download_mbps",
///     "operator_upload_mbps"}]}
nlohmann::json adjustmentsJson(const std::vector<Adjustment>& adjustments);
/// Parses adjustmentsJson's text. Errors: EINVAL naming `name` and what is wrong.
Result<std::vector<Adjustment>> parseAdjustments(const std::string& text, const std::string& name);
/// Reads the state file; a missing file is empty. Errors: unreadable or invalid (EINVAL).
Result<std::vector<Adjustment>> loadAdjustments(const std::string& path);
/// Writes the state file atomically (temporary file, fsync, rename), creating its directory.
/// Errors: the failing call's errno naming the path.
Result<void> saveAdjustments(const std::string& path, const std::vector<Adjustment>& adjustments);

}  // namespace sluice::stormguard
