// Graph::emit(): the projected tree as network.json, the circuits as ShapedDevices.csv.

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "integrations/Graph.h"
#include "integrations/GraphDetail.h"

namespace sluice::integrations {
namespace {

using detail::ExportNode;
using detail::Projection;
using detail::round2;

/// A rate as a JSON number: integral values as integers ("1000", not "1000.0").
nlohmann::json rateJson(double mbps) {
  double rounded = round2(mbps);
  if (rounded == std::floor(rounded) && std::abs(rounded) < 1e15) {
    return static_cast<int64_t>(rounded);
  }
  return rounded;
}

std::string networkJson(Projection& projection, const GraphOptions& options) {
  auto& nodes = projection.nodes;
  // Rates: 0 = generated default, then clamped to the parent's (inheritBandwidthMaxes).
  // Parents precede children, so one pass suffices.
  for (ExportNode& node : nodes) {
    double down = node.downloadMbps > 0 ? node.downloadMbps : options.generatedPnDownloadMbps;
    double up = node.uploadMbps > 0 ? node.uploadMbps : options.generatedPnUploadMbps;
    double parentDown =
        node.parent < 0 ? options.downlinkBandwidthMbps : nodes[node.parent].downloadMbps;
    double parentUp = node.parent < 0 ? options.uplinkBandwidthMbps : nodes[node.parent].uploadMbps;
    node.downloadMbps = node.isVirtual ? parentDown : std::min(down, parentDown);
    node.uploadMbps = node.isVirtual ? parentUp : std::min(up, parentUp);
  }
  std::vector<nlohmann::json> objects(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ExportNode& node = nodes[i];
    nlohmann::json& o = objects[i];
    o["downloadBandwidthMbps"] = rateJson(node.downloadMbps);
    o["uploadBandwidthMbps"] = rateJson(node.uploadMbps);
    o["type"] = node.type;
    if (!node.id.empty()) {
      o["id"] = node.id;
    }
    if (node.isVirtual) {
      o["virtual"] = true;
    }
    if (node.latitude && node.longitude) {
      o["latitude"] = *node.latitude;
      o["longitude"] = *node.longitude;
    }
  }
  // Children before parents when folding (reverse of the parents-first order).
  nlohmann::json top = nlohmann::json::object();
  for (size_t k = nodes.size(); k-- > 0;) {
    nlohmann::json& container =
        nodes[k].parent < 0 ? top : objects[nodes[k].parent]["children"];
    container[nodes[k].name] = std::move(objects[k]);
  }
  return top.dump(2) + "\n";
}

/// One CSV cell, always quoted; quotes doubled; line breaks and other control characters
/// (which no field here should hold) become spaces so every row stays on one line.
void appendCell(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"') {
      out += "\"\"";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string rateText(double mbps) {
  return fmt::format("{}", round2(mbps));
}

struct CircuitRates {
  double downMin, upMin, downMax, upMax;
};

CircuitRates circuitRates(const Graph& graph, size_t client, const std::vector<size_t>& devices,
                          std::vector<std::string>& warnings) {
  const GraphOptions& o = graph.options();
  const GraphNode& node = graph.nodes()[client];
  double floor = o.minimumRateMbps;
  double downMax = node.downloadMbps > 0 ? node.downloadMbps : o.generatedPnDownloadMbps;
  double upMax = node.uploadMbps > 0 ? node.uploadMbps : o.generatedPnUploadMbps;
  downMax = std::max(floor, round2(downMax));
  upMax = std::max(floor, round2(upMax));
  double downMin = std::max(floor, round2(node.downloadMinMbps.value_or(downMax * o.commitMultiplier)));
  double upMin = std::max(floor, round2(node.uploadMinMbps.value_or(upMax * o.commitMultiplier)));
  if (o.ethernetPortLimitsEnabled) {
    // Lowest positive negotiated speed among the circuit's devices (ethernet_port_limits.rs).
    double speed = std::numeric_limits<double>::infinity();
    for (size_t i : devices) {
      if (graph.nodes()[i].ethernetMbps > 0) {
        speed = std::min(speed, graph.nodes()[i].ethernetMbps);
      }
    }
    if (std::isfinite(speed)) {
      double usable = std::round(speed * o.ethernetPortLimitMultiplier);
      if (usable > 0 && (usable < downMax || usable < upMax)) {
        warnings.push_back(fmt::format("circuit '{}': its {} Mbps Ethernet port carries about "
                                       "{} Mbps: max capped from {}/{} Mbps",
                                       node.name, speed, usable, downMax, upMax));
        downMax = std::min(downMax, usable);
        upMax = std::min(upMax, usable);
      }
    }
  }
  return {std::min(downMin, downMax), std::min(upMin, upMax), downMax, upMax};
}

}  // namespace

Result<ShapingFiles> Graph::emit(CompileMode mode) const {
  if (!prepared_) {
    return makeError(EINVAL, "integration graph", "emit() before prepare()");
  }
  ShapingFiles out;
  out.warnings = warnings_;
  std::vector<std::string> names = detail::exportNames(*this, out.warnings);
  Projection projection = detail::project(*this, mode, names);
  out.nodes = projection.nodes.size();
  out.networkJson = networkJson(projection, options_);

  // Devices of each client, in node order (one pass instead of a scan per client).
  std::vector<std::vector<size_t>> devices(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].kind == NodeKind::Device && parents_[i] >= 0) {
      devices[parents_[i]].push_back(i);
    }
  }
  std::string& csv = out.shapedDevicesCsv;
  csv = "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,Parent Node ID,"
        "Anchor Node ID,MAC,IPv4,IPv6,Download Min Mbps,Upload Min Mbps,Download Max Mbps,"
        "Upload Max Mbps,Comment\n";
  for (size_t c = 0; c < nodes_.size(); ++c) {
    const GraphNode& client = nodes_[c];
    if (client.kind != NodeKind::Client || devices[c].empty()) {
      continue;
    }
    ++out.circuits;
    CircuitRates rates = circuitRates(*this, c, devices[c], out.warnings);
    int32_t parent = projection.circuitParent[c];
    std::string parentName = parent < 0 ? "" : projection.nodes[parent].name;
    std::string parentId = parent < 0 ? "" : projection.nodes[parent].id;
    std::string anchorId = projection.writeAnchors ? parentId : "";
    const std::string& circuitName =
        options_.circuitNameAsAddress && !client.address.empty() ? client.address : client.name;
    for (size_t d : devices[c]) {
      const GraphNode& device = nodes_[d];
      std::string v4;
      std::string v6;
      for (const IpNet& net : device.addresses) {
        std::string& list = net.isV4 ? v4 : v6;
        list += list.empty() ? "" : ", ";
        list += net.toString();
      }
      const std::string cells[] = {client.id,
                                   circuitName,
                                   device.id,
                                   device.name,
                                   parentName,
                                   parentId,
                                   anchorId,
                                   device.mac,
                                   v4,
                                   v6,
                                   rateText(rates.downMin),
                                   rateText(rates.upMin),
                                   rateText(rates.downMax),
                                   rateText(rates.upMax),
                                   client.comment};
      for (size_t k = 0; k < std::size(cells); ++k) {
        if (k > 0) {
          csv += ',';
        }
        appendCell(csv, cells[k]);
      }
      csv += '\n';
    }
  }
  return out;
}

}  // namespace sluice::integrations
