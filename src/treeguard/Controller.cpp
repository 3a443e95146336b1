#include "treeguard/Controller.h"

#include <unordered_map>

#include <fmt/format.h>

#include "planner/LeafSelection.h"

namespace sluice::treeguard {
namespace {

constexpr std::array<Direction, 2> kDirections{Direction::Down, Direction::Up};

size_t index(Direction d) {
  return static_cast<size_t>(d);
}

/// Circuit IDs that share a non-empty Device ID with another circuit.
std::set<std::string> sharedDeviceCircuits(const model::ShapedDevices& shaped) {
  std::unordered_map<std::string, std::set<std::string>> byDevice;
  for (const model::Circuit& c : shaped.circuits) {
    for (const model::Device& d : c.devices) {
      if (!d.id.empty()) {
        byDevice[d.id].insert(c.id);
      }
    }
  }
  std::set<std::string> out;
  for (const auto& [device, circuits] : byDevice) {
    if (circuits.size() > 1) {
      out.insert(circuits.begin(), circuits.end());
    }
  }
  return out;
}

}  // namespace

Controller::Controller(Settings settings, size_t circuitBudget)
    : settings_(std::move(settings)), circuits_(settings_, circuitBudget), nodes_(settings_) {}

void Controller::setInputs(const model::Inputs& inputs, const plan::QueuePlan& plan,
                           const std::set<std::string>& dynamicCircuits, double nowSeconds) {
  const auto& shaped = inputs.model.shaped;
  const std::set<std::string> shared = sharedDeviceCircuits(shaped);
  const plan::LeafRules rules = plan::LeafRules::fromConfig(inputs.config);
  std::set<std::string> seen;
  for (const plan::CircuitPlacement& cp : plan.circuits) {
    if (cp.modelIndex < 0 || static_cast<size_t>(cp.modelIndex) >= shaped.circuits.size() ||
        dynamicCircuits.contains(cp.circuitId) || shared.contains(cp.circuitId)) {
      continue;
    }
    const model::Circuit& mc = shaped.circuits[static_cast<size_t>(cp.modelIndex)];
    CircuitSpec spec{cp.circuitId, {cp.downloadMaxMbps, cp.uploadMaxMbps}, {}};
    std::array<bool, 2> mine{false, false};  // a direction on fq_codel through our overlay
    for (Direction d : kDirections) {
      const size_t i = index(d);
      mine[i] = circuits_.current(cp.circuitId, d) == Sqm::FqCodel &&
                circuits_.spec(cp.circuitId)->base[i] == Sqm::Cake;
      const model::SqmKind cell = d == Direction::Down ? mc.sqm.down : mc.sqm.up;
      if (!mine[i] && cell != model::SqmKind::Default) {
        spec.base[i] = Sqm::FqCodel;  // the operator's `sqm` cell: never switched
        continue;
      }
      const auto leaf =
          plan::selectCircuitLeaf(rules, model::SqmKind::Default, spec.capacityMbps[i]);
      spec.base[i] = leaf && leaf->kind == plan::LeafKind::Cake ? Sqm::Cake : Sqm::FqCodel;
    }
    seen.insert(cp.circuitId);
    const CircuitSpec* old = circuits_.spec(cp.circuitId);
    if (old != nullptr && *old == spec) {
      continue;
    }
    circuits_.enrol(spec);
    for (Direction d : kDirections) {
      if (mine[index(d)] && spec.base[index(d)] == Sqm::Cake) {
        circuits_.restore(spec.id, d, Sqm::FqCodel);
      }
    }
  }
  for (const std::string& id : circuits_.ids()) {
    if (!seen.contains(id)) {
      circuits_.remove(id);
    }
  }

  const auto& net = inputs.model.network;
  seen.clear();
  for (const plan::NodePlacement& np : plan.nodes) {
    if (np.generated || np.modelIndex < 0 ||
        static_cast<size_t>(np.modelIndex) >= net.nodes.size()) {
      continue;
    }
    const bool mine = nodes_.isVirtual(np.name).value_or(false);
    NodeSpec spec{np.name, np.downloadMaxMbps, np.uploadMaxMbps,
                  !mine && net.nodes[static_cast<size_t>(np.modelIndex)].isVirtual};
    seen.insert(np.name);
    const NodeSpec* old = nodes_.spec(np.name);
    if (old != nullptr && *old == spec) {
      continue;
    }
    nodes_.enrol(spec, nowSeconds);
    if (mine && !spec.virtualInPlan) {
      nodes_.restore(spec.id, true);
    }
  }
  for (const std::string& id : nodes_.ids()) {
    if (!seen.contains(id)) {
      nodes_.remove(id);
    }
  }
}

Decisions Controller::tick(const Signals& signals, double nowSeconds) {
  Decisions out;
  if (!settings_.enabled) {
    return out;
  }
  out.circuits = circuits_.tick(signals.circuits, signals.cpuMaxPct, nowSeconds);
  out.deferred = circuits_.deferredLastTick();
  out.nodes = nodes_.tick(signals.nodes, signals.cpuMaxPct, nowSeconds);
  return out;
}

void Controller::layOver(const Decisions& decisions, model::Overlay& overlay) const {
  std::map<std::string, std::array<Sqm, 2>> state;
  for (const std::string& id : circuits_.ids()) {
    const CircuitSpec* spec = circuits_.spec(id);
    std::array<Sqm, 2> now{*circuits_.current(id, Direction::Down),
                           *circuits_.current(id, Direction::Up)};
    if (now != spec->base) {
      state[id] = now;
    }
  }
  for (const SqmChange& c : decisions.circuits) {
    const CircuitSpec* spec = circuits_.spec(c.circuitId);
    if (spec == nullptr) {
      continue;
    }
    auto [it, added] = state.try_emplace(c.circuitId, spec->base);
    it->second[index(c.direction)] = c.to;
  }
  overlay.circuitSqm.clear();
  for (const auto& [id, sqm] : state) {
    const CircuitSpec* spec = circuits_.spec(id);
    auto kind = [&](Direction d) {
      const size_t i = index(d);
      return sqm[i] == spec->base[i]  ? model::SqmKind::Default
             : sqm[i] == Sqm::FqCodel ? model::SqmKind::FqCodel
                                      : model::SqmKind::Cake;
    };
    model::SqmOverride entry{kind(Direction::Down), kind(Direction::Up)};
    if (entry.down != model::SqmKind::Default || entry.up != model::SqmKind::Default) {
      overlay.circuitSqm[id] = entry;
    }
  }
  overlay.virtualNodes.clear();
  for (const std::string& id : nodes_.ids()) {
    if (nodes_.isVirtual(id).value_or(false)) {
      overlay.virtualNodes.insert(id);
    }
  }
  for (const NodeChange& c : decisions.nodes) {
    if (c.toVirtual) {
      overlay.virtualNodes.insert(c.nodeId);
    } else {
      overlay.virtualNodes.erase(c.nodeId);
    }
  }
}

void Controller::reportApplied(const Decisions& decisions, bool ok, const std::string& outcome,
                               double nowSeconds, int64_t unixMs) {
  const std::string word = ok ? (outcome == "dry-run" ? "dry-run" : "applied") : "failed";
  for (const SqmChange& c : decisions.circuits) {
    const auto from = circuits_.current(c.circuitId, c.direction);
    if (ok && decisions.restore) {
      circuits_.restore(c.circuitId, c.direction, c.to);
    } else {
      circuits_.reportApplied(c, ok, nowSeconds);
    }
    ++changeCounts_["circuit " + word];
    record({unixMs, "circuit", c.circuitId,
            fmt::format("{} {} -> {}", directionName(c.direction), from ? sqmName(*from) : "?",
                        sqmName(c.to)),
            c.why, outcome});
  }
  for (const NodeChange& c : decisions.nodes) {
    if (ok && decisions.restore) {
      nodes_.restore(c.nodeId, c.toVirtual);
    } else {
      nodes_.reportApplied(c, ok, nowSeconds);
    }
    ++changeCounts_["node " + word];
    record({unixMs, "node", c.nodeId, c.toVirtual ? "virtualise" : "restore", c.why, outcome});
  }
}

void Controller::record(Activity a) {
  activity_.push_back(std::move(a));
  while (activity_.size() > kActivityRing) {
    activity_.pop_front();
  }
}

Controller::Counts Controller::counts() const {
  Counts c;
  c.changes = changeCounts_;
  for (const std::string& id : circuits_.ids()) {
    ++c.circuits;
    for (Direction d : kDirections) {
      c.fqCodelDirections += circuits_.current(id, d) == Sqm::FqCodel &&
                                     circuits_.spec(id)->base[index(d)] == Sqm::Cake
                                 ? 1
                                 : 0;
    }
  }
  c.nodes = nodes_.ids().size();
  c.virtualNodes = nodes_.virtualCount();
  return c;
}

std::string sqmToken(Sqm down, Sqm up) {
  return fmt::format("{}/{}", sqmName(down), sqmName(up));
}

std::optional<std::array<Sqm, 2>> parseSqmToken(const std::string& token) {
  auto one = [](std::string_view t) -> std::optional<Sqm> {
    if (t == "cake") {
      return Sqm::Cake;
    }
    if (t == "fq_codel") {
      return Sqm::FqCodel;
    }
    return std::nullopt;
  };
  const size_t slash = token.find('/');
  const auto down = one(std::string_view(token).substr(0, slash));
  const auto up =
      slash == std::string::npos ? down : one(std::string_view(token).substr(slash + 1));
  if (!down || !up) {
    return std::nullopt;
  }
  return std::array<Sqm, 2>{*down, *up};
}

}  // namespace sluice::treeguard
