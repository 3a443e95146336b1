#pragma once
// Reading ShapedDevices.csv (LibreQoS format, DESIGN §3). The CSV reader is Sluice's own so that
// every error carries an exact line and column.

#include <string>
#include <string_view>
#include <vector>

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

/// A row of a devices overrides file that removes a circuit.
struct CircuitRemoval {
  std::string circuitId;
  SourceLocation where;  ///< the row (line only)
};

/// `[sluice] devices_overrides`: operator changes kept beside ShapedDevices.csv, which CRM
/// integrations regenerate. Granularity is the circuit, as in the live API: every circuit the
/// file has rows for replaces the base circuit with the same Circuit ID as a whole (all of its
/// devices, rates, parent and sqm), or is added when the base has no such circuit; a row whose
/// `Action` column is "remove" drops the base circuit with that Circuit ID (its other cells are
/// ignored). LibreQoS keeps the same kinds of operator intent (persistent devices, circuit
/// removals and adjustments) in lqos_overrides.json; Sluice uses the ShapedDevices.csv columns so
/// that the operator edits one familiar format and each row is validated exactly like the base
/// file.
struct DeviceOverrides {
  ShapedDevices circuits;                ///< replacing or added circuits, in file order
  std::vector<CircuitRemoval> removals;  ///< in file order
};

/// Parses an overrides file: the ShapedDevices.csv format (parseShapedDevices, same row checks
/// and diagnostics) plus an optional `Action` column: empty or "replace" = the row belongs to a
/// replacing/added circuit, "remove" = drop that Circuit ID; anything else is a "bad-action" error
/// at the cell. A remove row without a Circuit ID is a "missing-circuit-id" error.
DeviceOverrides parseDeviceOverrides(std::string_view bytes, const std::string& fileName,
                                     Diagnostics& diags);

/// Reads the overrides file at `path`. A file that does not exist is an empty set of overrides
/// (the first live change creates it); an unreadable one is an "unreadable-file" error.
DeviceOverrides loadDeviceOverrides(const std::string& path, Diagnostics& diags);

/// Applies `overrides` to `base` (see DeviceOverrides): a replaced circuit keeps its place in the
/// base order (its locations are the overrides file's rows), added circuits follow the base ones
/// in the overrides file's order. Diagnostics: "override-conflict" (error: one Circuit ID both
/// removed and replaced), "override-unknown-circuit" (warning: removal of a circuit the base does
/// not have, e.g. after the CRM dropped it). Cross-circuit checks (addresses, parents) are left to
/// validateModel on the result.
ShapedDevices mergeDeviceOverrides(ShapedDevices base, const DeviceOverrides& overrides,
                                   Diagnostics& diags);

}  // namespace sluice::model
