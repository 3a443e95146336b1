#include "integrations/UispTopology.h"
#include "integrations/UispPathGraph.h"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <queue>

#include <fmt/format.h>

namespace sluice::integrations::uisp::detail {

Result<void> PathGraph::findRoot() {
  if (!in_.rootSiteName.empty()) {
    for (const Site& s : data_.sites) {
      if (s.name == in_.rootSiteName) {
        rootSite_ = &s;
        break;
      }
    }
    if (rootSite_ == nullptr || rootSite_->endpoint || in_.excludedSites.contains(rootSite_->id)) {
      return makeError(ENOENT, "UISP root site",
                       fmt::format("uisp_integration.site = \"{}\" {}", in_.rootSiteName,
                                   rootSite_ == nullptr  ? "names no UISP site"
                                   : rootSite_->endpoint ? "is a client (endpoint) site"
                                                         : "is in exclude_sites"));
    }
    return {};
  }
  for (const DataLink& l : data_.dataLinks) {
    if (l.canDelete || l.from.siteId.empty() ||
        std::find(rootCandidates_.begin(), rootCandidates_.end(), l.from.siteId) !=
            rootCandidates_.end()) {
      continue;
    }
    auto site = std::find_if(data_.sites.begin(), data_.sites.end(),
                             [&](const Site& s) { return s.id == l.from.siteId; });
    if (site != data_.sites.end() && !site->endpoint && !in_.excludedSites.contains(site->id)) {
      rootCandidates_.push_back(site->id);
    }
  }
  if (rootCandidates_.empty()) {
    return makeError(ENOENT, "UISP root site",
                     "uisp_integration.site is not set and no UISP data link is marked as an "
                     "Internet uplink (canDelete = false): set the root site's name");
  }
  if (rootCandidates_.size() > 1) {
    out_.warnings.push_back(fmt::format("UISP: {} sites have an Internet uplink: they hang under "
                                        "a generated root (set uisp_integration.site to choose)",
                                        rootCandidates_.size()));
  }
  return {};
}

void PathGraph::addDevicesAndLinks() {
  for (size_t i = 0; i < data_.sites.size(); ++i) {
    const Site& s = data_.sites[i];
    if (!s.endpoint && !in_.excludedSites.contains(s.id)) {
      siteVertex_.emplace(s.id, add(VertexKind::Site, static_cast<int32_t>(i)));
    }
  }
  if (rootSite_ == nullptr && rootCandidates_.size() == 1) {
    rootSite_ = &*std::find_if(data_.sites.begin(), data_.sites.end(),
                               [&](const Site& s) { return s.id == rootCandidates_[0]; });
  }
  if (rootSite_ != nullptr) {
    root_ = siteVertex_.at(rootSite_->id);
  } else {
    root_ = add(VertexKind::Root, -1);
    for (const std::string& id : rootCandidates_) {
      linkEthernet(root_, siteVertex_.at(id));
    }
  }
  for (size_t i = 0; i < data_.devices.size(); ++i) {
    const Device& d = data_.devices[i];
    auto site = siteVertex_.find(d.siteId);
    if (site == siteVertex_.end()) {
      continue;  // a client site's device (or an excluded or unknown site's)
    }
    int32_t v = add(VertexKind::Device, static_cast<int32_t>(i));
    deviceVertex_.emplace(d.id, v);
    capacity_.emplace(v, deviceCapacity(d, in_.capacity));
    linkEthernet(site->second, v);
  }
  for (const DataLink& l : data_.dataLinks) {
    int32_t a = deviceVertex(l.from.deviceId);
    int32_t b = deviceVertex(l.to.deviceId);
    if (a < 0 || b < 0 || a == b || linked(a, b) ||
        data_.devices[vertices_[a].item].siteId == data_.devices[vertices_[b].item].siteId) {
      continue;
    }
    linkDevices(l, a, b);
  }
}

/// Which end is the AP: the station's apDevice, else the roles, else the wireless modes.
void PathGraph::linkDevices(const DataLink& l, int32_t a, int32_t b) {
  const Device& da = data_.devices[vertices_[a].item];
  const Device& db = data_.devices[vertices_[b].item];
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  auto station = [&](const Device& d) {
    std::string role = lower(d.role);
    std::string mode = lower(d.wirelessMode);
    return role == "station" || role == "sta" || role == "cpe" ||
           (role != "ap" && (mode.starts_with("sta") || mode.starts_with("station")));
  };
  auto accessPoint = [&](const Device& d) {
    return lower(d.role) == "ap" || (lower(d.role).empty() && lower(d.wirelessMode).starts_with("ap"));
  };
  int orientation = 0;  // +1: a is the AP, -1: b is
  if (db.apDeviceId == da.id) {
    orientation = 1;
  } else if (da.apDeviceId == db.id) {
    orientation = -1;
  } else if (accessPoint(da) && station(db)) {
    orientation = 1;
  } else if (accessPoint(db) && station(da)) {
    orientation = -1;
  }
  const Capacity& ca = capacity_.at(a);
  const Capacity& cb = capacity_.at(b);
  auto orGenerated = [&](double mbps, bool down) {
    return mbps < 1 ? (down ? in_.capacity.generatedDownloadMbps : in_.capacity.generatedUploadMbps)
                    : mbps;
  };
  if (orientation == 0) {
    out_.warnings.push_back(fmt::format("UISP data link {} ('{}' - '{}'): neither end is known to "
                                        "be the AP; the rates of '{}' are used",
                                        l.id, da.hostname, db.hostname, da.hostname));
    link(a, b, orGenerated(ca.downloadMbps, true), orGenerated(ca.uploadMbps, false));
    return;
  }
  double apToStation = std::min(ca.downloadMbps, cb.downloadMbps);
  double stationToAp = std::min(ca.uploadMbps, cb.uploadMbps);
  if (orientation > 0) {
    link(a, b, orGenerated(apToStation, true), orGenerated(stationToAp, false));
  } else {
    link(b, a, orGenerated(apToStation, true), orGenerated(stationToAp, false));
  }
}

void PathGraph::linkOrphans() {
  orphans_ = add(VertexKind::Orphans, -1);
  linkEthernet(root_, orphans_);
  std::vector<bool> seen(vertices_.size(), false);
  std::vector<int32_t> todo{root_};
  seen[root_] = true;
  while (!todo.empty()) {
    int32_t v = todo.back();
    todo.pop_back();
    for (const Edge& e : edges_[v]) {
      if (!seen[e.to]) {
        seen[e.to] = true;
        todo.push_back(e.to);
      }
    }
  }
  for (size_t v = 0; v < vertices_.size(); ++v) {
    if (!seen[v] && vertices_[v].kind == VertexKind::Site) {
      linkEthernet(orphans_, static_cast<int32_t>(v));
      out_.warnings.push_back(fmt::format("UISP site '{}' has no path to the root: under Orphans",
                                          in_.siteNames.at(data_.sites[vertices_[v].item].id)));
    }
  }
}

/// A device with no clients and at most one neighbour carries nothing (full2.rs: culled).
void PathGraph::cullIdleDevices() {
  culled_.assign(vertices_.size(), false);
  for (size_t v = 0; v < vertices_.size(); ++v) {
    if (vertices_[v].kind != VertexKind::Device || clients_.contains(static_cast<int32_t>(v))) {
      continue;
    }
    std::unordered_set<int32_t> neighbours;
    for (const Edge& e : edges_[v]) {
      neighbours.insert(e.to);
    }
    culled_[v] = neighbours.size() <= 1;
  }
}

/// Dijkstra from the root (LibreQoS runs A* with a zero heuristic, the same search); ties go to
/// the lower vertex, so the result does not depend on hash order.
void PathGraph::shortestPaths() {
  const size_t n = vertices_.size();
  std::vector<double> cost(n, std::numeric_limits<double>::infinity());
  parent_.assign(n, -1);
  down_.assign(n, 0);
  up_.assign(n, 0);
  using Item = std::pair<double, int32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  cost[root_] = 0;
  down_[root_] = std::numeric_limits<double>::infinity();
  up_[root_] = std::numeric_limits<double>::infinity();
  queue.emplace(0, root_);
  std::vector<bool> done(n, false);
  while (!queue.empty()) {
    auto [c, v] = queue.top();
    queue.pop();
    if (done[v]) {
      continue;
    }
    done[v] = true;
    for (const Edge& e : edges_[v]) {
      if (culled_[e.to] || done[e.to]) {
        continue;
      }
      double next = c + std::max(0.0, kCostBase - e.down);
      if (next < cost[e.to]) {
        cost[e.to] = next;
        parent_[e.to] = v;
        down_[e.to] = std::min(down_[v], e.down);
        up_[e.to] = std::min(up_[v], e.up);
        queue.emplace(next, e.to);
      }
    }
  }
}

}  // namespace sluice::integrations::uisp::detail
