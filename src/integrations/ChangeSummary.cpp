#include "integrations/ChangeSummary.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::integrations {
namespace {

bool sameDevices(const model::Circuit& a, const model::Circuit& b) {
  if (a.devices.size() != b.devices.size()) {
    return false;
  }
  for (size_t i = 0; i < a.devices.size(); ++i) {
    const model::Device& x = a.devices[i];
    const model::Device& y = b.devices[i];
    if (x.id != y.id || x.name != y.name || x.mac != y.mac || x.ipv4 != y.ipv4 ||
        x.ipv6 != y.ipv6) {
      return false;
    }
  }
  return true;
}

std::string parentName(const model::Network& net, int32_t parent) {
  return parent == model::kNoNode ? std::string() : net.nodes[static_cast<size_t>(parent)].name;
}

void compareNodes(const model::Network& before, const model::Network& after, SyncChanges& out) {
  for (const model::Node& n : after.nodes) {
    const int32_t old = before.find(n.name);
    if (old == model::kNoNode) {
      out.nodesAdded.push_back(n.name);
      continue;
    }
    const model::Node& o = before.nodes[static_cast<size_t>(old)];
    if (o.downloadMbps != n.downloadMbps || o.uploadMbps != n.uploadMbps || o.type != n.type ||
        o.isVirtual != n.isVirtual ||
        parentName(before, o.parent) != parentName(after, n.parent)) {
      out.nodesChanged.push_back(n.name);
    }
  }
  for (const model::Node& o : before.nodes) {
    if (after.find(o.name) == model::kNoNode) {
      out.nodesRemoved.push_back(o.name);
    }
  }
  std::sort(out.nodesAdded.begin(), out.nodesAdded.end());
  std::sort(out.nodesRemoved.begin(), out.nodesRemoved.end());
  std::sort(out.nodesChanged.begin(), out.nodesChanged.end());
}

template <typename T>
nlohmann::json capped(const std::vector<T>& items, size_t maxListed,
                      nlohmann::json (*one)(const T&)) {
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < items.size() && i < maxListed; ++i) {
    list.push_back(one(items[i]));
  }
  return {{"count", items.size()}, {"items", list}};
}

nlohmann::json idJson(const std::string& id) { return id; }

nlohmann::json reparentJson(const Reparent& r) {
  return {{"circuit_id", r.circuitId}, {"from", r.from}, {"to", r.to}};
}

nlohmann::json speedJson(const SpeedChange& s) {
  auto pair = [](const double (&v)[2]) { return nlohmann::json::array({v[0], v[1]}); };
  return {{"circuit_id", s.circuitId},
          {"download_min_mbps", pair(s.downloadMinMbps)},
          {"upload_min_mbps", pair(s.uploadMinMbps)},
          {"download_max_mbps", pair(s.downloadMaxMbps)},
          {"upload_max_mbps", pair(s.uploadMaxMbps)}};
}

}  // namespace

bool SyncChanges::empty() const {
  return circuitsAdded.empty() && circuitsRemoved.empty() && circuitsReparented.empty() &&
         speedChanges.empty() && circuitsOtherwiseChanged.empty() && nodesAdded.empty() &&
         nodesRemoved.empty() && nodesChanged.empty();
}

double SyncChanges::disruptiveShare() const {
  if (circuitsBefore == 0) {
    return 0;
  }
  return static_cast<double>(circuitsRemoved.size() + circuitsReparented.size()) /
         static_cast<double>(circuitsBefore);
}

std::string SyncChanges::summary() const {
  return fmt::format(
      "{} circuits added, {} removed, {} re-parented, {} speed changes, {} otherwise changed; "
      "nodes {} added, {} removed, {} changed",
      circuitsAdded.size(), circuitsRemoved.size(), circuitsReparented.size(),
      speedChanges.size(), circuitsOtherwiseChanged.size(), nodesAdded.size(),
      nodesRemoved.size(), nodesChanged.size());
}

nlohmann::json SyncChanges::toJson(size_t maxListed) const {
  return {{"circuits_before", circuitsBefore},
          {"circuits_after", circuitsAfter},
          {"disruptive_share", disruptiveShare()},
          {"summary", summary()},
          {"circuits_added", capped(circuitsAdded, maxListed, idJson)},
          {"circuits_removed", capped(circuitsRemoved, maxListed, idJson)},
          {"circuits_reparented", capped(circuitsReparented, maxListed, reparentJson)},
          {"speed_changes", capped(speedChanges, maxListed, speedJson)},
          {"circuits_otherwise_changed", capped(circuitsOtherwiseChanged, maxListed, idJson)},
          {"nodes_added", capped(nodesAdded, maxListed, idJson)},
          {"nodes_removed", capped(nodesRemoved, maxListed, idJson)},
          {"nodes_changed", capped(nodesChanged, maxListed, idJson)}};
}

SyncChanges compareModels(const model::Model& before, const model::Model& after) {
  SyncChanges out;
  out.circuitsBefore = before.shaped.circuits.size();
  out.circuitsAfter = after.shaped.circuits.size();
  for (const model::Circuit& c : after.shaped.circuits) {
    auto it = before.shaped.byId.find(c.id);
    if (it == before.shaped.byId.end()) {
      out.circuitsAdded.push_back(c.id);
      continue;
    }
    const model::Circuit& o = before.shaped.circuits[it->second];
    if (o.parentNode != c.parentNode) {
      out.circuitsReparented.push_back({c.id, o.parentNode, c.parentNode});
    }
    if (o.downloadMinMbps != c.downloadMinMbps || o.uploadMinMbps != c.uploadMinMbps ||
        o.downloadMaxMbps != c.downloadMaxMbps || o.uploadMaxMbps != c.uploadMaxMbps) {
      out.speedChanges.push_back({c.id,
                                  {o.downloadMinMbps, c.downloadMinMbps},
                                  {o.uploadMinMbps, c.uploadMinMbps},
                                  {o.downloadMaxMbps, c.downloadMaxMbps},
                                  {o.uploadMaxMbps, c.uploadMaxMbps}});
    }
    if (o.name != c.name || o.sqm.down != c.sqm.down || o.sqm.up != c.sqm.up ||
        !sameDevices(o, c)) {
      out.circuitsOtherwiseChanged.push_back(c.id);
    }
  }
  for (const model::Circuit& o : before.shaped.circuits) {
    if (!after.shaped.byId.contains(o.id)) {
      out.circuitsRemoved.push_back(o.id);
    }
  }
  std::sort(out.circuitsAdded.begin(), out.circuitsAdded.end());
  std::sort(out.circuitsRemoved.begin(), out.circuitsRemoved.end());
  auto byId = [](const auto& a, const auto& b) { return a.circuitId < b.circuitId; };
  std::sort(out.circuitsReparented.begin(), out.circuitsReparented.end(), byId);
  std::sort(out.speedChanges.begin(), out.speedChanges.end(), byId);
  std::sort(out.circuitsOtherwiseChanged.begin(), out.circuitsOtherwiseChanged.end());
  compareNodes(before.network, after.network, out);
  return out;
}

}  // namespace sluice::integrations
