#pragma once
// TreeGuard's node virtualisation ([treeguard.links], off by default) as a pure state machine:
// which nodes should become virtual (their HTB class removed, their children promoted to the
// parent) or be restored on this tick, and why. The caller applies the change live through the
// bakery and reports the outcome; virtualisation is runtime-only (a restart returns to the plan).
//
// Rules (LibreQoS lqosd/src/treeguard/decisions.rs decide_link_virtualization and actor.rs
// limits; shared/reference/libreqos-behaviour.md §3). util = the UtilTracker EWMA (State.h) of
// mbps / the node's capacity, per direction; CPU = the busiest core's %.
//   N1 enrolment: [treeguard.links] enabled, all_nodes or the node id in `nodes`, capacity > 0
//      in both directions, and not already virtual in network.json (`virtualInPlan`).
//   N2 virtualise when both directions have been idle (util < idle_util_pct) for
//      >= idle_min_minutes AND cpuAllowsSaving AND QoO not bad in either direction, unless
//      held by N4 or N5.
//   N3 restore when util >= unvirtualize_util_pct in either direction (traffic) OR QoO bad OR
//      (no RTT for rtt_missing_seconds AND not sustained idle). Restores are never held by the
//      dwell or the hourly limit (LibreQoS does the same).
//   N4 hold a virtualisation while less than min_state_dwell_minutes since the node's last
//      change or after max_link_changes_per_hour changes in the last hour.
//   N5 at most kMaxVirtualNodes nodes virtual at once (LibreQoS: 64); a virtualisation that
//      failed to apply is not retried for kFailureBackoffSeconds (LibreQoS: 15 min).
//   N6 budget: at most kMaxNodeChangesPerTick changes per tick (LibreQoS: 4), restores first
//      (the busiest first), then virtualisations (the longest idle first).
// Not here yet (docs/treeguard.md): LibreQoS's subtree-size floor (>= 8 nodes), refusal of
// nested virtualisation, top_level_auto_virtualize and reload_cooldown_minutes. The caller's
// enrolment must leave out nodes those rules would refuse.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "treeguard/State.h"

namespace sluice::treeguard {

inline constexpr size_t kMaxNodeChangesPerTick = 4;
inline constexpr size_t kMaxVirtualNodes = 64;
inline constexpr double kFailureBackoffSeconds = 15 * 60;

struct NodeSpec {
  std::string id;
  double capacityDownMbps = 0;
  double capacityUpMbps = 0;
  bool virtualInPlan = false;  ///< "virtual": true in network.json: never managed (N1)
  bool operator==(const NodeSpec&) const = default;
};

/// One tick's measurement of one node.
struct NodeSignal {
  double downMbps = 0;
  double upMbps = 0;
  bool rttSeen = false;  ///< a TCP RTT sample through the node this tick
  std::optional<double> qooDown;
  std::optional<double> qooUp;
};

struct NodeChange {
  std::string nodeId;
  bool toVirtual = false;
  std::string why;
};

class NodeGuard {
 public:
  explicit NodeGuard(const Settings& settings);

  /// Adds or replaces a node (its state restarts: physical, RTT last seen now).
  void enrol(const NodeSpec& node, double nowSeconds);

  /// Updates every enrolled node with `signals` (absent: no traffic, no RTT) and returns this
  /// tick's changes (N1-N6). The caller applies them and calls reportApplied.
  std::vector<NodeChange> tick(const std::map<std::string, NodeSignal>& signals,
                               std::optional<double> cpuMaxPct, double nowSeconds);

  /// Success makes the change current and records it (N4); a failed virtualisation starts
  /// the back-off (N5); a failed restore is retried on the next tick.
  void reportApplied(const NodeChange& change, bool ok, double nowSeconds);

  /// Whether the node is virtual now; nullopt for an unknown node.
  std::optional<bool> isVirtual(const std::string& nodeId) const;
  size_t virtualCount() const;

  /// Forgets a node (gone from the inputs). Unknown ids are ignored.
  void remove(const std::string& nodeId);
  /// The node as enrolled; nullptr for an unknown node.
  const NodeSpec* spec(const std::string& nodeId) const;
  /// Sets whether the node is virtual without counting it as a change (state replayed after a
  /// restart or kept over a re-enrolment). Unknown ids are ignored.
  void restore(const std::string& nodeId, bool isVirtual);

  /// One node as the API shows it.
  struct View {
    bool isVirtual = false;
    bool managed = false;  ///< N1 holds (enabled, allowlisted, capacity known, not virtual in plan)
    std::optional<double> utilDownPct, utilUpPct;
    double idleSeconds = 0;  ///< both directions idle for this long (0 when either is busy)
    std::optional<double> lastChange;
  };
  std::optional<View> view(const std::string& nodeId, double nowSeconds) const;
  /// Enrolled node ids, in id order.
  std::vector<std::string> ids() const;

 private:
  struct NodeState {
    NodeSpec spec;
    bool isVirtual = false;
    UtilTracker down, up;
    double rttLastSeen = 0;
    double backoffUntil = -1;
    ChangeHistory history;
  };
  struct Candidate {
    NodeChange change;
    double rank = 0;
  };

  bool managed(const NodeState& node) const;
  std::optional<Candidate> decide(const NodeState& node, const NodeSignal& signal,
                                  std::optional<double> cpuMaxPct, double nowSeconds) const;

  Settings s_;
  std::map<std::string, NodeState> nodes_;
};

}  // namespace sluice::treeguard
