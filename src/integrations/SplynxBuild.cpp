// Splynx data -> graph nodes (the rules are in SplynxIntegration.h).

#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "integrations/AddressClaims.h"
#include "integrations/SplynxIntegration.h"

namespace sluice::integrations {
namespace {

struct Topology {
  bool useNetworkSites = false;
  std::unordered_map<std::string, const SplynxHardware*> hardware;  // by Splynx id
  std::unordered_set<std::string> aps;                              // Splynx ids of APs
  std::unordered_map<std::string, std::string> nodeOfHardware;      // Splynx id -> node id
  std::unordered_map<std::string, std::string> firstSectorOfRouter;
};

Topology analyse(const SplynxData& data, CompileMode mode) {
  Topology t;
  std::unordered_set<std::string> accessDevices;
  for (const auto& service : data.services) {
    if (!service.accessDevice.empty()) {
      accessDevices.insert(service.accessDevice);
    }
  }
  bool anySiteReference = false;
  for (const auto& hw : data.monitoring) {
    t.hardware.emplace(hw.id, &hw);
    const bool ap = hw.accessDevice ? *hw.accessDevice : hw.type == "5";
    if (ap || accessDevices.contains(hw.id)) {
      t.aps.insert(hw.id);
    }
    anySiteReference = anySiteReference || !hw.networkSiteId.empty();
  }
  for (const auto& sector : data.sectors) {
    t.firstSectorOfRouter.try_emplace(sector.routerId, sector.id);
  }
  t.useNetworkSites = (mode == CompileMode::ApSite || mode == CompileMode::Full) &&
                      !data.networkSites.empty() && anySiteReference;
  return t;
}

// "<parent's name>_<name>" for a row whose parent is known; repeated names get " (<id>)".
std::unordered_map<std::string, std::string> hardwareNames(const SplynxData& data,
                                                           const Topology& t) {
  std::unordered_map<std::string, std::string> names;
  std::unordered_set<std::string> used;
  for (const auto& hw : data.monitoring) {
    std::string name = hw.name;
    if (auto parent = t.hardware.find(hw.parentId); parent != t.hardware.end()) {
      name = parent->second->name + "_" + hw.name;
    }
    if (!used.insert(name).second) {
      name += fmt::format(" ({})", hw.id);
      used.insert(name);
    }
    names.emplace(hw.id, std::move(name));
  }
  return names;
}

GraphNode infraNode(std::string id, std::string name, NodeKind kind, std::string networkJsonId,
                    const std::optional<std::pair<double, double>>& gps) {
  GraphNode node;
  node.id = std::move(id);
  node.name = std::move(name);
  node.kind = kind;
  node.downloadMbps = kSplynxInfrastructureMbps;
  node.uploadMbps = kSplynxInfrastructureMbps;
  node.networkJsonId = std::move(networkJsonId);
  if (gps) {
    node.latitude = gps->first;
    node.longitude = gps->second;
  }
  return node;
}

Result<void> addInfrastructure(const SplynxData& data, CompileMode mode, Topology& t,
                               Graph& graph) {
  if (mode == CompileMode::Flat) {
    return {};
  }
  const auto names = hardwareNames(data, t);
  if (t.useNetworkSites) {
    for (const auto& site : data.networkSites) {
      auto added = graph.addNode(infraNode("ns_" + site.id, site.name, NodeKind::Site,
                                           "splynx:network_site:" + site.id, site.gps));
      if (!added) {
        return added;
      }
    }
  }
  const bool apsOnly = t.useNetworkSites || mode == CompileMode::ApOnly;
  for (const auto& hw : data.monitoring) {
    const bool ap = t.aps.contains(hw.id);
    if (apsOnly && !ap) {
      continue;
    }
    t.nodeOfHardware[hw.id] = (ap ? "ap_" : "site_") + hw.id;
  }
  for (const auto& hw : data.monitoring) {
    auto self = t.nodeOfHardware.find(hw.id);
    if (self == t.nodeOfHardware.end()) {
      continue;
    }
    const bool ap = t.aps.contains(hw.id);
    GraphNode node = infraNode(self->second, names.at(hw.id), ap ? NodeKind::Ap : NodeKind::Site,
                               fmt::format("splynx:{}:{}", ap ? "ap" : "site", hw.id), hw.gps);
    if (t.useNetworkSites) {
      if (!hw.networkSiteId.empty()) {
        node.parentId = "ns_" + hw.networkSiteId;
      }
    } else if (mode != CompileMode::ApOnly) {
      if (auto parent = t.nodeOfHardware.find(hw.parentId); parent != t.nodeOfHardware.end()) {
        node.parentId = parent->second;
      }
    }
    if (t.useNetworkSites && !node.parentId.empty() &&
        graph.find(node.parentId) < 0) {
      node.parentId.clear();  // a network site id that is not in the site list
    }
    auto added = graph.addNode(std::move(node));
    if (!added) {
      return added;
    }
  }
  return {};
}

// The node a service's circuit hangs under ("" = the root).
std::string parentOf(const SplynxService& service, CompileMode mode, const Topology& t) {
  if (mode == CompileMode::Flat) {
    return {};
  }
  std::string hardware;
  if (t.hardware.contains(service.accessDevice)) {
    hardware = service.accessDevice;
  } else if (t.hardware.contains(service.routerId)) {
    hardware = service.routerId;
  } else if (auto sector = t.firstSectorOfRouter.find(service.routerId);
             sector != t.firstSectorOfRouter.end() && t.hardware.contains(sector->second)) {
    hardware = sector->second;
  }
  if (hardware.empty() || ((t.useNetworkSites || mode == CompileMode::ApOnly) &&
                           !t.aps.contains(hardware))) {
    return {};
  }
  auto node = t.nodeOfHardware.find(hardware);
  return node == t.nodeOfHardware.end() ? std::string() : node->second;
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) {
      comma = text.size();
    }
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) {
      out.push_back(std::move(item));
    }
    start = comma + 1;
  }
  return out;
}

// Claims each address text for `circuit`, appending the usable ones to `out`.
void claimAll(const std::vector<std::string>& texts, const std::string& circuit,
              AddressClaims& claims, std::vector<IpNet>& out, std::vector<std::string>& warnings) {
  for (const auto& text : texts) {
    auto net = parseVendorAddress(text);
    if (!net) {
      warnings.push_back(fmt::format(
          "Splynx internet service {}: '{}' is not an IP address or prefix: dropped", circuit,
          text));
      continue;
    }
    if (auto owner = claims.claim(*net, circuit); !owner.empty()) {
      warnings.push_back(fmt::format(
          "Splynx internet service {}: address {} already belongs to service {}: dropped",
          circuit, net->toString(), owner));
      continue;
    }
    out.push_back(*net);
  }
}

bool hasFamily(const std::vector<IpNet>& nets, bool v4) {
  return std::ranges::any_of(nets, [v4](const IpNet& n) { return n.isV4 == v4; });
}

}  // namespace

Result<ShapingFiles> buildSplynxFiles(const SplynxData& data, const SplynxBuildOptions& options) {
  Graph graph(options.graph);
  Topology topology = analyse(data, options.mode);
  if (auto added = addInfrastructure(data, options.mode, topology, graph); !added) {
    return std::unexpected(added.error());
  }
  std::vector<std::string> warnings = data.warnings;
  std::unordered_map<std::string, const SplynxTariff*> tariffs;
  for (const auto& tariff : data.tariffs) {
    tariffs.emplace(tariff.id, &tariff);
  }
  std::unordered_map<std::string, const SplynxCustomer*> customers;
  for (const auto& customer : data.customers) {
    customers.emplace(customer.id, &customer);
  }
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> online;
  for (const auto& session : data.online) {
    auto& [v4, v6] = online[session.serviceId];
    if (!session.ipv4.empty()) {
      v4.push_back(session.ipv4);
    }
    if (!session.ipv6.empty()) {
      v6.push_back(session.ipv6);
    }
  }

  // Circuits in service order; addresses claimed in LibreQoS's order: every service's static
  // addresses first, then the customers-online supplements and fallbacks.
  std::vector<const SplynxService*> active;
  for (const auto& service : data.services) {
    if (service.status != "active") {
      continue;
    }
    if (!tariffs.contains(service.tariffId)) {
      warnings.push_back(fmt::format(
          "Splynx internet service {} (customer {}): tariff '{}' is not among the internet "
          "tariffs: no circuit",
          service.id, service.customerId, service.tariffId));
      continue;
    }
    active.push_back(&service);
  }
  if (active.empty()) {
    warnings.push_back("Splynx returned no active internet service with a known tariff");
  }
  AddressClaims claims;
  std::vector<std::vector<IpNet>> addresses(active.size());
  for (size_t i = 0; i < active.size(); ++i) {
    const auto& s = *active[i];
    std::vector<std::string> texts;
    for (const auto& text : {s.ipv4, s.ipv6}) {
      if (!text.empty()) {
        texts.push_back(text);
      }
    }
    for (const auto* list : {&s.ipv4Route, &s.ipv6Delegated}) {
      auto items = splitList(*list);
      texts.insert(texts.end(), items.begin(), items.end());
    }
    claimAll(texts, s.id, claims, addresses[i], warnings);
  }
  for (size_t i = 0; i < active.size(); ++i) {
    auto it = online.find(active[i]->id);
    if (it == online.end()) {
      continue;
    }
    // A family the service lacks is taken from its online sessions (both, when it has none).
    if (!hasFamily(addresses[i], true)) {
      claimAll(it->second.first, active[i]->id, claims, addresses[i], warnings);
    }
    if (!hasFamily(addresses[i], false)) {
      claimAll(it->second.second, active[i]->id, claims, addresses[i], warnings);
    }
  }

  for (size_t i = 0; i < active.size(); ++i) {
    const auto& s = *active[i];
    const SplynxTariff& tariff = *tariffs.at(s.tariffId);
    auto customer = customers.find(s.customerId);
    const std::string name =
        customer != customers.end() && !customer->second->name.empty() ? customer->second->name
                                                                       : s.customerId;
    GraphNode circuit;
    circuit.id = s.id;
    circuit.name = name;
    circuit.kind = NodeKind::Client;
    circuit.parentId = parentOf(s, options.mode, topology);
    circuit.downloadMbps = tariff.downloadMbps * options.clientBandwidthMultiplier;
    circuit.uploadMbps = tariff.uploadMbps * options.clientBandwidthMultiplier;
    circuit.address = customer != customers.end() && !customer->second->address.empty()
                          ? customer->second->address
                          : name;
    GraphNode device;
    device.id = "splynx_service_" + s.id;
    device.name = name;
    device.kind = NodeKind::Device;
    device.parentId = s.id;
    device.mac = s.mac;
    device.addresses = std::move(addresses[i]);
    for (auto* node : {&circuit, &device}) {
      if (auto added = graph.addNode(std::move(*node)); !added) {
        return std::unexpected(added.error());
      }
    }
  }
  graph.prepare();
  auto files = graph.emit(options.mode);
  if (files) {
    warnings.insert(warnings.end(), files->warnings.begin(), files->warnings.end());
    files->warnings = std::move(warnings);
  }
  return files;
}

}  // namespace sluice::integrations
