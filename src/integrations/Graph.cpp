#include "integrations/Graph.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "integrations/GraphDetail.h"

namespace sluice::integrations {

std::string_view nodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::Site:
      return "site";
    case NodeKind::Ap:
      return "ap";
    case NodeKind::Client:
      return "client";
    case NodeKind::ClientWithChildren:
      return "clientWithChildren";
    case NodeKind::Device:
      return "device";
  }
  return "?";
}

std::string_view compileModeName(CompileMode mode) {
  switch (mode) {
    case CompileMode::Flat:
      return "flat";
    case CompileMode::ApOnly:
      return "ap_only";
    case CompileMode::ApSite:
      return "ap_site";
    case CompileMode::Full:
      return "full";
  }
  return "?";
}

std::optional<CompileMode> parseCompileMode(std::string_view text) {
  if (text == "flat") {
    return CompileMode::Flat;
  }
  if (text == "ap_only") {
    return CompileMode::ApOnly;
  }
  if (text == "ap_site") {
    return CompileMode::ApSite;
  }
  if (text == "full" || text == "full2") {
    return CompileMode::Full;
  }
  return std::nullopt;
}

std::optional<IpNet> parseVendorAddress(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (auto net = IpNet::parse(text)) {
    return net;
  }
  // "10.0.0.5/24": the host part alone, if it is an address and the length is in range.
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  auto host = IpNet::parse(text.substr(0, slash));
  auto prefix = IpNet::parse(text);  // fails for host bits set; check the length is sane
  std::string_view length = text.substr(slash + 1);
  if (!host || prefix || length.empty() || length.size() > 3 ||
      !std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int bits = std::stoi(std::string(length));
  if (bits > (host->isV4 ? 32 : 128)) {
    return std::nullopt;
  }
  return host;
}

Graph::Graph(GraphOptions options) : options_(std::move(options)) {}

Result<void> Graph::addNode(GraphNode node) {
  if (node.id.empty()) {
    return makeError(EINVAL, "integration graph",
                     fmt::format("a {} node named '{}' has no id", nodeKindName(node.kind),
                                 node.name));
  }
  if (prepared_) {
    return makeError(EINVAL, "integration graph",
                     fmt::format("node '{}' added after prepare()", node.id));
  }
  if (find(node.id) >= 0) {
    return makeError(EINVAL, "integration graph",
                     fmt::format("two nodes have the id '{}' ('{}' and '{}')", node.id,
                                 nodes_[find(node.id)].name, node.name));
  }
  if (node.name.empty()) {
    node.name = node.id;
  }
  const auto& excluded = options_.excludeNames;
  if (std::find(excluded.begin(), excluded.end(), node.name) != excluded.end()) {
    warnings_.push_back(fmt::format("{} '{}' is in exclude_sites: left out",
                                    nodeKindName(node.kind), node.name));
    return {};
  }
  index_.emplace(node.id, static_cast<int32_t>(nodes_.size()));
  nodes_.push_back(std::move(node));
  return {};
}

int32_t Graph::find(std::string_view id) const {
  auto it = index_.find(std::string(id));
  return it == index_.end() ? -1 : it->second;
}

Result<ShapingFiles> buildShapingFiles(std::vector<GraphNode> nodes, GraphOptions options,
                                       CompileMode mode) {
  Graph graph(std::move(options));
  for (GraphNode& node : nodes) {
    if (auto added = graph.addNode(std::move(node)); !added) {
      return std::unexpected(added.error());
    }
  }
  graph.prepare();
  return graph.emit(mode);
}

namespace detail {

double round2(double x) {
  return std::round(x * 100.0) / 100.0;
}

std::vector<std::string> exportNames(const Graph& graph, std::vector<std::string>& warnings) {
  const auto& nodes = graph.nodes();
  std::vector<std::string> names(nodes.size());
  std::vector<size_t> order;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].kind == NodeKind::Site || nodes[i].kind == NodeKind::Ap) {
      order.push_back(i);
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return nodes[a].kind == NodeKind::Site && nodes[b].kind != NodeKind::Site;
  });
  std::unordered_map<std::string, size_t> taken;
  for (size_t i : order) {
    const GraphNode& node = nodes[i];
    std::string name = node.name.empty() ? node.id : node.name;
    if (taken.contains(name)) {
      std::string base = fmt::format("{} ({})", name, node.id);
      std::string candidate = base;
      for (int n = 2; taken.contains(candidate); ++n) {
        candidate = fmt::format("{} {}", base, n);
      }
      warnings.push_back(fmt::format("{} name '{}' is used twice: '{}' is exported as '{}'",
                                     nodeKindName(node.kind), name, node.id, candidate));
      name = candidate;
    }
    taken.emplace(name, i);
    names[i] = std::move(name);
  }
  return names;
}

}  // namespace detail
}  // namespace sluice::integrations
