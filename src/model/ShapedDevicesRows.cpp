// One row of ShapedDevices.csv (or of an overrides file): its addresses, rates, sqm and action,
// and merging the rows of one circuit (model/ShapedDevicesReader.h).

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "model/CellParsers.h"
#include "model/ShapedDevicesReader.h"

namespace sluice::model::csv {

void Reader::reportBadAddress(std::string_view token, bool wantV4, const SourceLocation& where) {
  auto problem = diagnoseBadAddress(token, wantV4);
  diags_.error(where, problem.category, std::move(problem.message), std::string(token));
}

void Reader::readAddresses(const CsvField* f, bool wantV4, Device& device) {
  if (!f) {
    return;
  }
  const std::string_view cell = f->value;
  size_t start = 0;
  while (start <= cell.size()) {
    const auto comma = std::min(cell.find(',', start), cell.size());
    const auto raw = cell.substr(start, comma - start);
    const auto token = trimBlanks(raw);
    if (!token.empty()) {
      const size_t tokenStart = start + static_cast<size_t>(token.data() - raw.data());
      const auto where = at(f->sourceOffset(tokenStart));
      const auto net = IpNet::parse(token);
      if (net && net->isV4 == wantV4) {
        (wantV4 ? device.ipv4 : device.ipv6).push_back(*net);
        device.addressPositions.push_back(TextPosition{where.line, where.column});
      } else {
        reportBadAddress(token, wantV4, where);
      }
    }
    start = comma + 1;
  }
}

std::optional<double> Reader::readRate(const CsvRecord& r, Column column) {
  const auto* f = field(r, column);
  if (!f) {
    return std::nullopt;  // missing column: already reported once for the header
  }
  const auto value = trimBlanks(f->value);
  const auto rate = parseDecimal(value);
  if (!rate) {
    diags_.error(cellAt(*f), "bad-rate", fmt::format("{} is not a number", kColumnNames[column]),
                 std::string(value));
    return std::nullopt;
  }
  if (*rate < kMinRateMbps) {
    diags_.error(cellAt(*f), "bad-rate",
                 fmt::format("{} must be at least {} Mbps", kColumnNames[column], kMinRateMbps),
                 std::string(value));
    return std::nullopt;
  }
  return rate;
}

std::optional<SqmOverride> Reader::readSqm(const CsvRecord& r) {
  const auto* f = field(r, kSqm);
  if (!f) {
    return SqmOverride{};
  }
  auto sqm = parseSqmCell(f->value);
  if (!sqm.value) {
    diags_.error(cellAt(*f), "unknown-sqm",
                 fmt::format("unknown sqm '{}': use cake, fq_codel, none or \"down/up\" with "
                             "either side empty",
                             sqm.badToken),
                 std::string(trimBlanks(f->value)));
  }
  return sqm.value;
}

void Reader::readRow(const CsvRecord& r, size_t rowsOfCircuit) {
  if (r.fields.size() != layout_.fieldCount &&
      !(layout_.legacy && r.fields.size() == kLegacyColumns + 1)) {
    auto message = layout_.legacy
                       ? fmt::format(
                             "row has {} fields; a file without a header needs {} (or {} with "
                             "sqm); row skipped",
                             r.fields.size(), kLegacyColumns, kLegacyColumns + 1)
                       : fmt::format("row has {} fields but the header has {}; row skipped",
                                     r.fields.size(), layout_.fieldCount);
    if (r.fields.size() > layout_.fieldCount) {
      message += " (a cell that contains a comma must be in double quotes)";
    }
    diags_.error(lineOf(r.offset), "field-count", std::move(message));
    return;
  }
  if (layout_.legacy && r.fields.size() == kLegacyColumns + 1) {
    layout_.fieldOf[kSqm] = static_cast<int>(kLegacyColumns);
  } else if (layout_.legacy) {
    layout_.fieldOf[kSqm] = -1;
  }

  if (overrides_ && readAction(r)) {
    return;
  }

  Circuit row;
  row.id = text(r, kCircuitId);
  row.name = text(r, kCircuitName);
  row.parentNode = text(r, kParentNode);
  row.parentNodeId = text(r, kParentNodeId);
  row.anchorNodeId = text(r, kAnchorNodeId);
  row.where = lineOf(r.offset);
  row.parentWhere = field(r, kParentNode) ? cellAt(*field(r, kParentNode)) : row.where;

  Device device;
  device.id = text(r, kDeviceId);
  device.name = text(r, kDeviceName);
  device.mac = text(r, kMac);
  device.comment = text(r, kComment);
  device.where = row.where;
  readAddresses(field(r, kIpv4), true, device);
  readAddresses(field(r, kIpv6), false, device);

  const auto dMin = readRate(r, kDownloadMin);
  const auto uMin = readRate(r, kUploadMin);
  const auto dMax = readRate(r, kDownloadMax);
  const auto uMax = readRate(r, kUploadMax);
  auto checkOrder = [&](const std::optional<double>& min, const std::optional<double>& max,
                        Column minColumn, Column maxColumn) {
    if (min && max && *min > *max) {
      diags_.error(cellAt(*field(r, minColumn)), "min-greater-than-max",
                   fmt::format("{} is greater than {} ({})", kColumnNames[minColumn],
                               kColumnNames[maxColumn], text(r, maxColumn)),
                   text(r, minColumn));
    }
  };
  checkOrder(dMin, dMax, kDownloadMin, kDownloadMax);
  checkOrder(uMin, uMax, kUploadMin, kUploadMax);
  row.downloadMinMbps = dMin.value_or(0);
  row.uploadMinMbps = uMin.value_or(0);
  row.downloadMaxMbps = dMax.value_or(0);
  row.uploadMaxMbps = uMax.value_or(0);
  row.sqm = readSqm(r).value_or(SqmOverride{});

  if (row.id.empty()) {
    const auto* f = field(r, kCircuitId);
    diags_.error(f ? cellAt(*f) : row.where, "missing-circuit-id",
                 "row has no Circuit ID; every device must belong to a circuit");
    return;
  }
  const auto [it, inserted] = out_.byId.emplace(row.id, out_.circuits.size());
  if (inserted) {
    row.devices.reserve(rowsOfCircuit);
    row.devices.push_back(std::move(device));
    out_.circuits.push_back(std::move(row));
  } else {
    mergeIntoCircuit(out_.circuits[it->second], row, std::move(device));
  }
}

/// The `Action` cell of an overrides row: true when the row was consumed (a removal or an error).
bool Reader::readAction(const CsvRecord& r) {
  const auto* f = field(r, kAction);
  if (!f) {
    return false;
  }
  const std::string action = normalizeHeader(trimBlanks(f->value));
  if (action.empty() || action == "replace") {
    return false;
  }
  if (action != "remove") {
    diags_.error(cellAt(*f), "bad-action",
                 "unknown Action: use \"remove\" to drop the circuit, or leave it empty to "
                 "replace or add the circuit with this file's rows",
                 std::string(trimBlanks(f->value)));
    return true;
  }
  const std::string id = text(r, kCircuitId);
  if (id.empty()) {
    const auto* idField = field(r, kCircuitId);
    diags_.error(idField ? cellAt(*idField) : lineOf(r.offset), "missing-circuit-id",
                 "a remove row needs the Circuit ID of the circuit to remove");
    return true;
  }
  removals_.push_back(CircuitRemoval{id, lineOf(r.offset)});
  return true;
}

void Reader::mergeIntoCircuit(Circuit& circuit, const Circuit& row, Device device) {
  if (row.parentNode != circuit.parentNode) {
    diags_.error(row.parentWhere, "parent-mismatch",
                 fmt::format("circuit '{}' has parent '{}' in its first row at {}; all rows of a "
                             "circuit must share one parent",
                             circuit.id, circuit.parentNode, circuit.where.toString()),
                 row.parentNode);
  }
  if (row.downloadMinMbps != circuit.downloadMinMbps ||
      row.uploadMinMbps != circuit.uploadMinMbps ||
      row.downloadMaxMbps != circuit.downloadMaxMbps ||
      row.uploadMaxMbps != circuit.uploadMaxMbps) {
    diags_.warning(row.where, "rate-mismatch",
                   fmt::format("rates differ from the first row of circuit '{}' at {}; the first "
                               "row's rates apply",
                               circuit.id, circuit.where.toString()));
  }
  const bool rowHasSqm = row.sqm.down != SqmKind::Default || row.sqm.up != SqmKind::Default;
  const bool circuitHasSqm =
      circuit.sqm.down != SqmKind::Default || circuit.sqm.up != SqmKind::Default;
  if (rowHasSqm && !circuitHasSqm) {
    circuit.sqm = row.sqm;
  } else if (rowHasSqm && (row.sqm.down != circuit.sqm.down || row.sqm.up != circuit.sqm.up)) {
    diags_.warning(row.where, "sqm-mismatch",
                   fmt::format("sqm differs from an earlier row of circuit '{}' (first row at "
                               "{}); the earlier one applies",
                               circuit.id, circuit.where.toString()));
  }
  circuit.devices.push_back(std::move(device));
}

}  // namespace sluice::model::csv
