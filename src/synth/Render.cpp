// Writing a planned synthetic ISP as LibreQoS files (Spec.h).

#include <cmath>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "synth/Addresses.h"
#include "synth/Names.h"
#include "synth/Random.h"
#include "synth/Spec.h"

namespace sluice::synth::detail {

namespace {

constexpr std::array<std::string_view, 7> kSqmTokens = {
    "cake", "fq_codel", "none", "cake/fq_codel", "fq_codel/cake", "/fq_codel", "cake/"};
constexpr std::array<uint32_t, 7> kSqmWeights = {4, 4, 1, 3, 1, 1, 1};

constexpr std::array<std::string_view, 6> kComments = {
    "Residential",      "Business",          "Promo rate until 2027-06-30",
    "Tower lease swap", "Static IP, billed", "Seasonal, hold Nov-Mar"};

/// A JSON string literal (nlohmann's escaping).
std::string jsonString(const std::string& text) {
  return nlohmann::json(text).dump();
}

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

}  // namespace

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

namespace {

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
    out_ +=
        "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,"
        "Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment";
    out_ += withSqm_ ? ",sqm\n" : "\n";
  }

  void circuit(const CircuitSpec& c);
  /// The CSV text; the writer is empty afterwards.
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

std::string renderShapedDevices(const SynthOptions& options, const std::vector<NodeSpec>& nodes,
                                const std::vector<CircuitSpec>& circuits, SynthStats& stats) {
  CsvWriter writer(options, nodes, stats);
  for (const CircuitSpec& c : circuits) {
    writer.circuit(c);
  }
  return writer.take();
}

}  // namespace sluice::synth::detail
