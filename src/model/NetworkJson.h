#pragma once
// Reading network.json (LibreQoS format, DESIGN §3).

#include <string>
#include <string_view>

#include "common/Diagnostics.h"
#include "model/Model.h"

namespace sluice::model {

/// Parses network.json text into the node tree. Problems (JSON syntax, duplicate names, bad or
/// missing rates, wrong types) go to `diags` with file:line:column; nodes with errors are still
/// added when possible so later checks can report more.
Network parseNetworkJson(std::string_view text, const std::string& fileName, Diagnostics& diags);

/// Reads the file at `path` and parses it; an unreadable file is an error naming the path.
Network loadNetworkJson(const std::string& path, Diagnostics& diags);

}  // namespace sluice::model
