// buildTopology()'s second half: clients mapped to their APs, and the searched graph written
// out as Site/Ap nodes (UispTopology.h).

#include <fmt/format.h>

#include "integrations/UispPathGraph.h"
#include "integrations/UispTopology.h"

namespace sluice::integrations::uisp {

std::string siteNodeId(const std::string& siteId) {
  return "uisp:site:" + siteId;
}

std::string deviceNodeId(const std::string& deviceId) {
  return "uisp:device:" + deviceId;
}

namespace detail {

/// LibreQoS common.rs map_clients_to_aps, per client site: (a) a device's apDevice in another
/// site; (b) a data link from one of its devices to a device in another site; (c) a data link
/// from the site itself to a device in another site; else Orphans.
void PathGraph::mapClients() {
  std::unordered_map<std::string, std::vector<const Device*>> devicesBySite;
  for (const Device& d : data_.devices) {
    devicesBySite[d.siteId].push_back(&d);
  }
  std::unordered_map<std::string, std::vector<std::string>> peersByDevice;  // other ends
  std::unordered_map<std::string, std::vector<std::string>> devicesLinkedToSite;
  for (const DataLink& l : data_.dataLinks) {
    if (!l.from.deviceId.empty() && !l.to.deviceId.empty()) {
      peersByDevice[l.from.deviceId].push_back(l.to.deviceId);
      peersByDevice[l.to.deviceId].push_back(l.from.deviceId);
    }
    if (!l.from.siteId.empty() && !l.to.deviceId.empty()) {
      devicesLinkedToSite[l.from.siteId].push_back(l.to.deviceId);
    }
    if (!l.to.siteId.empty() && !l.from.deviceId.empty()) {
      devicesLinkedToSite[l.to.siteId].push_back(l.from.deviceId);
    }
  }
  for (const Site& client : data_.sites) {
    if (!client.endpoint || in_.excludedSites.contains(client.id)) {
      continue;
    }
    int32_t ap = -1;
    for (const Device* d : devicesBySite[client.id]) {
      if (isAp(deviceVertex(d->apDeviceId), client.id)) {
        ap = deviceVertex(d->apDeviceId);
        break;
      }
      for (const std::string& peer : peersByDevice[d->id]) {
        if (isAp(deviceVertex(peer), client.id)) {
          ap = deviceVertex(peer);
          break;
        }
      }
      if (ap >= 0) {
        break;
      }
    }
    if (ap < 0) {
      for (const std::string& peer : devicesLinkedToSite[client.id]) {
        if (isAp(deviceVertex(peer), client.id)) {
          ap = deviceVertex(peer);
          break;
        }
      }
    }
    if (ap < 0 && !in_.exceptionClients.contains(client.id)) {
      out_.warnings.push_back(fmt::format("UISP client site '{}' is linked to no AP: under Orphans",
                                          in_.siteNames.at(client.id)));
    }
    ap = ap < 0 ? orphans_ : ap;
    ++clients_[ap];
    out_.clientParent[client.id] = nodeId(ap);
  }
}

std::string PathGraph::nodeId(int32_t v) const {
  switch (vertices_[v].kind) {
    case VertexKind::Site:
      return siteNodeId(data_.sites[vertices_[v].item].id);
    case VertexKind::Device:
      return deviceNodeId(data_.devices[vertices_[v].item].id);
    case VertexKind::Orphans:
      return kOrphansId;
    case VertexKind::Root:
      break;
  }
  return {};
}

void PathGraph::emit() {
  const double genDown = in_.capacity.generatedDownloadMbps;
  const double genUp = in_.capacity.generatedUploadMbps;
  bool orphansUsed = clients_.contains(orphans_);
  for (size_t i = 0; i < vertices_.size(); ++i) {
    const auto v = static_cast<int32_t>(i);
    if (v == orphans_ || culled_[v] || (v == root_ && vertices_[v].kind == VertexKind::Root)) {
      continue;
    }
    GraphNode node;
    node.networkJsonId = node.id = nodeId(v);
    node.downloadMbps = down_[v];
    node.uploadMbps = up_[v];
    if (v == root_) {
      // The root site stays as a virtual node: no HTB class, its children shaped at the top
      // (LibreQoS hides it the same way), but still the site its APs belong to in ap_site.
      node.isVirtual = true;
      node.downloadMbps = 0;
      node.uploadMbps = 0;
    } else if (parent_[v] < 0) {  // not reached: cannot happen once Orphans links every site
      node.parentId = kOrphansId;
      node.downloadMbps = genDown;
      node.uploadMbps = genUp;
    } else {
      node.parentId = nodeId(parent_[v]);  // "" under a generated root
    }
    orphansUsed = orphansUsed || node.parentId == kOrphansId;
    if (vertices_[v].kind == VertexKind::Site) {
      const Site& s = data_.sites[vertices_[v].item];
      node.kind = NodeKind::Site;
      node.name = in_.siteNames.at(s.id);
      node.latitude = s.latitude;
      node.longitude = s.longitude;
    } else {
      const Device& d = data_.devices[vertices_[v].item];
      node.kind = NodeKind::Ap;
      node.name = in_.deviceNames.at(d.id);
      const Capacity& own = capacity_.at(v);
      node.downloadMbps =
          std::min(node.downloadMbps, in_.ignoreCalculatedCapacity ? genDown : own.downloadMbps);
      node.uploadMbps =
          std::min(node.uploadMbps, in_.ignoreCalculatedCapacity ? genUp : own.uploadMbps);
    }
    if (!node.isVirtual) {
      node.downloadMbps = node.downloadMbps < 1 ? genDown : node.downloadMbps;
      node.uploadMbps = node.uploadMbps < 1 ? genUp : node.uploadMbps;
    }
    out_.nodes.push_back(std::move(node));
  }
  if (orphansUsed) {
    GraphNode orphans;
    orphans.id = orphans.networkJsonId = kOrphansId;
    orphans.name = "Orphans";
    orphans.kind = NodeKind::Site;
    orphans.parentId = nodeId(root_);  // "" under a generated root
    orphans.downloadMbps = std::min(down_[orphans_], genDown);
    orphans.uploadMbps = std::min(up_[orphans_], genUp);
    out_.nodes.push_back(std::move(orphans));
  }
}

Result<Topology> PathGraph::build() {
  if (auto root = findRoot(); !root) {
    return std::unexpected(root.error());
  }
  addDevicesAndLinks();
  linkOrphans();
  mapClients();
  cullIdleDevices();
  shortestPaths();
  emit();
  return std::move(out_);
}

}  // namespace detail

Result<Topology> buildTopology(const TopologyInput& input) {
  detail::PathGraph graph(input);
  return graph.build();
}

}  // namespace sluice::integrations::uisp
