#pragma once
// Private to the graph's implementation files (Graph.cpp, GraphPrepare.cpp, CompileMode.cpp,
// GraphEmit.cpp): the projected tree that emit() writes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "integrations/Graph.h"

namespace sluice::integrations {

struct GraphAccess {
  static std::vector<GraphNode>& nodes(Graph& g) { return g.nodes_; }
  static std::unordered_map<std::string, int32_t>& index(Graph& g) { return g.index_; }
  static std::vector<int32_t>& parents(Graph& g) { return g.parents_; }
  static std::vector<std::string>& warnings(Graph& g) { return g.warnings_; }
  static bool& prepared(Graph& g) { return g.prepared_; }
};

namespace detail {

/// A node of network.json after the compile mode's projection.
struct ExportNode {
  std::string name;  ///< unique among ExportNodes
  std::string type;  ///< "site", "ap"
  std::string id;    ///< network.json `id` ("" = none)
  double downloadMbps = 0;  ///< before clamping to the parent
  double uploadMbps = 0;
  bool isVirtual = false;
  std::optional<double> latitude;
  std::optional<double> longitude;
  int32_t parent = -1;  ///< index into Projection::nodes; -1 = top level
};

struct Projection {
  std::vector<ExportNode> nodes;  ///< parents before children
  /// Per graph node (indexed like Graph::nodes()): for a Client, the ExportNode index of its
  /// circuit's parent (-1 = unparented); unused for other kinds.
  std::vector<int32_t> circuitParent;
  bool writeAnchors = false;  ///< Full mode: Anchor Node ID = Parent Node ID
};

/// The unique export name of every Site/Ap node of `graph` (indexed like Graph::nodes(); ""
/// for other kinds): the node's name (its id when empty), sites claiming names before APs; a
/// later holder of a taken name gets " (<id>)" (then " (<id>) 2", ...), with a warning.
std::vector<std::string> exportNames(const Graph& graph, std::vector<std::string>& warnings);

/// `graph` (prepared) projected by `mode` (Graph.h, CompileMode), using `names`.
Projection project(const Graph& graph, CompileMode mode, const std::vector<std::string>& names);

/// x rounded to 2 decimals (LibreQoS rounds circuit rates so).
double round2(double x);

}  // namespace detail
}  // namespace sluice::integrations
