#include "synth/Synth.h"

#include <array>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>

#include "synth/Names.h"
#include "synth/Random.h"
#include "synth/Spec.h"

namespace sluice::synth {

namespace {

using detail::CircuitSpec;
using detail::kNone;
using detail::kPlans;
using detail::NodeSpec;

constexpr double kGuaranteeBudget = 0.9;  // share of a parent's rate that circuit minimums may use

constexpr std::array<double, 5> kSiteRates = {1000, 2000, 2500, 5000, 10000};
constexpr std::array<double, 6> kPopRates = {500, 1000, 2000, 2500, 5000, 10000};
constexpr std::array<double, 8> kApRates = {100, 150, 200, 300, 450, 500, 650, 1000};

double floorCents(double v) {
  return std::floor(v * 100.0 + 1e-9) / 100.0;
}

template <size_t N>
double pickRateAtMost(Random& random, const std::array<double, N>& rates, double cap) {
  std::vector<double> fitting;
  for (const double r : rates) {
    if (r <= cap) {
      fitting.push_back(r);
    }
  }
  if (fitting.empty()) {
    return cap;
  }
  return fitting[random.below(fitting.size())];
}

std::string uuidLike(Random& random) {
  const uint64_t a = random.next();
  const uint64_t b = random.next();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF,
                     0x8000 | (b >> 48 & 0x3FFF), b & 0xFFFFFFFFFFFFull);
}

void checkShare(double v, const char* name) {
  if (!(v >= 0.0 && v <= 1.0)) {
    throw std::invalid_argument(fmt::format("synth: {} must be within 0..1", name));
  }
}

void checkOptions(const SynthOptions& o) {
  checkShare(o.ipv6Share, "ipv6Share");
  checkShare(o.cidrShare, "cidrShare");
  checkShare(o.sqmOverrideShare, "sqmOverrideShare");
  checkShare(o.sqmNoneShare, "sqmNoneShare");
  checkShare(o.unparentedShare, "unparentedShare");
  checkShare(o.ipv6OnlyShare, "ipv6OnlyShare");
  checkShare(o.fiberShare, "fiberShare");
  if (!(o.devicesPerCircuitMax >= 1.0 && o.devicesPerCircuitMax <= 64.0)) {
    throw std::invalid_argument("synth: devicesPerCircuitMax must be within 1..64");
  }
}

/// Builds the node tree (pre-order) and returns the attachment points for circuits.
std::vector<NodeSpec> buildTopology(const SynthOptions& o, Random& random,
                                    std::vector<uint32_t>& attach) {
  std::vector<NodeSpec> nodes;
  std::unordered_set<std::string> names;
  auto addNode = [&](NodeSpec node) {
    if (!names.insert(node.name).second) {
      throw std::logic_error("synth: duplicate node name " + node.name);
    }
    const auto index = static_cast<uint32_t>(nodes.size());
    if (node.parent != kNone) {
      nodes[node.parent].children.push_back(index);
    }
    nodes.push_back(std::move(node));
    return index;
  };
  for (uint32_t s = 0; s < o.sites; ++s) {
    std::string town = townName(random);
    for (uint32_t attempt = 2; names.contains(town); ++attempt) {
      town = attempt < 8 ? townName(random) : fmt::format("{} {}", townName(random), attempt);
    }
    NodeSpec site{.name = town, .type = "site", .id = uuidLike(random)};
    site.down = site.up = kSiteRates[random.below(kSiteRates.size())];
    site.latitude = 38.0 + random.unit() * 6.0;
    site.longitude = -100.0 + random.unit() * 12.0;
    const uint32_t siteIndex = addNode(std::move(site));
    if (o.popsPerSite == 0) {
      attach.push_back(siteIndex);
      continue;
    }
    for (uint32_t p = 0; p < o.popsPerSite; ++p) {
      NodeSpec pop{.name = fmt::format("{} {}", town, popLandmark(p)),
                   .type = "pop",
                   .id = uuidLike(random),
                   .parent = siteIndex};
      pop.down = pop.up = pickRateAtMost(random, kPopRates, nodes[siteIndex].down);
      const std::string popName = pop.name;
      const uint32_t popIndex = addNode(std::move(pop));
      if (o.apsPerPop == 0) {
        attach.push_back(popIndex);
        continue;
      }
      const uint32_t firstSector = static_cast<uint32_t>(random.below(8));
      for (uint32_t a = 0; a < o.apsPerPop; ++a) {
        NodeSpec ap{.name = fmt::format("{} AP{}-{}", popName, a + 1, sector(firstSector + a)),
                    .type = "ap",
                    .id = uuidLike(random),
                    .parent = popIndex};
        ap.down = pickRateAtMost(random, kApRates, nodes[popIndex].down);
        ap.up = ap.down >= 450 ? ap.down : ap.down / 2;  // 60 GHz / fiber-fed APs are symmetric
        attach.push_back(addNode(std::move(ap)));
      }
    }
  }
  return nodes;
}

uint32_t pickPlan(Random& random, const NodeSpec* parent) {
  std::array<uint32_t, kPlans.size()> weights{};
  uint32_t total = 0;
  for (size_t i = 0; i < kPlans.size(); ++i) {
    const bool fits =
        parent == nullptr || (kPlans[i].down <= parent->down && kPlans[i].up <= parent->up);
    weights[i] = fits ? kPlans[i].weight : 0;
    total += weights[i];
  }
  if (total == 0) {
    return 0;
  }
  return static_cast<uint32_t>(random.weighted(weights));
}

/// Chooses parents and plans; minimums are a quarter of the maximums, then fitted.
std::vector<CircuitSpec> planCircuits(const SynthOptions& o, const std::vector<NodeSpec>& nodes,
                                      const std::vector<uint32_t>& attach, Random& random) {
  const auto unparented = attach.empty()
                              ? o.circuits
                              : static_cast<uint32_t>(std::llround(o.circuits * o.unparentedShare));
  const uint32_t parented = o.circuits - unparented;
  // Spread parented circuits over the attachment points, then emit them grouped by parent (as
  // CRM exports usually are).
  std::vector<uint32_t> perAttach(attach.size(), 0);
  for (uint32_t i = 0; i < parented; ++i) {
    ++perAttach[random.below(attach.size())];
  }
  std::vector<CircuitSpec> circuits;
  circuits.reserve(o.circuits);
  for (size_t a = 0; a < attach.size(); ++a) {
    for (uint32_t i = 0; i < perAttach[a]; ++i) {
      CircuitSpec c;
      c.parent = attach[a];
      const uint32_t up = nodes[c.parent].parent;
      if (nodes[c.parent].type == "ap" && up != kNone && random.chance(o.fiberShare)) {
        c.parent = up;
      }
      circuits.push_back(c);
    }
  }
  for (uint32_t i = 0; i < unparented; ++i) {
    circuits.push_back(CircuitSpec{});
  }
  for (CircuitSpec& c : circuits) {
    c.plan = pickPlan(random, c.parent == kNone ? nullptr : &nodes[c.parent]);
    c.downMin = floorCents(kPlans[c.plan].down / 4);
    c.upMin = floorCents(kPlans[c.plan].up / 4);
  }
  if (!o.fitGuarantees) {
    return circuits;
  }
  std::vector<double> sumDown(nodes.size(), 0);
  std::vector<double> sumUp(nodes.size(), 0);
  for (const CircuitSpec& c : circuits) {
    if (c.parent != kNone) {
      sumDown[c.parent] += c.downMin;
      sumUp[c.parent] += c.upMin;
    }
  }
  for (CircuitSpec& c : circuits) {
    if (c.parent == kNone) {
      continue;
    }
    const double budgetDown = nodes[c.parent].down * kGuaranteeBudget;
    const double budgetUp = nodes[c.parent].up * kGuaranteeBudget;
    if (sumDown[c.parent] > budgetDown) {
      c.downMin = std::max(0.01, floorCents(c.downMin * budgetDown / sumDown[c.parent]));
    }
    if (sumUp[c.parent] > budgetUp) {
      c.upMin = std::max(0.01, floorCents(c.upMin * budgetUp / sumUp[c.parent]));
    }
  }
  return circuits;
}
}  // namespace

namespace detail {

/// Rates print as integers when whole ("100"), else with up to two decimals ("12.5").
std::string formatRate(double v) {
  if (v == std::floor(v)) {
    return fmt::format("{}", static_cast<int64_t>(v));
  }
  std::string s = fmt::format("{:.2f}", v);
  while (s.back() == '0') {
    s.pop_back();
  }
  return s;
}

/// SplitMix64: derives independent stream seeds from the user's seed.
uint64_t splitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace detail

SynthFiles generate(const SynthOptions& options) {
  checkOptions(options);
  SynthFiles files;
  Random topologyRandom(detail::splitMix(options.seed));
  std::vector<uint32_t> attach;
  const std::vector<NodeSpec> nodes = buildTopology(options, topologyRandom, attach);
  files.stats.nodes = static_cast<uint32_t>(nodes.size());
  files.networkJson = detail::renderNetworkJson(nodes);

  Random circuitRandom(detail::splitMix(options.seed ^ 0xA5A5A5A5ull));
  const std::vector<CircuitSpec> circuits = planCircuits(options, nodes, attach, circuitRandom);
  files.shapedDevicesCsv = detail::renderShapedDevices(options, nodes, circuits, files.stats);
  return files;
}

namespace {

/// A TOML basic string with its quotes.
std::string tomlString(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
    }
    out += ch;
  }
  return out + '"';
}

}  // namespace

std::string renderLqosConf(const LqosConfOptions& o) {
  std::string subnets;
  for (const std::string& s : o.allowSubnets) {
    subnets += fmt::format("{}{}", subnets.empty() ? "" : ", ", tomlString(s));
  }
  return fmt::format(
      "# lqos.conf (LibreQoS 1.5 layout) for a synthetic ISP made by sluice-gen.\n"
      "version = \"1.5\"\n"
      "lqos_directory = \".\"\n"
      "node_id = \"sluice-synth\"\n"
      "node_name = \"Sluice synthetic ISP\"\n"
      "\n"
      "[bridge]\n"
      "use_xdp_bridge = {}\n"
      "to_internet = {}\n"
      "to_network = {}\n"
      "\n"
      "[queues]\n"
      "default_sqm = {}\n"
      "monitor_only = false\n"
      "uplink_bandwidth_mbps = {}\n"
      "downlink_bandwidth_mbps = {}\n"
      "generated_pn_download_mbps = 1000\n"
      "generated_pn_upload_mbps = 1000\n"
      "dry_run = false\n"
      "sudo = false\n"
      "use_binpacking = false\n"
      "\n"
      "[ip_ranges]\n"
      "ignore_subnets = []\n"
      "allow_subnets = [{}]\n"
      "\n"
      "[sluice]\n"
      "network_json = {}\n"
      "shaped_devices_csv = {}\n",
      o.useXdpBridge ? "true" : "false", tomlString(o.toInternet), tomlString(o.toNetwork),
      tomlString(o.defaultSqm), detail::formatRate(o.uplinkMbps),
      detail::formatRate(o.downlinkMbps), subnets, tomlString(o.networkJson),
      tomlString(o.shapedDevicesCsv));
}

}  // namespace sluice::synth
