#include "treeguard/Circuits.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::treeguard {

const char* sqmName(Sqm sqm) {
  return sqm == Sqm::Cake ? "cake" : "fq_codel";
}

const char* directionName(Direction direction) {
  return direction == Direction::Down ? "down" : "up";
}

CircuitGuard::CircuitGuard(const Settings& settings, size_t maxChangesPerTick)
    : s_(settings), budget_(maxChangesPerTick) {}

void CircuitGuard::enrol(const CircuitSpec& circuit) {
  CircuitState state;
  state.spec = circuit;
  for (size_t d = 0; d < 2; ++d) {
    state.dirs[d].current = circuit.base[d];
  }
  circuits_[circuit.id] = std::move(state);
}

bool CircuitGuard::allowlisted(const std::string& id) const {
  const CircuitSettings& c = s_.circuits;
  return c.allCircuits || std::find(c.circuits.begin(), c.circuits.end(), id) != c.circuits.end();
}

void CircuitGuard::decide(CircuitState& circuit, const std::vector<Direction>& group,
                          const std::vector<Direction>& measured, const CircuitSignal& signal,
                          std::optional<double> cpuMaxPct, double nowSeconds,
                          std::vector<Candidate>& out) const {
  const CircuitSettings& c = s_.circuits;
  bool sustainedIdle = true, held = false, allFqCodel = true;
  double maxUtil = 0, minIdleSeconds = 1e300;
  std::optional<double> worstQoo;
  for (Direction d : measured) {
    const DirectionState& st = circuit.dirs[static_cast<size_t>(d)];
    const double idle = st.util.idleSeconds(nowSeconds);
    sustainedIdle = sustainedIdle && st.util.idleSince && idle >= c.idleMinMinutes * 60.0;
    minIdleSeconds = std::min(minIdleSeconds, idle);
    maxUtil = std::max(maxUtil, st.util.pct());
    if (const auto& q = signal.qooScore[static_cast<size_t>(d)];
        q && (!worstQoo || *q < *worstQoo)) {
      worstQoo = q;
    }
  }
  for (Direction d : group) {
    const DirectionState& st = circuit.dirs[static_cast<size_t>(d)];
    held = held || st.history.inDwell(nowSeconds, c.minSwitchDwellMinutes) ||
           st.history.limited(c.maxSwitchesPerHour);
    allFqCodel = allFqCodel && st.current == Sqm::FqCodel;
  }
  const bool bad = qooBad(s_.qoo, worstQoo);
  const std::string cpuText =
      cpuMaxPct ? fmt::format("busiest core {:.0f} %", *cpuMaxPct) : "busiest core unknown";

  Sqm to;
  std::string why;
  bool revert = false;
  double rank = 0;
  if (!allFqCodel) {  // CAKE (in joint mode: not both on fq_codel) -> fq_codel (C2)
    if (held || !sustainedIdle || !cpuAllowsSaving(s_.cpu, cpuMaxPct) || bad) {
      return;
    }
    to = Sqm::FqCodel;
    rank = minIdleSeconds;
    why = fmt::format("idle {:.1f} min (util {:.1f} % < {} %), {}{}", minIdleSeconds / 60, maxUtil,
                      c.idleUtilPct, cpuText,
                      s_.cpu.mode == CpuMode::CpuAware ? fmt::format(" >= {} %", s_.cpu.cpuHighPct)
                                                       : std::string(" (traffic_rtt_only)"));
  } else {  // fq_codel -> CAKE (C3); only the CPU revert is held (C4, see the header)
    to = Sqm::Cake;
    revert = true;
    rank = maxUtil;
    if (maxUtil >= c.upgradeUtilPct) {
      why = fmt::format("traffic: util {:.1f} % >= {} %", maxUtil, c.upgradeUtilPct);
    } else if (bad) {
      why = fmt::format("poor quality: QoO {:.0f} < {}", *worstQoo, s_.qoo.minScore);
    } else if (!held && cpuCallsForRevert(s_.cpu, cpuMaxPct)) {
      why = fmt::format("CPU headroom: {} <= {} %", cpuText, s_.cpu.cpuLowPct);
    } else {
      return;
    }
  }
  for (Direction d : group) {
    if (circuit.dirs[static_cast<size_t>(d)].current != to) {
      out.push_back({SqmChange{circuit.spec.id, d, to, why}, revert, rank});
    }
  }
}

std::vector<SqmChange> CircuitGuard::tick(const std::map<std::string, CircuitSignal>& signals,
                                          std::optional<double> cpuMaxPct, double nowSeconds) {
  deferred_ = 0;
  const CircuitSettings& c = s_.circuits;
  const bool active = s_.enabled && c.enabled && c.switchingEnabled;
  std::vector<Candidate> candidates;
  static const CircuitSignal kSilent;
  for (auto& [id, circuit] : circuits_) {
    auto found = signals.find(id);
    const CircuitSignal& signal = found == signals.end() ? kSilent : found->second;
    std::vector<Direction> switchable, measured;
    for (Direction d : {Direction::Down, Direction::Up}) {
      const size_t i = static_cast<size_t>(d);
      DirectionState& st = circuit.dirs[i];
      if (circuit.spec.capacityMbps[i] <= 0) {
        continue;  // C1: unknown utilisation
      }
      st.util.update(signal.mbps[i], circuit.spec.capacityMbps[i], c.idleUtilPct, nowSeconds);
      st.history.prune(nowSeconds);
      measured.push_back(d);
      if (circuit.spec.base[i] == Sqm::Cake) {
        switchable.push_back(d);
      }
    }
    if (!active || !allowlisted(id) || switchable.empty()) {
      continue;
    }
    if (c.independentDirections) {
      for (Direction d : switchable) {
        decide(circuit, {d}, {d}, signal, cpuMaxPct, nowSeconds, candidates);
      }
    } else {  // C5: every measured direction's signals count, both switch together
      decide(circuit, switchable, measured, signal, cpuMaxPct, nowSeconds, candidates);
    }
  }
  // C6: reverts first, then saves; within each, the larger rank first (stable: id order).
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.revert != b.revert) {
                       return a.revert;
                     }
                     return a.rank > b.rank;
                   });
  std::vector<SqmChange> out;
  for (Candidate& candidate : candidates) {
    if (out.size() >= budget_) {
      ++deferred_;
      continue;
    }
    out.push_back(std::move(candidate.change));
  }
  return out;
}

void CircuitGuard::reportApplied(const SqmChange& change, bool ok, double nowSeconds) {
  auto it = circuits_.find(change.circuitId);
  if (!ok || it == circuits_.end()) {
    return;
  }
  DirectionState& st = it->second.dirs[static_cast<size_t>(change.direction)];
  if (st.current == change.to) {
    return;
  }
  st.current = change.to;
  st.history.record(nowSeconds);
}

std::optional<Sqm> CircuitGuard::current(const std::string& circuitId, Direction direction) const {
  auto it = circuits_.find(circuitId);
  if (it == circuits_.end()) {
    return std::nullopt;
  }
  return it->second.dirs[static_cast<size_t>(direction)].current;
}

std::optional<double> CircuitGuard::utilPct(const std::string& circuitId,
                                            Direction direction) const {
  auto it = circuits_.find(circuitId);
  if (it == circuits_.end()) {
    return std::nullopt;
  }
  return it->second.dirs[static_cast<size_t>(direction)].util.ewmaPct;
}

void CircuitGuard::remove(const std::string& circuitId) {
  circuits_.erase(circuitId);
}

const CircuitSpec* CircuitGuard::spec(const std::string& circuitId) const {
  auto it = circuits_.find(circuitId);
  return it == circuits_.end() ? nullptr : &it->second.spec;
}

void CircuitGuard::restore(const std::string& circuitId, Direction direction, Sqm sqm) {
  if (auto it = circuits_.find(circuitId); it != circuits_.end()) {
    it->second.dirs[static_cast<size_t>(direction)].current = sqm;
  }
}

std::optional<CircuitGuard::DirectionView> CircuitGuard::view(const std::string& circuitId,
                                                              Direction direction,
                                                              double nowSeconds) const {
  auto it = circuits_.find(circuitId);
  if (it == circuits_.end()) {
    return std::nullopt;
  }
  const DirectionState& st = it->second.dirs[static_cast<size_t>(direction)];
  size_t recent = 0;
  for (double t : st.history.recent) {
    recent += nowSeconds - t < 3600 ? 1 : 0;
  }
  return DirectionView{st.current, st.util.ewmaPct, st.util.idleSeconds(nowSeconds), recent,
                       st.history.lastChange};
}

std::vector<std::string> CircuitGuard::ids() const {
  std::vector<std::string> out;
  out.reserve(circuits_.size());
  for (const auto& [id, circuit] : circuits_) {
    out.push_back(id);
  }
  return out;
}

}  // namespace sluice::treeguard
