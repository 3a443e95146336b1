#pragma once
// Reading ShapedDevices.csv (LibreQoS format, DESIGN §3). The CSV reader is Sluice's own so that
// every error carries an exact line and column.

#include <string>
#include <string_view>

#include "common/Diagnostics.h"
#include "model/Model.h"

namespace sluice::model {

/// Parses ShapedDevices.csv bytes (UTF-8 with or without BOM, UTF-16 LE/BE with BOM, or
/// Windows-1252 when not valid UTF-8). Rows sharing a Circuit ID are merged into one circuit.
/// Row-local problems (field count, addresses, rates, sqm tokens, parent disagreement within a
/// circuit, duplicate addresses within the file) go to `diags`.
ShapedDevices parseShapedDevices(std::string_view bytes, const std::string& fileName,
                                 Diagnostics& diags);

/// Reads the file at `path` and parses it; an unreadable file is an error naming the path.
ShapedDevices loadShapedDevices(const std::string& path, Diagnostics& diags);

}  // namespace sluice::model
