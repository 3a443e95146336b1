#pragma once
// TreeGuard's per-circuit, per-direction SQM switching as a pure state machine: which enrolled
// circuit directions should change between CAKE and fq_codel on this tick, and why. Nothing here
// touches the kernel: the caller applies each change (a leaf-kind change through the bakery) and
// reports the outcome. Same inputs, same decisions, so recorded traces replay exactly (Trace.h).
//
// Rules, per direction (LibreQoS lqosd/src/treeguard/decisions.rs decide_circuit_sqm, state.rs;
// shared/reference/libreqos-behaviour.md §3). util = the UtilTracker EWMA (State.h) of
// mbps / the circuit's capacity in that direction; CPU = the busiest core's %.
//   C1 enrolment: [treeguard.circuits] enabled and switching_enabled, and all_circuits or the
//      circuit id in `circuits`; a direction whose base SQM is not CAKE is never switched; a
//      capacity <= 0 is never switched (util is unknown).
//   C2 CAKE -> fq_codel when idle (util < idle_util_pct) for >= idle_min_minutes AND
//      cpuAllowsSaving (CPU >= cpu_high_pct, State.h) AND QoO not bad, unless held by C4.
//   C3 fq_codel -> CAKE when util >= upgrade_util_pct (traffic) OR QoO < min_score (poor
//      quality, [treeguard.qoo] enabled) OR cpuCallsForRevert (CPU <= cpu_low_pct). A missing
//      RTT never reverts. Between cpu_low_pct and cpu_high_pct nothing changes (hysteresis).
//   C4 hold while less than min_switch_dwell_minutes since the direction's last change or when
//      it changed max_switches_per_hour times in the last hour.
//   C5 independent_directions = false: both directions decide together: idle means both idle
//      for idle_min_minutes, traffic means either at upgrade_util_pct, the worse QoO counts,
//      fq_codel means both on fq_codel; the change applies to both (switchable) directions.
//   C6 budget: at most maxChangesPerTick changes per tick across all circuits (LibreQoS: 512).
//      Reverts to CAKE come first (the busiest first), then saves, the longest idle first; a
//      change left out is decided again on the next tick.
//   C7 a change takes effect when reportApplied(ok = true) is called: it starts the dwell and
//      counts toward the hourly limit. A failed apply changes nothing and is retried next tick.
//
// Where Sluice deliberately differs from LibreQoS:
//   - C4 holds only CPU-driven changes. A revert on traffic or poor quality is never held:
//     LibreQoS keeps a subscriber who starts a download within 30 min of the switch on fq_codel
//     (no per-host fairness) until the dwell ends. Flapping stays bounded because every switch
//     to fq_codel needs idle_min_minutes of idle first, and reverts still count toward the limit.
//   - With independent_directions = false LibreQoS applies neither dwell nor the hourly limit;
//     Sluice applies both (the stricter of the two directions).
//   - LibreQoS sweeps large enrolments incrementally (15 s per pass); Sluice decides every
//     enrolled circuit each tick and orders the budget (C6), so traffic wake-ups are never queued
//     behind saves.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "treeguard/State.h"

namespace sluice::treeguard {

enum class Sqm : uint8_t { Cake, FqCodel };
const char* sqmName(Sqm sqm);  ///< "cake", "fq_codel"

enum class Direction : uint8_t { Down = 0, Up = 1 };
const char* directionName(Direction direction);  ///< "down", "up"

/// A circuit as enrolled: capacities are its max rates (Mbps) per direction; base SQMs are what
/// the plan gives it (only CAKE directions are ever switched).
struct CircuitSpec {
  std::string id;
  std::array<double, 2> capacityMbps{0, 0};  ///< [Down, Up]
  std::array<Sqm, 2> base{Sqm::Cake, Sqm::Cake};
  bool operator==(const CircuitSpec&) const = default;
};

/// One tick's measurement of one circuit: throughput and QoO score per direction.
struct CircuitSignal {
  std::array<double, 2> mbps{0, 0};  ///< [Down, Up]; a circuit absent from a tick counts as 0
  std::array<std::optional<double>, 2> qooScore;  ///< 0..100; nullopt when not measured
};

struct SqmChange {
  std::string circuitId;
  Direction direction = Direction::Down;
  Sqm to = Sqm::Cake;
  std::string why;  ///< "idle 15.0 min (util 0.3 % < 2 %), busiest core 82 % >= 75 %", ...
};

/// LibreQoS's budget of circuit changes per tick.
inline constexpr size_t kMaxCircuitChangesPerTick = 512;

class CircuitGuard {
 public:
  explicit CircuitGuard(const Settings& settings,
                        size_t maxChangesPerTick = kMaxCircuitChangesPerTick);

  /// Adds or replaces a circuit (its state restarts: CAKE where the base is CAKE).
  void enrol(const CircuitSpec& circuit);

  /// Updates every enrolled circuit's utilisation with `signals` (by circuit id) and returns the
  /// changes to apply this tick (C1-C6). Does not change the current SQMs: see reportApplied.
  std::vector<SqmChange> tick(const std::map<std::string, CircuitSignal>& signals,
                              std::optional<double> cpuMaxPct, double nowSeconds);

  /// The outcome of applying `change` (C7). Unknown circuits are ignored.
  void reportApplied(const SqmChange& change, bool ok, double nowSeconds);

  /// The current SQM of a direction; nullopt for an unknown circuit.
  std::optional<Sqm> current(const std::string& circuitId, Direction direction) const;
  /// The utilisation EWMA (%) of a direction; nullopt for an unknown circuit.
  std::optional<double> utilPct(const std::string& circuitId, Direction direction) const;
  /// Changes the last tick decided but left for later by the budget (C6).
  size_t deferredLastTick() const { return deferred_; }

  /// Forgets a circuit (gone from the inputs). Unknown ids are ignored.
  void remove(const std::string& circuitId);
  /// The circuit as enrolled; nullptr for an unknown circuit.
  const CircuitSpec* spec(const std::string& circuitId) const;
  /// Sets a direction's current SQM without counting it as a change (no dwell, not toward the
  /// hourly limit): state replayed after a restart or kept over a re-enrolment. Unknown ids are
  /// ignored.
  void restore(const std::string& circuitId, Direction direction, Sqm sqm);

  /// One direction as the API shows it.
  struct DirectionView {
    Sqm current = Sqm::Cake;
    std::optional<double> utilPct;  ///< the EWMA; nullopt before the first tick
    double idleSeconds = 0;         ///< 0 when not idle
    size_t changesLastHour = 0;
    std::optional<double> lastChange;  ///< seconds of the tick clock
  };
  std::optional<DirectionView> view(const std::string& circuitId, Direction direction,
                                    double nowSeconds) const;
  /// Enrolled circuit ids, in id order.
  std::vector<std::string> ids() const;

 private:
  struct DirectionState {
    Sqm current = Sqm::Cake;
    UtilTracker util;
    ChangeHistory history;
  };
  struct CircuitState {
    CircuitSpec spec;
    std::array<DirectionState, 2> dirs;
  };
  struct Candidate {
    SqmChange change;
    bool revert = false;
    double rank = 0;  ///< util % for reverts, idle seconds for saves: larger goes first
  };

  bool allowlisted(const std::string& id) const;
  /// Appends the change of the directions in `group` (if any) decided from the signals of the
  /// directions in `measured`.
  void decide(CircuitState& circuit, const std::vector<Direction>& group,
              const std::vector<Direction>& measured, const CircuitSignal& signal,
              std::optional<double> cpuMaxPct, double nowSeconds,
              std::vector<Candidate>& out) const;

  Settings s_;
  size_t budget_;
  std::map<std::string, CircuitState> circuits_;
  size_t deferred_ = 0;
};

}  // namespace sluice::treeguard
