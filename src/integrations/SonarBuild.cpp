// Sonar data + AP polls -> graph nodes (the rules are in SonarIntegration.h).

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "integrations/AddressClaims.h"
#include "integrations/SonarIntegration.h"

namespace sluice::integrations {
namespace {

std::string fold(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

struct Plan {
  double downloadMbps = 0;
  double uploadMbps = 0;
};

std::optional<Plan> planOf(const SonarAccount& account, const SonarConfig& sonar) {
  for (const auto& s : account.services) {
    if (s.type == "DATA" && s.enabled && s.downloadKbps && s.uploadKbps) {
      return Plan{*s.downloadKbps / 1000.0, *s.uploadKbps / 1000.0};
    }
  }
  std::unordered_set<std::string> excluded;
  for (const auto& name : sonar.recurringExcludedServiceNames) {
    excluded.insert(fold(name));
  }
  for (const auto& s : account.services) {
    if (s.type != "RECURRING" || !s.enabled || excluded.contains(fold(s.name))) {
      continue;
    }
    for (const auto& rule : sonar.recurringServiceRates) {
      if (rule.enabled && fold(rule.serviceName) == fold(s.name)) {
        return Plan{rule.downloadMbps, rule.uploadMbps};
      }
    }
  }
  return std::nullopt;
}

struct Placement {
  std::unordered_map<std::string, std::string> apOfMac;  // normalised MAC -> AP node id
};

Result<Placement> addTopology(const SonarData& data, const std::vector<ApPoll>& polls,
                              Graph& graph, std::vector<std::string>& warnings) {
  Placement placement;
  std::unordered_set<std::string> sitesWithAps;
  for (size_t i = 0; i < data.aps.size() && i < polls.size(); ++i) {
    const auto& ap = data.aps[i];
    if (!polls[i].error.empty()) {
      warnings.push_back(fmt::format("Sonar AP {} ({}): {}: its customers go under the root",
                                     ap.id, ap.ip, polls[i].error));
    } else if (polls[i].cpeMacs.empty()) {
      warnings.push_back(
          fmt::format("Sonar AP {} ({}) lists no stations over SNMP: left out", ap.id, ap.ip));
    } else {
      sitesWithAps.insert(ap.siteId);
    }
  }
  for (const auto& site : data.sites) {
    if (!sitesWithAps.contains(site.id)) {
      continue;
    }
    GraphNode node;
    node.id = "site_" + site.id;
    node.name = site.name.empty() ? node.id : site.name;
    node.kind = NodeKind::Site;
    node.networkJsonId = "sonar:site:" + site.id;
    if (auto added = graph.addNode(std::move(node)); !added) {
      return std::unexpected(added.error());
    }
  }
  for (size_t i = 0; i < data.aps.size() && i < polls.size(); ++i) {
    const auto& ap = data.aps[i];
    if (polls[i].cpeMacs.empty() || !polls[i].error.empty()) {
      continue;
    }
    GraphNode node;
    node.id = "ap_" + ap.id;
    node.name = polls[i].name.empty() ? fmt::format("AP {}", ap.id) : polls[i].name;
    node.kind = NodeKind::Ap;
    node.parentId = "site_" + ap.siteId;
    node.networkJsonId = "sonar:ap:" + ap.id;
    for (const auto& mac : polls[i].cpeMacs) {
      placement.apOfMac.try_emplace(mac, node.id);
    }
    if (auto added = graph.addNode(std::move(node)); !added) {
      return std::unexpected(added.error());
    }
  }
  return placement;
}

// The account's usable devices as graph nodes (addresses claimed), or empty.
std::vector<GraphNode> devicesOf(const SonarAccount& account, AddressClaims& claims,
                                 std::unordered_set<std::string>& deviceIds,
                                 std::vector<std::string>& warnings) {
  std::vector<GraphNode> out;
  for (const auto& d : account.devices) {
    GraphNode node;
    node.id = d.id;
    node.name = d.name.empty() ? d.id : d.name;
    node.kind = NodeKind::Device;
    node.parentId = account.id;
    node.mac = d.mac;
    for (const auto& subnet : d.subnets) {
      auto net = parseVendorAddress(subnet);
      if (!net) {
        warnings.push_back(fmt::format("Sonar account {}: '{}' of {} is not an IP address: dropped",
                                       account.id, subnet, d.id));
      } else if (auto owner = claims.claim(*net, account.id); !owner.empty()) {
        warnings.push_back(fmt::format(
            "Sonar account {}: {} of {} is already used by account {}: dropped", account.id,
            net->toString(), d.id, owner));
      } else {
        node.addresses.push_back(*net);
      }
    }
    if (node.addresses.empty()) {
      continue;  // nothing to shape (a MAC-only device still places the account, below)
    }
    if (!deviceIds.insert(node.id).second) {
      warnings.push_back(fmt::format("Sonar account {}: {} also belongs to another account: "
                                     "left out here", account.id, node.id));
      continue;
    }
    out.push_back(std::move(node));
  }
  return out;
}

}  // namespace

Result<ShapingFiles> buildSonarFiles(const SonarData& data, const std::vector<ApPoll>& polls,
                                     const SonarBuildOptions& options) {
  Graph graph(options.graph);
  std::vector<std::string> warnings = data.warnings;
  Placement placement;
  if (options.mode != CompileMode::Flat) {
    auto topology = addTopology(data, polls, graph, warnings);
    if (!topology) {
      return std::unexpected(topology.error());
    }
    placement = std::move(*topology);
  }
  AddressClaims claims;
  std::unordered_set<std::string> deviceIds;
  std::unordered_set<std::string> circuitIds;
  for (const auto& account : data.accounts) {
    const std::string who = fmt::format("Sonar account {} ('{}')", account.id, account.name);
    if (!account.address) {
      warnings.push_back(who + " has no address: left out");
      continue;
    }
    auto plan = planOf(account, options.sonar);
    if (!plan) {
      warnings.push_back(who + " has no DATA service and no matching recurring service rate: "
                               "left out");
      continue;
    }
    if (!circuitIds.insert(account.id).second) {
      warnings.push_back(who + " is listed twice: the first is used");
      continue;
    }
    auto devices = devicesOf(account, claims, deviceIds, warnings);
    if (devices.empty()) {
      warnings.push_back(who + " has no device with an IP address: left out");
      continue;
    }
    GraphNode circuit;
    circuit.id = account.id;
    circuit.name = account.name.empty() ? account.id : account.name;
    circuit.kind = NodeKind::Client;
    circuit.address = *account.address;
    const double multiplier = options.clientBandwidthMultiplier;
    circuit.downloadMbps = std::max(kSonarMinimumPlanMbps, plan->downloadMbps * multiplier);
    circuit.uploadMbps = std::max(kSonarMinimumPlanMbps, plan->uploadMbps * multiplier);
    for (const auto& d : account.devices) {
      auto ap = placement.apOfMac.find(normalizeMac(d.mac));
      if (!d.mac.empty() && ap != placement.apOfMac.end()) {
        circuit.parentId = ap->second;
        break;
      }
    }
    if (auto added = graph.addNode(std::move(circuit)); !added) {
      return std::unexpected(added.error());
    }
    for (auto& device : devices) {
      if (auto added = graph.addNode(std::move(device)); !added) {
        return std::unexpected(added.error());
      }
    }
  }
  if (circuitIds.empty()) {
    warnings.push_back("Sonar returned no shapable account");
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
