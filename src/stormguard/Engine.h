#pragma once
// StormGuard over the watched set: one DelayProbe per node and direction, the structural rules
// (a node that leaves the watched set or whose plan the operator changed loses its adjustment),
// replay of persisted adjustments, the overlay entries that put the adjustments in force, and the
// status and history an operator reads. Pure: signals and time come in, decisions go out, and the
// caller (daemon/StormGuardService) applies them through Shaper::changeOverlay and reports back.
// Not thread-safe: one owner thread, or the caller's lock.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/Overlay.h"
#include "stormguard/DelayProbe.h"
#include "stormguard/Settings.h"
#include "stormguard/Watch.h"

namespace sluice::stormguard {

/// One tick's measurements of one node (the telemetry collector's node rollup).
struct NodeSignals {
  double downMbps = 0;  ///< throughput toward the subscribers
  double upMbps = 0;
  std::optional<double> rttMs;    ///< p90 TCP RTT of the flows of the node's circuits
  double retransmitFraction = 0;  ///< 0..1, both directions
};

enum Direction : uint8_t { kDown = 0, kUp = 1 };

/// A decision to apply: node, direction, the controller's decision and the rate it starts from.
struct NodeDecision {
  std::string node;
  Direction direction = kDown;
  Decision decision;
  double fromMbps = 0;
};

class Engine {
 public:
  /// History points kept per node (1 s each: 10 minutes).
  static constexpr size_t kHistory = 600;
  /// A direction takes the node's RTT when it is the busier one (throughput / its rate), or
  /// when it uses at least this share of its rate itself.
  static constexpr double kRttLoadShare = 0.5;

  explicit Engine(Settings settings) : settings_(std::move(settings)) {}
  const Settings& settings() const { return settings_; }

  /// Installs the watched set of the plan in force (after a start or any reload). For each node
  /// already watched: a direction at its plan takes the plan's new rate (its controller starts
  /// over when that changed); an adjusted node keeps its adjustment unless network.json's rates
  /// for it changed (the operator re-planned it: the adjustment is discarded and the node starts
  /// at its new plan). Nodes no longer watched are dropped. Returns "node: why" for every
  /// adjustment discarded.
  std::vector<std::string> setWatched(const Selection& selection);

  /// Replays persisted adjustments: one whose node is watched with the same plan and
  /// network.json rates is restored (the controller continues from its rate, clamped to the
  /// bounds); any other is discarded. Returns "node: why" for every one discarded.
  std::vector<std::string> replay(const std::vector<Adjustment>& adjustments);

  /// One tick: feeds each watched node's signals (a node without signals gets an idle sample)
  /// to both controllers, the RTT and retransmits to the busier direction (see kRttLoadShare).
  /// Returns the decisions with an action; every decision, acted on or not, is kept as the
  /// direction's last decision for status(). `now`: monotonic seconds; `wallSeconds`: UNIX time of
  /// the tick for the history.
  std::vector<NodeDecision> tick(const std::map<std::string, NodeSignals>& signals, double now,
                                 double wallSeconds);
  /// The outcome of applying `decisions` (all or none): ok moves each controller to its target
  /// and starts its cooldown; failure changes nothing (decided again next tick).
  void reportApplied(const std::vector<NodeDecision>& decisions, bool ok, double now);

  /// Every node held below its plan in a direction.
  std::vector<Adjustment> adjustments() const;
  /// The overlay's node rates that put adjustments() in force (0 = that direction at its plan);
  /// with `pending`, as they will be once those decisions are applied.
  std::map<std::string, model::NodeRateOverride> overrides(
      const std::vector<NodeDecision>& pending = {}) const;
  /// Whether any node is held below its plan.
  bool adjusted() const;

  /// {"nodes": [{"name", "rtt_ms", "retransmit_pct", "download": {...}, "upload": {...},
  /// "history": [...]?}]}; a direction: planned_mbps, current_mbps, minimum_mbps,
  /// throughput_mbps, baseline_rtt_ms, changes, last: {action, why, at}. History points:
  /// [unix_s, down_rate_mbps, up_rate_mbps, down_mbps, up_mbps, rtt_ms|null, baseline_ms|null].
  nlohmann::json status(bool withHistory) const;
  /// Prometheus text (format 0.0.4) of the per-node gauges and counters (docs/stormguard.md).
  std::string prometheus() const;
  /// The number of rate changes applied (or, in a dry run, that would have been).
  uint64_t changes() const { return changes_; }

 private:
  struct Last {
    std::string action = "none";
    std::string why;
    double wallSeconds = 0;
  };
  struct DirectionState {
    DelayProbe probe;
    Last last;
    double throughputMbps = 0;
    std::map<std::string, uint64_t> changes;  ///< applied actions by name
  };
  struct NodeState {
    WatchedNode node;
    std::vector<DirectionState> dirs;  ///< [kDown, kUp]
    NodeSignals last;
    std::deque<std::array<double, 7>> history;
  };
  DirectionState makeDirection(double plannedMbps, Direction d) const;
  static bool adjusted(const NodeState& s);

  Settings settings_;
  std::map<std::string, NodeState> nodes_;
  std::vector<std::string> order_;  ///< watched names in network.json order
  uint64_t changes_ = 0;
};

}  // namespace sluice::stormguard
