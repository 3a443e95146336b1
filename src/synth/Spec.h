#pragma once
// Internal to the generator: the ISP as planned before it is written out (Synth.cpp builds it,
// Render.cpp writes network.json and ShapedDevices.csv from it).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "synth/Synth.h"

namespace sluice::synth::detail {

inline constexpr uint32_t kNone = UINT32_MAX;

/// A network.json node; `parent` and `children` are indices into the node vector (pre-order).
struct NodeSpec {
  std::string name;
  std::string type;
  std::string id;
  double down = 0;
  double up = 0;
  std::optional<double> latitude;
  std::optional<double> longitude;
  uint32_t parent = kNone;
  std::vector<uint32_t> children;
};

/// A service plan (Mbps) and its weight in the random draw.
struct Plan {
  double down;
  double up;
  uint32_t weight;
  bool business;
};

// Residential tiers from 25/5 to 1000/100, two legacy fractional tiers, symmetric business plans.
inline constexpr std::array<Plan, 12> kPlans = {{{25, 5, 10, false},
                                                 {50, 10, 15, false},
                                                 {100, 20, 20, false},
                                                 {250, 25, 15, false},
                                                 {500, 50, 8, false},
                                                 {1000, 100, 5, false},
                                                 {12.5, 2.5, 2, false},
                                                 {6, 1.5, 1, false},
                                                 {75, 15, 6, false},
                                                 {100, 100, 3, true},
                                                 {250, 250, 2, true},
                                                 {500, 500, 1, true}}};

/// A circuit before rendering: its parent node (kNone = unparented), plan (index into kPlans) and
/// guaranteed rates after fitting.
struct CircuitSpec {
  uint32_t parent = kNone;
  uint32_t plan = 0;
  double downMin = 0;
  double upMin = 0;
};

/// Writes network.json (parents before children, two-space indent, rates without ".0").
std::string renderNetworkJson(const std::vector<NodeSpec>& nodes);

/// Writes ShapedDevices.csv: names, devices, MACs and addresses are drawn here from a stream
/// seeded by options.seed; counts go to `stats`.
std::string renderShapedDevices(const SynthOptions& options, const std::vector<NodeSpec>& nodes,
                                const std::vector<CircuitSpec>& circuits, SynthStats& stats);

/// Rates print as integers when whole ("100"), else with up to two decimals ("12.5").
std::string formatRate(double v);

/// SplitMix64: derives independent stream seeds from the user's seed.
uint64_t splitMix(uint64_t x);

}  // namespace sluice::synth::detail
