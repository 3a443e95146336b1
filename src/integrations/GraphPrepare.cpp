// Graph::prepare(): LibreQoS's prepareTree() rules (integrationCommon.py; reference §1.0), in
// order, on index-linked nodes. Steps are functions over one State so each reads on its own.

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "integrations/AddressClaims.h"
#include "integrations/Graph.h"
#include "integrations/GraphDetail.h"

namespace sluice::integrations {
namespace {

struct State {
  std::vector<GraphNode>& nodes;
  std::unordered_map<std::string, int32_t>& index;
  std::vector<int32_t>& parents;
  std::vector<std::string>& warnings;
  const GraphOptions& options;

  bool isClient(int32_t i) const {
    return i >= 0 && (nodes[i].kind == NodeKind::Client ||
                      nodes[i].kind == NodeKind::ClientWithChildren);
  }
  int32_t byId(const std::string& id) const {
    auto it = index.find(id);
    return it == index.end() ? -1 : it->second;
  }
  /// A node by id, then networkJsonId, then name (-1 = none).
  int32_t byReference(const std::string& ref) const {
    if (int32_t i = byId(ref); i >= 0) {
      return i;
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i].networkJsonId.empty() && nodes[i].networkJsonId == ref) {
        return static_cast<int32_t>(i);
      }
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].name == ref) {
        return static_cast<int32_t>(i);
      }
    }
    return -1;
  }
  std::string describe(int32_t i) const {
    return fmt::format("{} '{}'", nodeKindName(nodes[i].kind), nodes[i].name);
  }
};

bool promoted(const State& s, const std::string& name) {
  const auto& list = s.options.promoteToRoot;
  return std::find(list.begin(), list.end(), name) != list.end();
}

// (0) UISP's exception_cpes: the named node (a device's client) gets the named parent.
void applyParentExceptions(State& s) {
  for (const ParentException& rule : s.options.parentExceptions) {
    int32_t node = s.byReference(rule.node);
    if (node < 0) {
      s.warnings.push_back(
          fmt::format("exception_cpes: no node '{}' (rule '{}' -> '{}' unused)", rule.node,
                      rule.node, rule.parent));
      continue;
    }
    if (s.nodes[node].kind == NodeKind::Device) {
      int32_t client = s.byId(s.nodes[node].parentId);
      if (client < 0) {
        continue;  // an orphan device: pruned later with its own warning
      }
      node = client;
    }
    int32_t parent = s.byReference(rule.parent);
    if (parent < 0 || parent == node) {
      s.warnings.push_back(fmt::format("exception_cpes: parent '{}' of '{}' is not in the graph",
                                       rule.parent, rule.node));
      continue;
    }
    s.nodes[node].parentId = s.nodes[parent].id;
  }
}

// (1) parentId -> index; promote_to_root.
void resolveParents(State& s) {
  s.parents.assign(s.nodes.size(), -1);
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const GraphNode& node = s.nodes[i];
    if (node.parentId.empty() || promoted(s, node.name)) {
      continue;
    }
    int32_t parent = s.byId(node.parentId);
    if (parent < 0 || parent == static_cast<int32_t>(i)) {
      s.warnings.push_back(fmt::format("{} has parent '{}', which is not in the graph: "
                                       "attached to the root",
                                       s.describe(static_cast<int32_t>(i)), node.parentId));
      continue;
    }
    if (promoted(s, s.nodes[parent].name)) {
      continue;
    }
    s.parents[i] = parent;
  }
}

// (2) + (3) clients with non-device children become a generated site holding them.
void clientsWithChildrenToSites(State& s) {
  const size_t count = s.nodes.size();
  for (size_t i = 0; i < count; ++i) {
    int32_t p = s.parents[i];
    if (s.isClient(p) && s.nodes[i].kind != NodeKind::Device) {
      s.nodes[p].kind = NodeKind::ClientWithChildren;
    }
  }
  for (size_t c = 0; c < count; ++c) {
    if (s.nodes[c].kind != NodeKind::ClientWithChildren) {
      continue;
    }
    GraphNode site;
    site.id = s.nodes[c].id + "_gen";
    while (s.index.contains(site.id)) {
      site.id += "_gen";
    }
    site.name = "(Generated Site) " + s.nodes[c].name;
    site.kind = NodeKind::Site;
    site.networkJsonId = "sluice:generated:graph:site:" + s.nodes[c].id;
    site.parentId = s.nodes[c].parentId;
    const auto siteIndex = static_cast<int32_t>(s.nodes.size());
    s.index.emplace(site.id, siteIndex);
    s.nodes.push_back(std::move(site));
    s.parents.push_back(s.parents[c]);
    for (size_t child = 0; child < count; ++child) {
      if (s.parents[child] == static_cast<int32_t>(c) && s.nodes[child].kind != NodeKind::Device) {
        s.parents[child] = siteIndex;
      }
    }
    s.parents[c] = siteIndex;
    s.nodes[c].kind = NodeKind::Client;
    s.warnings.push_back(fmt::format("client '{}' has sites or clients under it: they and it now "
                                     "hang under '{}'",
                                     s.nodes[c].name, s.nodes[siteIndex].name));
  }
}

// (4) nothing but devices stays under a client or a device.
void liftFromClients(State& s) {
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    if (s.nodes[i].kind == NodeKind::Device) {
      continue;
    }
    int32_t p = s.parents[i];
    size_t guard = 0;
    while (p >= 0 && (s.isClient(p) || s.nodes[p].kind == NodeKind::Device) &&
           guard++ < s.nodes.size()) {
      p = s.parents[p];
    }
    s.parents[i] = guard > s.nodes.size() ? -1 : p;
  }
}

// (5) break parent cycles: every node must reach the root.
void reattachUnreachable(State& s) {
  enum : uint8_t { kUnknown, kOnPath, kReaches };
  std::vector<uint8_t> mark(s.nodes.size(), kUnknown);
  std::vector<int32_t> path;
  for (size_t start = 0; start < s.nodes.size(); ++start) {
    path.clear();
    int32_t i = static_cast<int32_t>(start);
    while (i >= 0 && mark[i] == kUnknown) {
      mark[i] = kOnPath;
      path.push_back(i);
      i = s.parents[i];
    }
    if (i >= 0 && mark[i] == kOnPath) {  // a cycle through i: cut it there
      s.warnings.push_back(
          fmt::format("{} is in a parent loop: attached to the root", s.describe(i)));
      s.parents[i] = -1;
    }
    for (int32_t n : path) {
      mark[n] = kReaches;
    }
  }
}

// (6) addresses, then devices, then clients.
void prune(State& s, std::vector<bool>& dropped) {
  // The model refuses an address (or overlapping prefixes) in two circuits, and a repeat.
  AddressClaims claims;
  std::unordered_set<std::string> seen;
  std::vector<int32_t> devicesLeft(s.nodes.size(), 0);
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    GraphNode& node = s.nodes[i];
    if (node.kind != NodeKind::Device) {
      continue;
    }
    int32_t client = s.parents[i];
    if (!s.isClient(client)) {
      s.warnings.push_back(fmt::format("device '{}' is not under a client: dropped", node.name));
      dropped[i] = true;
      continue;
    }
    std::vector<IpNet> kept;
    for (const IpNet& net : node.addresses) {
      const auto& ignore = s.options.ignoreSubnets;
      const auto& allow = s.options.allowSubnets;
      std::string text = net.toString();
      std::string why;
      if (std::any_of(ignore.begin(), ignore.end(), [&](const IpNet& n) { return n.contains(net); })) {
        why = "is in ip_ranges.ignore_subnets";
      } else if (!allow.empty() && std::none_of(allow.begin(), allow.end(), [&](const IpNet& n) {
                   return n.contains(net);
                 })) {
        why = "is outside ip_ranges.allow_subnets";
      } else if (!seen.insert(text).second) {
        why = "is listed twice";
      } else if (std::string owner = claims.claim(net, s.nodes[client].id); !owner.empty()) {
        why = fmt::format("overlaps an address of circuit '{}'", owner);
      }
      if (!why.empty()) {
        s.warnings.push_back(fmt::format("address {} of device '{}' (client '{}') {}: dropped",
                                         text, node.name, s.nodes[client].name, why));
        continue;
      }
      kept.push_back(net);
    }
    node.addresses = std::move(kept);
    if (node.addresses.empty()) {
      s.warnings.push_back(fmt::format("device '{}' of client '{}' has no usable address: dropped",
                                       node.name, s.nodes[client].name));
      dropped[i] = true;
      continue;
    }
    ++devicesLeft[client];
  }
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    if (s.isClient(static_cast<int32_t>(i)) && devicesLeft[i] == 0) {
      s.warnings.push_back(
          fmt::format("client '{}' has no device with an address: no circuit", s.nodes[i].name));
      dropped[i] = true;
    }
  }
}

/// Removes the dropped nodes, keeping order; parents of survivors are remapped (a survivor
/// under a dropped node cannot happen after the steps above: only devices and clients drop,
/// and only devices remain under clients).
void compact(State& s, const std::vector<bool>& dropped) {
  std::vector<int32_t> newIndex(s.nodes.size(), -1);
  std::vector<GraphNode> nodes;
  std::vector<int32_t> parents;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    if (!dropped[i]) {
      newIndex[i] = static_cast<int32_t>(nodes.size());
      nodes.push_back(std::move(s.nodes[i]));
      parents.push_back(s.parents[i]);
    }
  }
  s.index.clear();
  for (size_t i = 0; i < nodes.size(); ++i) {
    int32_t p = parents[i];
    parents[i] = p < 0 ? -1 : newIndex[p];
    nodes[i].parentId = parents[i] < 0 ? std::string() : nodes[parents[i]].id;
    s.index.emplace(nodes[i].id, static_cast<int32_t>(i));
  }
  s.nodes = std::move(nodes);
  s.parents = std::move(parents);
}

}  // namespace

void Graph::prepare() {
  if (prepared_) {
    return;
  }
  State s{nodes_, index_, parents_, warnings_, options_};
  applyParentExceptions(s);
  resolveParents(s);
  clientsWithChildrenToSites(s);
  liftFromClients(s);
  reattachUnreachable(s);
  std::vector<bool> dropped(nodes_.size(), false);
  prune(s, dropped);
  compact(s, dropped);
  prepared_ = true;
}

}  // namespace sluice::integrations
