#pragma once
// Private to UispTopology.cpp and UispTopologyTree.cpp: the weighted graph of UISP sites and
// devices that buildTopology() searches (UispTopology.h).

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "integrations/UispTopology.h"

namespace sluice::integrations::uisp::detail {

enum class VertexKind : uint8_t { Root, Site, Device, Orphans };

struct Vertex {
  VertexKind kind;
  int32_t item = -1;  ///< index into Data::sites / Data::devices
};

/// A directed edge; `down` is the capacity of traffic flowing from -> to, `up` the reverse.
struct Edge {
  int32_t to;
  double down;
  double up;
};

constexpr double kCostBase = 10000;  // LibreQoS: edge cost = 10000 - capacity (saturating)

class PathGraph {
 public:
  explicit PathGraph(const TopologyInput& in) : in_(in), data_(*in.data) {}

  Result<Topology> build();

 private:
  int32_t add(VertexKind kind, int32_t item) {
    vertices_.push_back({kind, item});
    edges_.emplace_back();
    return static_cast<int32_t>(vertices_.size()) - 1;
  }
  bool linked(int32_t a, int32_t b) const {
    return std::any_of(edges_[a].begin(), edges_[a].end(), [&](const Edge& e) { return e.to == b; });
  }
  /// a <-> b, `down`/`up` as seen from a.
  void link(int32_t a, int32_t b, double down, double up) {
    edges_[a].push_back({b, down, up});
    edges_[b].push_back({a, up, down});
  }
  void linkEthernet(int32_t a, int32_t b) {
    link(a, b, in_.capacity.generatedDownloadMbps, in_.capacity.generatedUploadMbps);
  }
  Result<void> findRoot();
  void addDevicesAndLinks();
  void linkDevices(const DataLink& l, int32_t a, int32_t b);
  void mapClients();
  void linkOrphans();
  void cullIdleDevices();
  void shortestPaths();
  void emit();
  std::string nodeId(int32_t v) const;
  bool isAp(int32_t v, const std::string& clientSite) const {
    return v >= 0 && vertices_[v].kind == VertexKind::Device &&
           data_.devices[vertices_[v].item].siteId != clientSite;
  }
  int32_t deviceVertex(const std::string& id) const {
    auto it = deviceVertex_.find(id);
    return it == deviceVertex_.end() ? -1 : it->second;
  }

  const TopologyInput& in_;
  const Data& data_;
  Topology out_;
  std::vector<Vertex> vertices_;
  std::vector<std::vector<Edge>> edges_;
  std::unordered_map<std::string, int32_t> siteVertex_;
  std::unordered_map<std::string, int32_t> deviceVertex_;
  std::unordered_map<int32_t, Capacity> capacity_;  // device vertex -> its capacity
  std::vector<std::string> rootCandidates_;         // site ids of the Internet uplinks
  const Site* rootSite_ = nullptr;
  int32_t root_ = -1;
  int32_t orphans_ = -1;
  std::vector<bool> culled_;
  std::vector<int32_t> parent_;
  std::vector<double> down_;
  std::vector<double> up_;
  std::unordered_map<int32_t, int> clients_;  // vertex -> clients mapped to it
};

}  // namespace sluice::integrations::uisp::detail
