#include "integrations/UispBuild.h"

#include <algorithm>
#include <cerrno>
#include <unordered_set>

#include <fmt/format.h>

#include "integrations/UispCapacity.h"
#include "integrations/UispTopology.h"

namespace sluice::integrations::uisp {
namespace {

constexpr double kSlowMbps = 0.1;  // suspended_strategy "slow" and the floor of every rate

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

/// The first candidate name not yet taken (`taken` is updated).
std::string claimName(std::unordered_set<std::string>& taken, const std::string& base,
                      const std::vector<std::string>& suffixes) {
  std::string name = base;
  for (size_t i = 0; taken.contains(name) && i < suffixes.size(); ++i) {
    if (!suffixes[i].empty()) {
      name = fmt::format("{} ({})", base, suffixes[i]);
    }
  }
  for (int n = 2; taken.contains(name); ++n) {
    name = fmt::format("{} ({})", base, n);
  }
  taken.insert(name);
  return name;
}

struct Rates {
  double downMin, upMin, downMax, upMax;
  bool planMissing = false;
};

/// One direction: (min, max) from the plan speed (bits/s) and burst, or from the generated rate.
std::pair<double, double> direction(std::optional<double> speedBps, std::optional<double> burst,
                                    double generatedMbps, const UispConfig& uisp, bool& missing) {
  if (speedBps && *speedBps > 0) {
    double base = *speedBps / 1e6;
    double burstMbps = burst && *burst > 0 ? *burst * 8 / 1000 / 1024 : 0;
    return {base * uisp.commitBandwidthMultiplier,
            (base + burstMbps) * uisp.bandwidthOverheadFactor};
  }
  missing = true;
  double max = generatedMbps * uisp.bandwidthOverheadFactor;
  return {max * uisp.commitBandwidthMultiplier, max};
}

Rates clientRates(const Site& site, const UispConfig& uisp, const GraphOptions& graph) {
  if (site.suspended && uisp.suspendedStrategy == SuspendedStrategy::Slow) {
    return {kSlowMbps, kSlowMbps, kSlowMbps, kSlowMbps};
  }
  Rates r{};
  auto [downMin, downMax] = direction(site.downloadSpeedBps, site.downloadBurstSize,
                                      graph.generatedPnDownloadMbps, uisp, r.planMissing);
  auto [upMin, upMax] = direction(site.uploadSpeedBps, site.uploadBurstSize,
                                  graph.generatedPnUploadMbps, uisp, r.planMissing);
  r.downMin = downMin;
  r.upMin = upMin;
  r.downMax = downMax;
  r.upMax = upMax;
  return r;
}

/// A device's addresses: ipAddress as a host, interface CIDRs as prefixes when they are
/// network addresses, else as hosts (LibreQoS: is_network_address); unparsable ones warned.
std::vector<IpNet> deviceAddresses(const Device& d, std::vector<std::string>& warnings) {
  std::vector<IpNet> out;
  auto addUnique = [&](const std::optional<IpNet>& net, const std::string& text) {
    if (!net) {
      warnings.push_back(fmt::format("UISP device '{}': address '{}' is not an IP address: "
                                     "ignored",
                                     d.hostname, text));
    } else if (std::find(out.begin(), out.end(), *net) == out.end()) {
      out.push_back(*net);
    }
  };
  if (!d.ipAddress.empty()) {
    addUnique(parseVendorAddress(d.ipAddress.substr(0, d.ipAddress.find('/'))), d.ipAddress);
  }
  for (const Interface& i : d.interfaces) {
    for (const std::string& cidr : i.cidrs) {
      addUnique(parseVendorAddress(cidr), cidr);
    }
  }
  return out;
}

/// exception_cpes' parents named by UISP id become graph ids; names stay names.
std::vector<ParentException> exceptionRules(const Data& data, const UispConfig& uisp) {
  std::vector<ParentException> out;
  for (ParentException rule : uisp.exceptionCpes) {
    for (const Site& s : data.sites) {
      if (s.id == rule.parent) {
        rule.parent = s.endpoint ? s.id : siteNodeId(s.id);
      }
    }
    for (const Device& d : data.devices) {
      if (d.id == rule.parent) {
        rule.parent = deviceNodeId(d.id);
      }
    }
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

std::unordered_map<std::string, std::string> siteExportNames(const Data& data) {
  std::unordered_map<std::string, std::string> out;
  std::unordered_set<std::string> taken;
  for (const Site& s : data.sites) {
    std::string base = s.endpoint ? normaliseClientName(s.name) : trim(s.name);
    if (base.empty()) {
      base = s.id;
    }
    std::string address = trim(s.address.substr(0, s.address.find(',')));
    out[s.id] = claimName(taken, base, {address, trim(s.serviceName), s.id.substr(0, 8), s.id});
  }
  return out;
}

std::unordered_map<std::string, std::string> deviceExportNames(
    const Data& data, const std::unordered_map<std::string, std::string>& siteNames) {
  std::unordered_map<std::string, std::string> out;
  std::unordered_set<std::string> taken;
  for (const auto& [id, name] : siteNames) {
    taken.insert(name);
  }
  for (const Device& d : data.devices) {
    std::string base = d.hostname.empty() ? d.id : trim(d.hostname);
    out[d.id] = claimName(taken, base, {d.id.substr(0, 8), d.id});
  }
  return out;
}

Result<ShapingFiles> buildUispFiles(const Data& data, const UispConfig& uisp, GraphOptions graph,
                                    CompileMode mode) {
  if (data.sites.empty() && !data.devices.empty()) {
    return makeError(EBADMSG, "UISP",
                     fmt::format("/sites listed no site while /devices listed {} devices: not "
                                 "a usable answer",
                                 data.devices.size()));
  }
  TopologyInput in;
  in.data = &data;
  in.siteNames = siteExportNames(data);
  in.deviceNames = deviceExportNames(data, in.siteNames);
  for (const Site& s : data.sites) {
    const auto& ex = uisp.excludeSites;
    if (std::find(ex.begin(), ex.end(), s.name) != ex.end() ||
        std::find(ex.begin(), ex.end(), in.siteNames[s.id]) != ex.end()) {
      in.excludedSites.insert(s.id);
    }
  }
  for (const Device& d : data.devices) {
    for (const ParentException& rule : uisp.exceptionCpes) {
      if (rule.node == d.hostname || rule.node == d.id) {
        in.exceptionClients.insert(d.siteId);
      }
    }
  }
  in.rootSiteName = uisp.site;
  in.ignoreCalculatedCapacity = uisp.ignoreCalculatedCapacity;
  in.capacity = CapacityRules{graph.generatedPnDownloadMbps,
                              graph.generatedPnUploadMbps,
                              uisp.airmaxCapacity,
                              uisp.airmaxFlexibleFrameDownloadRatio,
                              uisp.ltuCapacity,
                              uisp.infrastructureTransportCapsEnabled,
                              graph.ethernetPortLimitMultiplier};
  auto topology = buildTopology(in);
  if (!topology) {
    return std::unexpected(topology.error());
  }
  graph.excludeNames = uisp.excludeSites;
  graph.parentExceptions = exceptionRules(data, uisp);
  graph.minimumRateMbps = kSlowMbps;
  Graph g(std::move(graph));
  std::vector<std::string> warnings = std::move(topology->warnings);
  for (GraphNode& node : topology->nodes) {
    if (auto added = g.addNode(std::move(node)); !added) {
      return std::unexpected(added.error());
    }
  }
  std::unordered_map<std::string, std::vector<const Device*>> devicesBySite;
  for (const Device& d : data.devices) {
    devicesBySite[d.siteId].push_back(&d);
  }
  for (const Site& s : data.sites) {
    if (!s.endpoint || in.excludedSites.contains(s.id)) {
      continue;
    }
    const std::string& name = in.siteNames[s.id];
    if (s.suspended && uisp.suspendedStrategy == SuspendedStrategy::Ignore) {
      warnings.push_back(fmt::format("UISP client site '{}' is suspended "
                                     "(suspended_strategy = \"ignore\"): no circuit",
                                     name));
      continue;
    }
    Rates rates = clientRates(s, uisp, g.options());
    if (rates.planMissing) {
      warnings.push_back(fmt::format("UISP client site '{}' has no plan speed (qos): shaped at "
                                     "the generated rate x bandwidth_overhead_factor",
                                     name));
    }
    GraphNode client;
    client.id = s.id;
    client.name = name;
    client.kind = NodeKind::Client;
    client.parentId = topology->clientParent.at(s.id);
    client.address = s.address;
    client.downloadMbps = rates.downMax;
    client.uploadMbps = rates.upMax;
    client.downloadMinMbps = rates.downMin;
    client.uploadMinMbps = rates.upMin;
    if (auto added = g.addNode(std::move(client)); !added) {
      return std::unexpected(added.error());
    }
    for (const Device* d : devicesBySite[s.id]) {
      GraphNode device;
      device.id = d->id;
      device.name = d->hostname.empty() ? d->id : d->hostname;
      device.kind = NodeKind::Device;
      device.parentId = s.id;
      device.mac = d->mac;
      device.addresses = deviceAddresses(*d, warnings);
      device.ethernetMbps = subscriberEthernetMbps(*d).value_or(0);
      if (auto added = g.addNode(std::move(device)); !added) {
        return std::unexpected(added.error());
      }
    }
  }
  g.prepare();
  auto files = g.emit(mode);
  if (files) {
    warnings.insert(warnings.end(), files->warnings.begin(), files->warnings.end());
    files->warnings = std::move(warnings);
  }
  return files;
}

}  // namespace sluice::integrations::uisp
