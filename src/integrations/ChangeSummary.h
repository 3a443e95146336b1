#pragma once
// What a sync would change, computed from two parsed models (the inputs in force and the ones an
// integration or custom pipeline produced): circuits added, removed, re-parented, speed changes,
// and nodes added, removed or changed. `sluice integration run --dry-run` prints it, the sync
// status keeps it, and the mass-change guard decides on it.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/Model.h"

namespace sluice::integrations {

/// One circuit whose rates differ (Mbps; min = HTB rate, max = HTB ceil).
struct SpeedChange {
  std::string circuitId;
  double downloadMinMbps[2] = {0, 0};  ///< {before, after}
  double uploadMinMbps[2] = {0, 0};
  double downloadMaxMbps[2] = {0, 0};
  double uploadMaxMbps[2] = {0, 0};
};

struct Reparent {
  std::string circuitId;
  std::string from;  ///< parent node name before ("" = unparented)
  std::string to;
};

struct SyncChanges {
  size_t circuitsBefore = 0;
  size_t circuitsAfter = 0;
  std::vector<std::string> circuitsAdded;    ///< Circuit IDs, sorted
  std::vector<std::string> circuitsRemoved;  ///< Circuit IDs, sorted
  std::vector<Reparent> circuitsReparented;  ///< by Circuit ID
  std::vector<SpeedChange> speedChanges;     ///< by Circuit ID
  /// Circuits whose devices, addresses, name, or sqm changed (rates and parent aside).
  std::vector<std::string> circuitsOtherwiseChanged;
  std::vector<std::string> nodesAdded;    ///< node names, sorted
  std::vector<std::string> nodesRemoved;  ///< node names, sorted
  std::vector<std::string> nodesChanged;  ///< rates, type, parent or virtual changed

  bool empty() const;
  /// Share of the circuits in force that the sync would remove or re-parent (0..1; 0 when there
  /// were none before): what the mass-change guard compares with its threshold.
  double disruptiveShare() const;
  /// One line, e.g. "3 circuits added, 1 removed, 0 re-parented, 2 speed changes, 0 other; nodes
  /// 0 added, 0 removed, 1 changed".
  std::string summary() const;
  /// The whole change as JSON for the API and `--json`, lists capped at `maxListed` entries each
  /// (with the full counts alongside).
  nlohmann::json toJson(size_t maxListed = 200) const;
};

/// Compares `before` and `after` by Circuit ID and node name. Rates compare exactly as parsed
/// (both sides come from the same reader). Pure; no errors.
SyncChanges compareModels(const model::Model& before, const model::Model& after);

}  // namespace sluice::integrations
