#include "model/Overlay.h"

#include <cmath>
#include <set>

#include <fmt/format.h>

namespace sluice::model {

namespace {

/// `net` with every bit beyond `prefixLen` (0..128) cleared.
IpNet masked(const IpNet& net, uint8_t prefixLen) {
  IpNet out = net;
  out.prefixLen = prefixLen;
  for (size_t bit = prefixLen; bit < 128; ++bit) {
    out.addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return out;
}

/// Every address of the circuits in force, ordered by address, to find overlaps in
/// O(prefix lengths · log n) per candidate instead of comparing with every address.
class AddressIndex {
 public:
  explicit AddressIndex(const ShapedDevices& shaped) {
    for (const Circuit& circuit : shaped.circuits) {
      add(circuit);
    }
  }

  void add(const Circuit& circuit) {
    for (const Device& device : circuit.devices) {
      for (const auto* family : {&device.ipv4, &device.ipv6}) {
        for (const IpNet& net : *family) {
          nets_.insert(net);
          lengths_.insert(net.prefixLen);
        }
      }
    }
  }

  /// The first address in force that `candidate` overlaps, if any.
  std::optional<IpNet> overlap(const IpNet& candidate) const {
    // An address in force that contains the candidate (or equals it): one lookup per length.
    for (const uint8_t length : lengths_) {
      if (length > candidate.prefixLen) {
        break;
      }
      for (const bool v4 : {false, true}) {
        IpNet wider = masked(candidate, length);
        wider.isV4 = v4;
        if (nets_.contains(wider)) {
          return wider;
        }
      }
    }
    // An address in force inside the candidate: they sort right after its network address.
    // The set orders by address first, so those are one contiguous run from the candidate's
    // network address.
    IpNet low = masked(candidate, candidate.prefixLen);
    const auto network = low.addr;
    low.prefixLen = 0;
    low.isV4 = false;
    for (auto it = nets_.lower_bound(low);
         it != nets_.end() && masked(*it, candidate.prefixLen).addr == network; ++it) {
      if (it->prefixLen >= candidate.prefixLen) {
        return *it;
      }
    }
    return std::nullopt;
  }

 private:
  std::set<IpNet> nets_;
  std::set<uint8_t> lengths_;
};

bool positiveRate(double mbps) { return std::isfinite(mbps) && mbps >= 0; }

}  // namespace

OverlayReport applyOverlay(const Overlay& overlay, Inputs& inputs) {
  OverlayReport report;
  Network& network = inputs.model.network;
  ShapedDevices& shaped = inputs.model.shaped;
  auto skip = [&](const std::string& owner, const std::string& entry, const std::string& why) {
    ++report.skipped;
    inputs.diagnostics.warning(SourceLocation{owner}, "overlay-skipped",
                               fmt::format("{} {} not applied: {}", owner, entry, why), entry);
  };

  for (const auto& [name, rates] : overlay.nodeRates) {
    const int32_t index = network.find(name);
    if (index == kNoNode) {
      skip("stormguard", "node " + name, "no such node in network.json");
      continue;
    }
    if (!positiveRate(rates.downloadMbps) || !positiveRate(rates.uploadMbps) ||
        (rates.downloadMbps == 0 && rates.uploadMbps == 0)) {
      skip("stormguard", "node " + name,
           fmt::format("rates {}/{} Mbit/s are not positive", rates.downloadMbps,
                       rates.uploadMbps));
      continue;
    }
    Node& node = network.nodes[static_cast<size_t>(index)];
    if (rates.downloadMbps > 0) {
      node.downloadMbps = rates.downloadMbps;
    }
    if (rates.uploadMbps > 0) {
      node.uploadMbps = rates.uploadMbps;
    }
    ++report.nodeRatesSet;
  }

  for (const std::string& name : overlay.virtualNodes) {
    const int32_t index = network.find(name);
    if (index == kNoNode) {
      skip("treeguard", "node " + name, "no such node in network.json");
      continue;
    }
    network.nodes[static_cast<size_t>(index)].isVirtual = true;
    ++report.nodesVirtualized;
  }

  for (const auto& [id, sqm] : overlay.circuitSqm) {
    auto it = shaped.byId.find(id);
    if (it == shaped.byId.end()) {
      if (!overlay.circuits.contains(id)) {
        skip("treeguard", "circuit " + id, "no such circuit");
      }
      continue;  // a dynamic circuit's leaf kind is set below, once it is added
    }
    Circuit& circuit = shaped.circuits[it->second];
    if (sqm.down != SqmKind::Default) {
      circuit.sqm.down = sqm.down;
    }
    if (sqm.up != SqmKind::Default) {
      circuit.sqm.up = sqm.up;
    }
    ++report.circuitSqmSet;
  }

  if (overlay.circuits.empty()) {
    return report;
  }
  AddressIndex index(shaped);
  for (const auto& [id, dynamic] : overlay.circuits) {
    const std::string entry = "circuit " + id;
    if (shaped.byId.contains(id)) {
      skip("radius", entry, "ShapedDevices.csv has a circuit with this ID");
      continue;
    }
    if (!dynamic.parentNode.empty() && network.find(dynamic.parentNode) == kNoNode) {
      skip("radius", entry, "parent node " + dynamic.parentNode + " is not in network.json");
      continue;
    }
    if (!dynamic.parentNodeId.empty() && !network.byId.contains(dynamic.parentNodeId)) {
      skip("radius", entry,
           "parent node ID " + dynamic.parentNodeId + " is not in network.json");
      continue;
    }
    std::optional<std::string> conflict;
    size_t addresses = 0;
    for (const Device& device : dynamic.devices) {
      for (const auto* family : {&device.ipv4, &device.ipv6}) {
        for (const IpNet& net : *family) {
          ++addresses;
          if (!conflict) {
            if (auto other = index.overlap(net)) {
              conflict = fmt::format("address {} overlaps {} of another circuit",
                                     net.toString(), other->toString());
            }
          }
        }
      }
    }
    if (addresses == 0) {
      skip("radius", entry, "it has no address");
      continue;
    }
    if (conflict) {
      skip("radius", entry, *conflict);
      continue;
    }
    Circuit circuit = dynamic;
    circuit.id = id;
    if (auto sqm = overlay.circuitSqm.find(id); sqm != overlay.circuitSqm.end()) {
      if (sqm->second.down != SqmKind::Default) {
        circuit.sqm.down = sqm->second.down;
      }
      if (sqm->second.up != SqmKind::Default) {
        circuit.sqm.up = sqm->second.up;
      }
      ++report.circuitSqmSet;
    }
    index.add(circuit);
    shaped.byId.emplace(id, shaped.circuits.size());
    shaped.circuits.push_back(std::move(circuit));
    ++report.circuitsAdded;
  }
  return report;
}

}  // namespace sluice::model
