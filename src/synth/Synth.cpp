#include "synth/Synth.h"

#include <array>
#include <cmath>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "synth/Addresses.h"
#include "synth/Names.h"
#include "synth/Random.h"

namespace sluice::synth {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr double kGuaranteeBudget = 0.9;  // share of a parent's rate that circuit minimums may use

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

struct Plan {
  double down;
  double up;
  uint32_t weight;
  bool business;
};

// Residential tiers from 25/5 to 1000/100, two legacy fractional tiers, symmetric business plans.
constexpr std::array<Plan, 12> kPlans = {{{25, 5, 10, false},
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

constexpr std::array<double, 5> kSiteRates = {1000, 2000, 2500, 5000, 10000};
constexpr std::array<double, 6> kPopRates = {500, 1000, 2000, 2500, 5000, 10000};
constexpr std::array<double, 8> kApRates = {100, 150, 200, 300, 450, 500, 650, 1000};

constexpr std::array<std::string_view, 7> kSqmTokens = {
    "cake", "fq_codel", "none", "cake/fq_codel", "fq_codel/cake", "/fq_codel", "cake/"};
constexpr std::array<uint32_t, 7> kSqmWeights = {4, 4, 1, 3, 1, 1, 1};

constexpr std::array<std::string_view, 6> kComments = {
    "Residential",       "Business",          "Promo rate until 2027-06-30",
    "Tower lease swap",  "Static IP, billed", "Seasonal, hold Nov-Mar"};

struct CircuitSpec {
  uint32_t parent = kNone;
  uint32_t plan = 0;
  double downMin = 0;
  double upMin = 0;
};

/// SplitMix64: derives independent stream seeds from the user's seed.
uint64_t splitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double floorCents(double v) { return std::floor(v * 100.0 + 1e-9) / 100.0; }

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
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF,
                     a & 0xFFF, 0x8000 | (b >> 48 & 0x3FFF), b & 0xFFFFFFFFFFFFull);
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
      NodeSpec pop{.name = fmt::format("{} {}", town, popLandmark(p)), .type = "pop",
                   .id = uuidLike(random), .parent = siteIndex};
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
                    .type = "ap", .id = uuidLike(random), .parent = popIndex};
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
  const auto unparented =
      attach.empty() ? o.circuits
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

/// A JSON string literal (nlohmann's escaping).
std::string jsonString(const std::string& text) { return nlohmann::json(text).dump(); }

/// Writes one node and its subtree. Hand-written rather than through a JSON value so that
/// numbers print exactly as chosen (coordinates with six decimals, whole rates without ".0").
void appendNode(std::string& out, const std::vector<NodeSpec>& nodes, uint32_t index, int depth) {
  const NodeSpec& n = nodes[index];
  const std::string pad(static_cast<size_t>(depth) * 2, ' ');
  auto line = std::back_inserter(out);
  fmt::format_to(line, "{}{}: {{\n", pad, jsonString(n.name));
  fmt::format_to(line, "{}  \"downloadBandwidthMbps\": {},\n", pad, formatRate(n.down));
  fmt::format_to(line, "{}  \"uploadBandwidthMbps\": {},\n", pad, formatRate(n.up));
  fmt::format_to(line, "{}  \"type\": {},\n", pad, jsonString(n.type));
  fmt::format_to(line, "{}  \"id\": {},\n", pad, jsonString(n.id));
  if (n.latitude) {
    fmt::format_to(line, "{}  \"latitude\": {:.6f},\n", pad, *n.latitude);
    fmt::format_to(line, "{}  \"longitude\": {:.6f},\n", pad, *n.longitude);
  }
  if (n.children.empty()) {
    fmt::format_to(line, "{}  \"children\": {{}}\n", pad);
  } else {
    fmt::format_to(line, "{}  \"children\": {{\n", pad);
    for (size_t i = 0; i < n.children.size(); ++i) {
      appendNode(out, nodes, n.children[i], depth + 2);
      out += i + 1 < n.children.size() ? ",\n" : "\n";
    }
    fmt::format_to(line, "{}  }}\n", pad);
  }
  fmt::format_to(line, "{}}}", pad);
}

std::string renderNetworkJson(const std::vector<NodeSpec>& nodes) {
  std::vector<uint32_t> roots;
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].parent == kNone) {
      roots.push_back(i);
    }
  }
  if (roots.empty()) {
    return "{}\n";
  }
  std::string out = "{\n";
  for (size_t i = 0; i < roots.size(); ++i) {
    appendNode(out, nodes, roots[i], 1);
    out += i + 1 < roots.size() ? ",\n" : "\n";
  }
  return out + "}\n";
}

/// Appends one CSV field, quoted when it holds a comma, quote, newline or edge spaces.
void appendField(std::string& out, std::string_view field) {
  const bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) {
    out += field;
    return;
  }
  out += '"';
  for (const char ch : field) {
    if (ch == '"') {
      out += '"';
    }
    out += ch;
  }
  out += '"';
}

class CsvWriter {
 public:
  CsvWriter(const SynthOptions& o, const std::vector<NodeSpec>& nodes, SynthStats& stats)
      : options_(o), nodes_(nodes), stats_(stats), random_(splitMix(o.seed ^ 0xC5C5C5C5ull)) {
    withSqm_ = o.sqmOverrideShare > 0 || o.sqmNoneShare > 0;
    out_ += "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,"
            "Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment";
    out_ += withSqm_ ? ",sqm\n" : "\n";
  }

  void circuit(const CircuitSpec& c);
  std::string take() { return std::move(out_); }

 private:
  uint32_t deviceCount();
  std::string ipv4Cell(bool business);
  std::string ipv6Cell(bool force);

  const SynthOptions& options_;
  const std::vector<NodeSpec>& nodes_;
  SynthStats& stats_;
  Random random_;
  Ipv4Allocator ipv4_;
  Ipv6Allocator ipv6_;
  bool withSqm_ = false;
  uint64_t nextCircuitId_ = 100000;
  uint64_t deviceIndex_ = 0;
  std::string out_;
};

uint32_t CsvWriter::deviceCount() {
  // P(k) halves with each extra device: 1 device 4/7, 2 devices 2/7, 3 devices 1/7 at max 3.
  const auto max = static_cast<uint32_t>(options_.devicesPerCircuitMax);
  double weight = 1.0;
  double total = 0.0;
  for (uint32_t k = 1; k <= max; ++k, weight /= 2) {
    total += weight;
  }
  double u = random_.unit() * total;
  uint32_t k = 1;
  for (weight = 1.0; k < max && u >= weight; ++k, weight /= 2) {
    u -= weight;
  }
  return k;
}

std::string CsvWriter::ipv4Cell(bool business) {
  if (!random_.chance(options_.cidrShare)) {
    ++stats_.ipv4Entries;
    return ipv4_.host();
  }
  std::string block = ipv4_.block(business || random_.chance(0.3) ? 29 : 30);
  ++stats_.ipv4Entries;
  if (random_.chance(0.3)) {
    ++stats_.ipv4Entries;
    return fmt::format("{}, {}", ipv4_.host(), block);
  }
  return block;
}

std::string CsvWriter::ipv6Cell(bool force) {
  if (!force && !random_.chance(options_.ipv6Share)) {
    return {};
  }
  ++stats_.ipv6Entries;
  return random_.chance(0.3) ? ipv6_.prefix56() : ipv6_.prefix64();
}

void CsvWriter::circuit(const CircuitSpec& c) {
  const Plan& plan = kPlans[c.plan];
  nextCircuitId_ += random_.between(1, 3);
  const std::string circuitId = fmt::format("{}", nextCircuitId_);
  const std::string name = plan.business ? businessName(random_) : streetAddress(random_);
  const std::string owner = plan.business ? name : surname(random_);
  const std::string parent = c.parent == kNone ? std::string() : nodes_[c.parent].name;
  const bool v6Only = random_.chance(options_.ipv6OnlyShare);
  const std::string comment =
      random_.chance(0.15) ? std::string(kComments[random_.below(kComments.size())]) : "";
  std::string sqm;
  if (options_.sqmNoneShare > 0 && random_.chance(options_.sqmNoneShare)) {
    sqm = "none";
    ++stats_.sqmOverrides;
  } else if (options_.sqmOverrideShare > 0 && random_.chance(options_.sqmOverrideShare)) {
    sqm = kSqmTokens[random_.weighted(kSqmWeights)];
    ++stats_.sqmOverrides;
  }
  const uint32_t devices = deviceCount();
  for (uint32_t k = 0; k < devices; ++k) {
    const std::string mac =
        random_.chance(0.03) ? std::string() : macAddress(deviceIndex_, random_.next());
    ++deviceIndex_;
    const std::string v4 = v6Only ? std::string() : ipv4Cell(plan.business);
    const std::string v6 = ipv6Cell(v6Only);
    appendField(out_, circuitId);
    out_ += ',';
    appendField(out_, name);
    out_ += ',';
    appendField(out_, fmt::format("{}-{}", circuitId, k + 1));
    out_ += ',';
    appendField(out_, deviceName(random_, owner, k));
    out_ += ',';
    appendField(out_, parent);
    fmt::format_to(std::back_inserter(out_), ",{},", mac);
    appendField(out_, v4);
    out_ += ',';
    appendField(out_, v6);
    fmt::format_to(std::back_inserter(out_), ",{},{},{},{},", formatRate(c.downMin),
                   formatRate(c.upMin), formatRate(plan.down), formatRate(plan.up));
    appendField(out_, comment);
    if (withSqm_) {
      out_ += ',';
      appendField(out_, sqm);
    }
    out_ += '\n';
    ++stats_.devices;
  }
  ++stats_.circuits;
  if (c.parent == kNone) {
    ++stats_.unparentedCircuits;
  }
}

}  // namespace

SynthFiles generate(const SynthOptions& options) {
  checkOptions(options);
  SynthFiles files;
  Random topologyRandom(splitMix(options.seed));
  std::vector<uint32_t> attach;
  const std::vector<NodeSpec> nodes = buildTopology(options, topologyRandom, attach);
  files.stats.nodes = static_cast<uint32_t>(nodes.size());
  files.networkJson = renderNetworkJson(nodes);

  Random circuitRandom(splitMix(options.seed ^ 0xA5A5A5A5ull));
  const std::vector<CircuitSpec> circuits = planCircuits(options, nodes, attach, circuitRandom);
  CsvWriter writer(options, nodes, files.stats);
  for (const CircuitSpec& c : circuits) {
    writer.circuit(c);
  }
  files.shapedDevicesCsv = writer.take();
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
      tomlString(o.defaultSqm), formatRate(o.uplinkMbps), formatRate(o.downlinkMbps), subnets,
      tomlString(o.networkJson), tomlString(o.shapedDevicesCsv));
}

}  // namespace sluice::synth
