#pragma once
// Reading network.json (LibreQoS format, DESIGN §3).

#include <string>
#include <string_view>

#include "common/Diagnostics.h"
#include "model/Model.h"

namespace sluice::model {

/// Parses network.json text (UTF-8, a BOM is skipped) into the node tree, nodes in pre-order.
/// Every node's `where` is the line:column of its key (columns count characters). Problems go to
/// `diags` with file:line:column, categories:
///   "json-syntax"          not JSON (the tree read so far is kept; Network::complete = false)
///   "duplicate-node-name"  a name used twice anywhere in the tree; names the first location
///   "bad-node-rate"        a rate that is not a number, negative or above 1e8 Mbps (0 or a
///                          missing rate means "inherit the parent's")
///   "wrong-type"           a node that is not an object, `virtual` not a boolean, `children` not
///                          an object, `type`/`id` not a string (an integer `id` is taken as text);
///                          a non-numeric latitude/longitude is only a warning
///   "too-deep"             a node nested 64 levels deep or more (its subtree is skipped)
///   "bad-node-name"        an empty name
///   "unknown-key"          (warning) a node key Sluice does not know, ignored (the keys
///                          LibreQoS's UISP importer adds, name/uisp_device/uisp_site, are
///                          ignored without a warning)
///   "duplicate-node-id"    (warning) two nodes with the same `id`
/// Nodes with errors are still added when possible so that later checks can report more.
Network parseNetworkJson(std::string_view text, const std::string& fileName, Diagnostics& diags);

/// Reads the file at `path` and parses it; an unreadable file is an error naming the path.
Network loadNetworkJson(const std::string& path, Diagnostics& diags);

}  // namespace sluice::model
