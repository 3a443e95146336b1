#pragma once
// The operator's network as Sluice understands it: the node tree from network.json and the
// circuits (with their devices) from ShapedDevices.csv. Plain values; readers and validation are
// in model/NetworkJson.h, model/ShapedDevicesCsv.h, model/Validate.h and model/Inputs.h.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/Diagnostics.h"
#include "common/IpNet.h"

namespace sluice::model {

inline constexpr int32_t kNoNode = -1;

/// A node of network.json (site, POP, AP, ... — `type` is free text).
struct Node {
  std::string name;         ///< the JSON key; globally unique
  std::string id;           ///< optional `id`
  std::string type;         ///< optional `type`
  double downloadMbps = 0;  ///< 0 = inherit the parent's rate (planner fix-up)
  double uploadMbps = 0;
  bool isVirtual = false;  ///< logical only: no HTB class, children promoted to its parent
  std::optional<double> latitude;
  std::optional<double> longitude;
  int32_t parent = kNoNode;       ///< index into Network::nodes
  std::vector<int32_t> children;  ///< indices into Network::nodes, in file order
  uint32_t depth = 0;             ///< 0 for top-level nodes
  SourceLocation where;           ///< where the node's key appears
};

/// The node tree. Nodes are stored parents-before-children (pre-order, file order).
struct Network {
  std::vector<Node> nodes;
  std::vector<int32_t> roots;  ///< top-level nodes, in file order
  std::unordered_map<std::string, int32_t> byName;
  std::unordered_map<std::string, int32_t> byId;  ///< nodes that have a non-empty `id`
  /// False when the file could not be read or parsed to its end (the tree is partial, so checks
  /// against it, such as unknown parents, would only add noise).
  bool complete = true;

  /// Index of the node named `name`, or kNoNode.
  int32_t find(const std::string& name) const {
    auto it = byName.find(name);
    return it == byName.end() ? kNoNode : it->second;
  }
};

/// Leaf queue discipline requested for one direction of a circuit.
enum class SqmKind : uint8_t { Default, Cake, FqCodel, None };

/// The optional `sqm` column: one token for both directions, or "down/up" (either may be empty,
/// meaning Default).
struct SqmOverride {
  SqmKind down = SqmKind::Default;
  SqmKind up = SqmKind::Default;
};

/// A line and column in a file (1-based; 0 = unknown), for locations stored many times over.
struct TextPosition {
  uint32_t line = 0;
  uint32_t column = 0;
};

struct Device {
  std::string id;
  std::string name;
  std::string mac;
  std::vector<IpNet> ipv4;  ///< isV4 == true
  std::vector<IpNet> ipv6;  ///< isV4 == false
  std::string comment;
  SourceLocation where;  ///< the CSV row (line only)
  /// Where each address was written in `where.file`: ipv4's addresses, then ipv6's, in order.
  /// Empty for devices that did not come from a file. One vector of 8-byte positions rather than
  /// a SourceLocation per address and family: at 100k circuits that saved ~9 MB of sluiced's
  /// RSS (issue 5).
  std::vector<TextPosition> addressPositions;

  /// Where `ipv4[index]` (v6 false) or `ipv6[index]` (v6 true) was written, as file:line:column;
  /// `where` when the positions do not cover it (devices that did not come from a file).
  SourceLocation addressWhere(bool v6, size_t index) const;
};

/// A subscriber circuit: all CSV rows that share one Circuit ID.
struct Circuit {
  std::string id;
  std::string name;
  std::string parentNode;      ///< node name; empty = unparented (goes to a generated node)
  std::string parentNodeId;    ///< optional `Parent Node ID`
  std::string anchorNodeId;    ///< optional `Anchor Node ID`
  double downloadMinMbps = 0;  ///< HTB rate
  double uploadMinMbps = 0;
  double downloadMaxMbps = 0;  ///< HTB ceil
  double uploadMaxMbps = 0;
  SqmOverride sqm;
  std::vector<Device> devices;  ///< in file order
  SourceLocation where;         ///< the circuit's first row
  SourceLocation parentWhere;   ///< the first row's Parent Node cell (file only)
};

struct ShapedDevices {
  std::vector<Circuit> circuits;                 ///< in order of first appearance
  std::unordered_map<std::string, size_t> byId;  ///< Circuit ID -> index into circuits
  /// The files the circuits were read from, in reading order (ShapedDevices.csv, then the devices
  /// overrides file): "file order" across files for checks that blame the later of two rows.
  std::vector<std::string> sourceFiles;
  /// Number of devices (CSV rows that became part of a circuit).
  size_t deviceCount() const;
  /// Number of IPv4 plus IPv6 addresses/prefixes over all devices.
  size_t addressCount() const;
};

struct Model {
  Network network;
  ShapedDevices shaped;
};

}  // namespace sluice::model
