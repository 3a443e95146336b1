#pragma once
// TreeGuard as sluiced runs it, without the daemon: enrolment from the inputs in force, one tick
// of both state machines (Circuits.h, Nodes.h), the overlay entries TreeGuard owns
// (model::Overlay::circuitSqm and ::virtualNodes), the persisted state, the activity ring and the
// status/metrics. Nothing here touches the kernel, a clock or a file: the caller
// (daemon/TreeGuardService.h) reads the signals, passes the time in, applies the overlay through
// the shaper and reports the outcome. Not thread-safe: one owner thread (the service serializes
// ticks and status reads with its own mutex).
//
// Enrolment (setInputs), on top of the state machines' own rules:
//   - circuits: every circuit of ShapedDevices except dynamic ones (overlay circuits, e.g.
//     RADIUS) and circuits sharing a Device ID with another circuit (LibreQoS skips both); per
//     direction the base is the leaf the planner picks without an `sqm` cell
//     (planner/LeafSelection.h with SqmKind::Default): CAKE directions are switchable, others
//     never. A direction the operator set in the `sqm` column is an operator override: never
//     switched. Capacity = the plan's max rate after fix-ups.
//   - nodes: every node of network.json, capacity = its rates in the plan; "virtual": true in the
//     file means never managed.
//   Entities whose spec did not change keep their state (utilisation, dwell, what is applied);
//   entities gone from the inputs are forgotten and their overlay entries dropped.
//
// Overlay: TreeGuard is the only writer of circuitSqm and virtualNodes. layOver() writes both
// fields whole from the applied state plus this tick's decisions (a CAKE direction is Default:
// the base), so stale entries disappear with the next apply.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "model/Inputs.h"
#include "model/Overlay.h"
#include "planner/QueuePlan.h"
#include "treeguard/Circuits.h"
#include "treeguard/Nodes.h"

namespace sluice::treeguard {

/// One tick's signals: per circuit and node throughput (absent = no traffic), the busiest core.
struct Signals {
  std::map<std::string, CircuitSignal> circuits;
  std::map<std::string, NodeSignal> nodes;
  std::optional<double> cpuMaxPct;
};

/// What a tick decided (or what a restore replays).
struct Decisions {
  std::vector<SqmChange> circuits;
  std::vector<NodeChange> nodes;
  size_t deferred = 0;   ///< circuit changes left for a later tick by the budget
  bool restore = false;  ///< replaying persisted state: applied without counting as changes
  bool empty() const { return circuits.empty() && nodes.empty(); }
};

/// One entry of the activity ring (newest last).
struct Activity {
  int64_t unixMs = 0;
  std::string kind;     ///< "circuit" or "node"
  std::string id;       ///< circuit ID or node name
  std::string change;   ///< "down cake -> fq_codel", "virtualise", "restore", ...
  std::string why;      ///< the state machine's reason
  std::string outcome;  ///< "applied", "dry-run", "failed: <reason>"
};

/// LibreQoS keeps the last 200 TreeGuard activities (libreqos-behaviour.md §3 Outputs).
inline constexpr size_t kActivityRing = 200;

class Controller {
 public:
  explicit Controller(Settings settings, size_t circuitBudget = kMaxCircuitChangesPerTick);

  const Settings& settings() const { return settings_; }

  /// Enrols the circuits and nodes of `inputs` (the inputs in force, overlay laid) planned as
  /// `plan` (see the header comment). `dynamicCircuits`: the overlay's circuit IDs.
  void setInputs(const model::Inputs& inputs, const plan::QueuePlan& plan,
                 const std::set<std::string>& dynamicCircuits, double nowSeconds);

  /// One tick of both state machines; [treeguard] enabled = false decides nothing.
  Decisions tick(const Signals& signals, double nowSeconds);

  /// Writes TreeGuard's overlay fields (circuitSqm, virtualNodes) as they are once `decisions`
  /// are applied; the rest of `overlay` is left alone.
  void layOver(const Decisions& decisions, model::Overlay& overlay) const;

  /// The outcome of applying `decisions` (one changeOverlay for all of them): `ok` makes them
  /// current (a restore without counting them as changes), a failure changes nothing (retried by
  /// a later tick). `outcome` is recorded in the activity ring ("applied", "dry-run",
  /// "failed: ..."): dry-run decisions are made current too, so a dry run shows what TreeGuard
  /// would do over time.
  void reportApplied(const Decisions& decisions, bool ok, const std::string& outcome,
                     double nowSeconds, int64_t unixMs);

  /// The state to persist: {"version": 1, "circuits": {"<id>": "<down>/<up>"}, "nodes": [..]}
  /// with LibreQoS's `down/up` SQM tokens ("fq_codel/cake"); only circuits with a direction on
  /// fq_codel (when [treeguard.circuits] persist_sqm_overrides) and virtual nodes.
  nlohmann::json saveJson() const;
  /// The decisions that bring back a saved state (saveJson's shape) for what is still enrolled
  /// and switchable; entries that no longer fit are left out and counted in `skipped`.
  /// Errors: EINVAL naming the first entry that is not of saveJson's shape.
  Result<Decisions> restoreFrom(const nlohmann::json& saved, size_t* skipped = nullptr) const;

  /// GET /api/treeguard's circuits/nodes/activity part (docs/treeguard.md): every enrolled node,
  /// the enrolled circuits with a direction off its base first, at most `maxCircuits` circuits.
  nlohmann::json statusJson(double nowSeconds, size_t maxCircuits = 1000) const;
  /// Counts for the metrics: enrolled circuits, directions on fq_codel, enrolled and virtual
  /// nodes, changes by kind and outcome since start.
  struct Counts {
    size_t circuits = 0, fqCodelDirections = 0, nodes = 0, virtualNodes = 0;
    std::map<std::string, uint64_t> changes;  ///< "circuit applied", "node failed", ...
  };
  Counts counts() const;
  const std::deque<Activity>& activity() const { return activity_; }

 private:
  void record(Activity a);

  Settings settings_;
  CircuitGuard circuits_;
  NodeGuard nodes_;
  std::map<std::string, uint64_t> changeCounts_;
  std::deque<Activity> activity_;
};

/// "cake/fq_codel"-style token of a circuit's two directions; parseSqmToken reads it back
/// (a single token means both directions, as in LibreQoS's overrides). nullopt: not a token.
std::string sqmToken(Sqm down, Sqm up);
std::optional<std::array<Sqm, 2>> parseSqmToken(const std::string& token);

}  // namespace sluice::treeguard
