// The compile modes (Graph.h, CompileMode): which nodes network.json shows and where each circuit
// hangs. LibreQoS: lqos_topology_compile/src/compile_mode.rs (reference §1.2 "Compile modes").

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "integrations/GraphDetail.h"

namespace sluice::integrations::detail {
namespace {

bool exported(const GraphNode& node) {
  return node.kind == NodeKind::Site || node.kind == NodeKind::Ap;
}

ExportNode fromGraph(const GraphNode& node, const std::string& name, int32_t parent) {
  ExportNode out;
  out.name = name;
  out.type = node.kind == NodeKind::Ap ? "ap" : "site";
  out.id = node.networkJsonId;
  out.downloadMbps = node.downloadMbps;
  out.uploadMbps = node.uploadMbps;
  out.isVirtual = node.isVirtual;
  out.latitude = node.latitude;
  out.longitude = node.longitude;
  out.parent = parent;
  return out;
}

Projection full(const Graph& graph, const std::vector<std::string>& names) {
  const auto& nodes = graph.nodes();
  const auto& parents = graph.parents();
  std::vector<std::vector<int32_t>> children(nodes.size());
  std::vector<int32_t> roots;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (exported(nodes[i])) {
      (parents[i] < 0 ? roots : children[parents[i]]).push_back(static_cast<int32_t>(i));
    }
  }
  Projection out;
  out.writeAnchors = true;
  std::vector<int32_t> exportIndex(nodes.size(), -1);
  // Depth-first with an explicit stack: parents are written before their children.
  std::vector<std::pair<int32_t, int32_t>> stack;  // graph index, export parent
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) {
    stack.emplace_back(*it, -1);
  }
  while (!stack.empty()) {
    auto [i, parent] = stack.back();
    stack.pop_back();
    exportIndex[i] = static_cast<int32_t>(out.nodes.size());
    out.nodes.push_back(fromGraph(nodes[i], names[i], parent));
    for (auto it = children[i].rbegin(); it != children[i].rend(); ++it) {
      stack.emplace_back(*it, exportIndex[i]);
    }
  }
  out.circuitParent.assign(nodes.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].kind == NodeKind::Client && parents[i] >= 0) {
      out.circuitParent[i] = exportIndex[parents[i]];
    }
  }
  return out;
}

/// Nearest node at or above `start` (graph index) whose kind is `kind`; -1 if none.
int32_t nearest(const Graph& graph, int32_t start, NodeKind kind) {
  for (int32_t i = start; i >= 0; i = graph.parents()[i]) {
    if (graph.nodes()[i].kind == kind) {
      return i;
    }
  }
  return -1;
}

/// ApOnly and ApSite: each circuit under the nearest AP above it; `withSites` adds each such
/// AP's nearest site (or a generated one) as its parent.
Projection apProjection(const Graph& graph, const std::vector<std::string>& names,
                        bool withSites) {
  const auto& nodes = graph.nodes();
  const auto& parents = graph.parents();
  Projection out;
  out.circuitParent.assign(nodes.size(), -1);
  std::unordered_set<std::string> used;  // every export name, for the generated sites
  for (const std::string& name : names) {
    if (!name.empty()) {
      used.insert(name);
    }
  }
  std::unordered_map<int32_t, int32_t> exportOf;  // graph index -> export index
  int generatedSites = 0;
  auto siteFor = [&](int32_t ap) -> int32_t {
    int32_t site = parents[ap] < 0 ? -1 : nearest(graph, parents[ap], NodeKind::Site);
    if (site >= 0) {
      if (auto it = exportOf.find(site); it != exportOf.end()) {
        return it->second;
      }
      exportOf.emplace(site, static_cast<int32_t>(out.nodes.size()));
      out.nodes.push_back(fromGraph(nodes[site], names[site], -1));
      return exportOf[site];
    }
    ExportNode generated = fromGraph(nodes[ap], "", -1);
    generated.type = "site";
    generated.isVirtual = false;
    generated.id = fmt::format("sluice:generated:ap_site:{}", ++generatedSites);
    generated.name = "(Generated Site) " + names[ap];
    for (int n = 2; used.contains(generated.name); ++n) {
      generated.name = fmt::format("(Generated Site) {} {}", names[ap], n);
    }
    used.insert(generated.name);
    out.nodes.push_back(std::move(generated));
    return static_cast<int32_t>(out.nodes.size()) - 1;
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].kind != NodeKind::Client || parents[i] < 0) {
      continue;
    }
    int32_t ap = nearest(graph, parents[i], NodeKind::Ap);
    if (ap < 0) {
      continue;
    }
    auto it = exportOf.find(ap);
    if (it == exportOf.end()) {
      int32_t parent = withSites ? siteFor(ap) : -1;
      it = exportOf.emplace(ap, static_cast<int32_t>(out.nodes.size())).first;
      out.nodes.push_back(fromGraph(nodes[ap], names[ap], parent));
    }
    out.circuitParent[i] = it->second;
  }
  return out;
}

}  // namespace

Projection project(const Graph& graph, CompileMode mode, const std::vector<std::string>& names) {
  switch (mode) {
    case CompileMode::Full:
      return full(graph, names);
    case CompileMode::ApOnly:
      return apProjection(graph, names, false);
    case CompileMode::ApSite:
      return apProjection(graph, names, true);
    case CompileMode::Flat:
      break;
  }
  Projection flat;
  flat.circuitParent.assign(graph.nodes().size(), -1);
  return flat;
}

}  // namespace sluice::integrations::detail
