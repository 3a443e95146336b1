#pragma once
// Reading ShapedDevices.csv (LibreQoS format, DESIGN §3). The CSV reader is Sluice's own so that
// every error carries an exact line and column.

#include <string>
#include <string_view>

#include "common/Diagnostics.h"
#include "model/Model.h"

namespace sluice::model {

/// Parses ShapedDevices.csv bytes (UTF-8 with or without BOM, UTF-16 LE/BE with BOM, or
/// Windows-1252 when not valid UTF-8; an "encoding" warning says so). Rows sharing a Circuit ID
/// are merged into one circuit, in order of first appearance.
///
/// Columns are matched by header name, ignoring case, blanks and underscores; a first row with no
/// known column name means there is no header and LibreQoS's legacy 13-column order applies (a
/// 14th field is `sqm`). Cells are trimmed of blanks; IPv4/IPv6 cells are comma-separated lists.
///
/// Row-local problems go to `diags` with the file:line:column of the cell, categories:
/// "csv-syntax", "missing-column", "duplicate-column", "unknown-column" (warning), "field-count"
/// (row skipped, never shifted), "missing-circuit-id" (row skipped), "bad-address",
/// "address-wrong-column", "bad-rate" (not a number or below 0.01 Mbps), "min-greater-than-max",
/// "unknown-sqm", "parent-mismatch" (a row disagrees with the circuit's first row), and the
/// warnings "rate-mismatch" and "sqm-mismatch" (the first row's values apply), "empty-row" (a row
/// of empty fields, skipped) and "encoding" (not UTF-8; read as Windows-1252). Addresses across
/// rows and circuits are checked by validateModel (model/Inputs.h), which needs the whole model.
ShapedDevices parseShapedDevices(std::string_view bytes, const std::string& fileName,
                                 Diagnostics& diags);

/// Reads the file at `path` and parses it; an unreadable file is an error naming the path.
ShapedDevices loadShapedDevices(const std::string& path, Diagnostics& diags);

}  // namespace sluice::model
