// The four compile modes over one tree, checked by content, each read back by the model reader.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>

#include "ModelCheck.h"
#include "integrations/Graph.h"

namespace sluice::integrations {
namespace {

using nlohmann::json;

GraphNode node(NodeKind kind, std::string id, std::string parent, double down = 0) {
  GraphNode n;
  n.kind = kind;
  n.id = id;
  n.name = (kind == NodeKind::Site ? "Site " : kind == NodeKind::Ap ? "AP " : "Client ") + id;
  n.parentId = std::move(parent);
  n.downloadMbps = down;
  n.uploadMbps = down / 2;
  if (kind == NodeKind::Site || kind == NodeKind::Ap) {
    n.networkJsonId = "t:" + id;
  }
  return n;
}

/// North ─┬─ Hill ── AP h1 ── c1          AP x1 (top level) ── c4
///        ├─ AP n1 ─┬─ c2
///        │         └─ AP n2 ── c5
///        └─ c3
std::vector<GraphNode> tree() {
  std::vector<GraphNode> nodes = {
      node(NodeKind::Site, "north", "", 800), node(NodeKind::Site, "hill", "north", 600),
      node(NodeKind::Ap, "h1", "hill", 300),  node(NodeKind::Ap, "n1", "north", 400),
      node(NodeKind::Ap, "n2", "n1", 200),    node(NodeKind::Ap, "x1", "", 100)};
  const std::pair<const char*, const char*> clients[] = {
      {"c1", "h1"}, {"c2", "n1"}, {"c3", "north"}, {"c4", "x1"}, {"c5", "n2"}};
  int host = 1;
  for (auto [id, parent] : clients) {
    nodes.push_back(node(NodeKind::Client, id, parent, 50));
    GraphNode d;
    d.kind = NodeKind::Device;
    d.id = std::string("d-") + id;
    d.parentId = id;
    d.addresses = {*IpNet::parse("100.64.0." + std::to_string(host++))};
    nodes.push_back(d);
  }
  return nodes;
}

struct Output {
  json network;
  std::map<std::string, std::pair<std::string, std::string>> parent;  // circuit -> name, id
  std::map<std::string, std::string> anchor;
};

Output run(CompileMode mode) {
  GraphOptions o;
  auto files = buildShapingFiles(tree(), o, mode);
  EXPECT_TRUE(files.has_value());
  Output out;
  out.network = json::parse(files->networkJson);
  auto back = testing::readBack(*files);
  EXPECT_FALSE(back.diags.hasErrors()) << testing::dump(back.diags);
  for (const auto& c : back.model.shaped.circuits) {
    out.parent[c.id] = {c.parentNode, c.parentNodeId};
    out.anchor[c.id] = c.anchorNodeId;
  }
  EXPECT_EQ(out.parent.size(), 5u);
  return out;
}

TEST(CompileMode, FullKeepsThePreparedTree) {
  Output out = run(CompileMode::Full);
  EXPECT_EQ(out.network, json::parse(R"({
    "Site north": {"downloadBandwidthMbps": 800, "uploadBandwidthMbps": 400, "type": "site",
      "id": "t:north", "children": {
        "Site hill": {"downloadBandwidthMbps": 600, "uploadBandwidthMbps": 300, "type": "site",
          "id": "t:hill", "children": {
            "AP h1": {"downloadBandwidthMbps": 300, "uploadBandwidthMbps": 150, "type": "ap",
              "id": "t:h1"}}},
        "AP n1": {"downloadBandwidthMbps": 400, "uploadBandwidthMbps": 200, "type": "ap",
          "id": "t:n1", "children": {
            "AP n2": {"downloadBandwidthMbps": 200, "uploadBandwidthMbps": 100, "type": "ap",
              "id": "t:n2"}}}}},
    "AP x1": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 50, "type": "ap",
      "id": "t:x1"}})"));
  EXPECT_EQ(out.parent["c3"], std::make_pair(std::string("Site north"), std::string("t:north")));
  EXPECT_EQ(out.parent["c5"], std::make_pair(std::string("AP n2"), std::string("t:n2")));
  EXPECT_EQ(out.anchor["c5"], "t:n2");
}

TEST(CompileMode, ApOnlyShowsTheApsThatCarryCircuitsAtTheTop) {
  Output out = run(CompileMode::ApOnly);
  EXPECT_EQ(out.network, json::parse(R"({
    "AP h1": {"downloadBandwidthMbps": 300, "uploadBandwidthMbps": 150, "type": "ap", "id": "t:h1"},
    "AP n1": {"downloadBandwidthMbps": 400, "uploadBandwidthMbps": 200, "type": "ap", "id": "t:n1"},
    "AP n2": {"downloadBandwidthMbps": 200, "uploadBandwidthMbps": 100, "type": "ap", "id": "t:n2"},
    "AP x1": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 50, "type": "ap", "id": "t:x1"}
  })"));
  EXPECT_EQ(out.parent["c1"].first, "AP h1");
  EXPECT_EQ(out.parent["c5"].first, "AP n2");
  EXPECT_EQ(out.parent["c3"].first, "");  // no AP above it: unparented, as LibreQoS
  EXPECT_EQ(out.anchor["c1"], "");
}

TEST(CompileMode, ApSiteHangsEachApUnderItsNearestSite) {
  Output out = run(CompileMode::ApSite);
  EXPECT_EQ(out.network, json::parse(R"({
    "Site hill": {"downloadBandwidthMbps": 600, "uploadBandwidthMbps": 300, "type": "site",
      "id": "t:hill", "children": {
        "AP h1": {"downloadBandwidthMbps": 300, "uploadBandwidthMbps": 150, "type": "ap",
          "id": "t:h1"}}},
    "Site north": {"downloadBandwidthMbps": 800, "uploadBandwidthMbps": 400, "type": "site",
      "id": "t:north", "children": {
        "AP n1": {"downloadBandwidthMbps": 400, "uploadBandwidthMbps": 200, "type": "ap",
          "id": "t:n1"},
        "AP n2": {"downloadBandwidthMbps": 200, "uploadBandwidthMbps": 100, "type": "ap",
          "id": "t:n2"}}},
    "(Generated Site) AP x1": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 50,
      "type": "site", "id": "sluice:generated:ap_site:1", "children": {
        "AP x1": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 50, "type": "ap",
          "id": "t:x1"}}}})"));
  EXPECT_EQ(out.parent["c4"], std::make_pair(std::string("AP x1"), std::string("t:x1")));
  EXPECT_EQ(out.parent["c3"].first, "");
}

TEST(CompileMode, FlatHasNoNodesAndNoParents) {
  Output out = run(CompileMode::Flat);
  EXPECT_EQ(out.network, json::object());
  for (const auto& [id, parent] : out.parent) {
    EXPECT_EQ(parent.first, "") << id;
    EXPECT_EQ(parent.second, "") << id;
  }
}

}  // namespace
}  // namespace sluice::integrations
