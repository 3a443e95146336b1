#include "model/ShapedDevicesCsv.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <unordered_map>
#include <optional>

#include <fmt/format.h>

#include "model/CellParsers.h"
#include "model/CsvReader.h"
#include "model/FileText.h"
#include "model/TextEncoding.h"
#include "model/TextIndex.h"

namespace sluice::model {

namespace {

enum Column : uint8_t {
  kCircuitId,
  kCircuitName,
  kDeviceId,
  kDeviceName,
  kParentNode,
  kParentNodeId,
  kAnchorNodeId,
  kMac,
  kIpv4,
  kIpv6,
  kDownloadMin,
  kUploadMin,
  kDownloadMax,
  kUploadMax,
  kComment,
  kSqm,
  kAction,  ///< overrides files only (parseDeviceOverrides)
  kColumnCount
};

constexpr std::array<const char*, kColumnCount> kColumnNames = {"Circuit ID",
                                                                "Circuit Name",
                                                                "Device ID",
                                                                "Device Name",
                                                                "Parent Node",
                                                                "Parent Node ID",
                                                                "Anchor Node ID",
                                                                "MAC",
                                                                "IPv4",
                                                                "IPv6",
                                                                "Download Min Mbps",
                                                                "Upload Min Mbps",
                                                                "Download Max Mbps",
                                                                "Upload Max Mbps",
                                                                "Comment",
                                                                "sqm",
                                                                "Action"};

/// LibreQoS's original layout, used when the file has no header row (a 14th column is `sqm`).
constexpr std::array<Column, 14> kLegacyLayout = {
    kCircuitId, kCircuitName, kDeviceId,  kDeviceName,  kParentNode, kMac,     kIpv4,
    kIpv6,      kDownloadMin, kUploadMin, kDownloadMax, kUploadMax,  kComment, kSqm};
constexpr size_t kLegacyColumns = 13;

/// The smallest rate HTB is given (DESIGN §3).
constexpr double kMinRateMbps = 0.01;

/// Header cells compare lower-cased without blanks or underscores ("Circuit ID" == "circuit_id").
std::string normalizeHeader(std::string_view cell) {
  std::string out;
  for (const char c : cell) {
    if (c == ' ' || c == '\t' || c == '_') {
      continue;
    }
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

std::optional<Column> columnForHeader(std::string_view cell) {
  const auto name = normalizeHeader(cell);
  for (size_t c = 0; c < kColumnCount; ++c) {
    if (name == normalizeHeader(kColumnNames[c])) {
      return static_cast<Column>(c);
    }
  }
  // Rate columns without the unit, as some exporters write them.
  static constexpr std::pair<std::string_view, Column> kAliases[] = {{"downloadmin", kDownloadMin},
                                                                     {"uploadmin", kUploadMin},
                                                                     {"downloadmax", kDownloadMax},
                                                                     {"uploadmax", kUploadMax}};
  for (const auto& [alias, column] : kAliases) {
    if (name == alias) {
      return column;
    }
  }
  return std::nullopt;
}

/// The column layout of the file: which CSV field holds which column.
struct Layout {
  std::array<int, kColumnCount> fieldOf{};  ///< -1 = column absent
  size_t fieldCount = 0;                    ///< fields every data row must have
  bool legacy = false;
};

class Reader {
 public:
  Reader(const std::string& fileName, Diagnostics& diags, const TextIndex& index,
         bool overrides = false)
      : file_(fileName), diags_(diags), index_(index), overrides_(overrides) {}

  /// Reads the decoded text in two streaming passes (forEachCsvRecord): the first collects the
  /// CSV syntax problems and each row's run of equal Circuit IDs, the second reads the rows. No
  /// pass keeps more than one record (a 200k-row file held as a CsvDocument took ~170 MB).
  ShapedDevices read(std::string_view text);
  /// Circuits an overrides file removes (`Action` = remove), in file order.
  std::vector<CircuitRemoval> takeRemovals() { return std::move(removals_); }

 private:
  SourceLocation at(size_t offset) const {
    const auto lc = index_.at(offset);
    return SourceLocation{file_, lc.line, lc.column};
  }
  SourceLocation lineOf(size_t offset) const {
    return SourceLocation{file_, index_.at(offset).line, 0};
  }
  /// The row's field for `column`, or nullptr when the layout lacks it.
  const CsvField* field(const CsvRecord& r, Column column) const {
    const int f = layout_.fieldOf[column];
    return f < 0 ? nullptr : &r.fields[static_cast<size_t>(f)];
  }
  std::string text(const CsvRecord& r, Column column) const {
    const auto* f = field(r, column);
    return f ? std::string(trimBlanks(f->value)) : std::string();
  }
  /// Location of the first non-blank character of a field (its start when blank).
  SourceLocation cellAt(const CsvField& f) const {
    const auto lead = f.value.find_first_not_of(" \t");
    return at(f.sourceOffset(lead == std::string::npos ? 0 : lead));
  }

  bool readHeader(const CsvRecord& first);
  /// `rowsOfCircuit`: the number of consecutive records with this row's Circuit ID (the device
  /// count when the file groups a circuit's rows, as exporters do), to size its devices exactly.
  void readRow(const CsvRecord& r, size_t rowsOfCircuit);
  void readAddresses(const CsvField* f, bool wantV4, Device& device);
  void reportBadAddress(std::string_view token, bool wantV4, const SourceLocation& where);
  std::optional<double> readRate(const CsvRecord& r, Column column);
  std::optional<SqmOverride> readSqm(const CsvRecord& r);
  void mergeIntoCircuit(Circuit& circuit, const Circuit& row, Device device);
  bool readAction(const CsvRecord& r);

  const SourceFile file_;  ///< shared by every location of the file (no copy of the path each)
  Diagnostics& diags_;
  const TextIndex& index_;
  const bool overrides_;
  Layout layout_;
  ShapedDevices out_;
  std::vector<CircuitRemoval> removals_;
};

bool isHeaderRecord(const CsvRecord& first) {
  size_t known = 0;
  for (const auto& f : first.fields) {
    known += columnForHeader(f.value).has_value() ? 1 : 0;
  }
  return known >= 2 ||
         (!first.fields.empty() && columnForHeader(first.fields[0].value) == kCircuitId);
}

int idFieldOf(const CsvRecord& first, bool isHeader) {
  if (!isHeader) {
    for (size_t i = 0; i < kLegacyColumns; ++i) {
      if (kLegacyLayout[i] == kCircuitId) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  for (size_t i = 0; i < first.fields.size(); ++i) {
    if (columnForHeader(first.fields[i].value) == kCircuitId) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool Reader::readHeader(const CsvRecord& first) {
  const bool isHeader = isHeaderRecord(first);
  layout_.fieldOf.fill(-1);
  if (!isHeader) {
    layout_.legacy = true;
    layout_.fieldCount = kLegacyColumns;
    for (size_t i = 0; i < kLegacyColumns; ++i) {
      layout_.fieldOf[kLegacyLayout[i]] = static_cast<int>(i);
    }
    return false;
  }
  layout_.fieldCount = first.fields.size();
  for (size_t i = 0; i < first.fields.size(); ++i) {
    const auto& f = first.fields[i];
    auto column = columnForHeader(f.value);
    if (column == kAction && !overrides_) {
      column.reset();  // only an overrides file has actions
    }
    if (!column) {
      diags_.warning(cellAt(f), "unknown-column",
                     "unknown column in the header; its values are ignored",
                     std::string(trimBlanks(f.value)));
      continue;
    }
    if (layout_.fieldOf[*column] >= 0) {
      diags_.error(cellAt(f), "duplicate-column",
                   fmt::format("column '{}' appears twice in the header", kColumnNames[*column]),
                   std::string(trimBlanks(f.value)));
      continue;
    }
    layout_.fieldOf[*column] = static_cast<int>(i);
  }
  for (const Column required : {kCircuitId, kDownloadMin, kUploadMin, kDownloadMax, kUploadMax}) {
    if (layout_.fieldOf[required] < 0) {
      diags_.error(lineOf(first.offset), "missing-column",
                   fmt::format("the header has no '{}' column", kColumnNames[required]));
    }
  }
  if (layout_.fieldOf[kIpv4] < 0 && layout_.fieldOf[kIpv6] < 0) {
    diags_.error(lineOf(first.offset), "missing-column",
                 "the header has neither an 'IPv4' nor an 'IPv6' column");
  }
  return true;
}

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

ShapedDevices Reader::read(std::string_view text) {
  // Pass 1. The Circuit ID's field is found from the first record the way readHeader() finds
  // it (first header cell naming it, else the legacy position) but silently: readHeader()'s
  // diagnostics come after the syntax problems, which are only known at the end of this pass.
  std::vector<CsvProblem> problems;
  std::optional<CsvRecord> first;
  size_t firstData = 0;
  int idField = -1;
  // Memory (issue 5): the circuits and each circuit's devices are sized exactly. Rows of one
  // circuit are normally consecutive, so the runs of equal Circuit IDs give the circuit count
  // (an upper bound when a circuit's rows are scattered) and each circuit's row count:
  // runLength[i] = rows from record i to the end of its run.
  std::vector<uint32_t> runLength;
  size_t runs = 0;
  size_t runStart = 0;
  std::string runId;
  const auto closeRun = [&](size_t end) {
    for (size_t k = runStart; k < end; ++k) {
      runLength[k] = static_cast<uint32_t>(end - k);
    }
  };
  forEachCsvRecord(text, problems, [&](const CsvRecord& r) {
    const size_t i = runLength.size();
    runLength.push_back(1);
    if (i == 0) {
      first = r;
      firstData = isHeaderRecord(r) ? 1 : 0;
      idField = idFieldOf(r, firstData == 1);
      if (firstData == 1) {
        return;
      }
    }
    const std::string_view id = idField >= 0 && static_cast<size_t>(idField) < r.fields.size()
                                    ? trimBlanks(r.fields[static_cast<size_t>(idField)].value)
                                    : std::string_view();
    if (i == firstData || id != runId) {
      closeRun(i);
      runStart = i;
      runId.assign(id);
      ++runs;
    }
  });
  closeRun(runLength.size());
  for (const auto& problem : problems) {
    if (problem.isError) {
      diags_.error(at(problem.offset), "csv-syntax", problem.message);
    } else {
      diags_.warning(at(problem.offset), "csv-syntax", problem.message);
    }
  }
  if (!first) {
    return std::move(out_);
  }
  readHeader(*first);
  first.reset();
  if (layout_.fieldOf[kCircuitId] < 0) {
    return std::move(out_);  // every row would repeat the header's "missing-column" error
  }
  out_.circuits.reserve(runs);
  out_.byId.reserve(runs);
  // Pass 2: the rows (the syntax problems were reported above).
  problems.clear();
  size_t i = 0;
  forEachCsvRecord(text, problems, [&](const CsvRecord& r) {
    const size_t index = i++;
    if (index < firstData) {
      return;
    }
    // Spreadsheets export trailing blank rows as ",,,,": nothing to shape, so not an error.
    const bool allEmpty = std::all_of(r.fields.begin(), r.fields.end(), [](const CsvField& f) {
      return trimBlanks(f.value).empty();
    });
    if (allEmpty) {
      diags_.warning(lineOf(r.offset), "empty-row", "row has only empty fields; skipped");
      return;
    }
    readRow(r, runLength[index]);
  });
  out_.circuits.shrink_to_fit();  // no-op unless rows of a circuit were scattered or skipped
  for (Circuit& c : out_.circuits) {
    c.devices.shrink_to_fit();
  }
  return std::move(out_);
}

/// Decodes `bytes` (reporting encoding problems) and runs the reader over them.
template <typename Fn>
auto readDecoded(std::string_view bytes, const std::string& fileName, Diagnostics& diags, Fn&& fn) {
  const auto decoded = decodeToUtf8(bytes);
  if (decoded.encoding == SourceEncoding::Windows1252) {
    // Line breaks are the same bytes in both encodings, so the line of the bad byte is exact.
    const auto upTo = bytes.substr(0, std::min(decoded.firstProblem, bytes.size()));
    const auto line = static_cast<uint32_t>(1 + std::count(upTo.begin(), upTo.end(), '\n'));
    diags.warning(
        SourceLocation{fileName, line, 0}, "encoding",
        "not valid UTF-8 (first bad byte on this line); the file is read as Windows-1252");
  } else if (decoded.firstProblem != std::string::npos) {
    diags.warning(SourceLocation{fileName}, "encoding",
                  fmt::format("ill-formed {} at byte offset {}; replaced with U+FFFD",
                              encodingName(decoded.encoding), decoded.firstProblem));
  }
  const TextIndex index(decoded.text());
  return fn(decoded.text(), index);
}

}  // namespace

ShapedDevices parseShapedDevices(std::string_view bytes, const std::string& fileName,
                                 Diagnostics& diags) {
  return readDecoded(bytes, fileName, diags, [&](std::string_view text, const TextIndex& index) {
    auto out = Reader(fileName, diags, index).read(text);
    out.sourceFiles = {fileName};
    return out;
  });
}

DeviceOverrides parseDeviceOverrides(std::string_view bytes, const std::string& fileName,
                                     Diagnostics& diags) {
  return readDecoded(bytes, fileName, diags, [&](std::string_view text, const TextIndex& index) {
    Reader reader(fileName, diags, index, true);
    DeviceOverrides out;
    out.circuits = reader.read(text);
    out.circuits.sourceFiles = {fileName};
    out.removals = reader.takeRemovals();
    return out;
  });
}

DeviceOverrides loadDeviceOverrides(const std::string& path, Diagnostics& diags) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) {
    return {};  // not created yet: the first live change writes it
  }
  const auto bytes = readInputFile(path, "the devices overrides file", diags);
  if (!bytes) {
    return {};
  }
  return parseDeviceOverrides(*bytes, path, diags);
}

ShapedDevices mergeDeviceOverrides(ShapedDevices base, const DeviceOverrides& overrides,
                                   Diagnostics& diags) {
  std::unordered_map<std::string, const CircuitRemoval*> removed;
  for (const CircuitRemoval& r : overrides.removals) {
    if (auto it = overrides.circuits.byId.find(r.circuitId); it != overrides.circuits.byId.end()) {
      const Circuit& replacement = overrides.circuits.circuits[it->second];
      diags.error(r.where, "override-conflict",
                  fmt::format("circuit '{}' is both removed here and replaced at {}; keep one",
                              r.circuitId, replacement.where.toString()),
                  r.circuitId);
      continue;
    }
    if (!base.byId.contains(r.circuitId)) {
      diags.warning(r.where, "override-unknown-circuit",
                    fmt::format("circuit '{}' is not in ShapedDevices.csv; nothing to remove",
                                r.circuitId),
                    r.circuitId);
      continue;
    }
    removed.emplace(r.circuitId, &r);
  }
  ShapedDevices out;
  out.sourceFiles = base.sourceFiles;
  out.sourceFiles.insert(out.sourceFiles.end(), overrides.circuits.sourceFiles.begin(),
                         overrides.circuits.sourceFiles.end());
  size_t added = 0;  // overrides circuits the base does not have
  for (const Circuit& c : overrides.circuits.circuits) {
    added += base.byId.contains(c.id) || removed.contains(c.id) ? 0 : 1;
  }
  out.circuits.reserve(base.circuits.size() - removed.size() + added);
  out.byId.reserve(out.circuits.capacity());
  std::vector<bool> used(overrides.circuits.circuits.size(), false);
  for (Circuit& c : base.circuits) {
    if (removed.contains(c.id)) {
      continue;
    }
    if (auto it = overrides.circuits.byId.find(c.id); it != overrides.circuits.byId.end()) {
      used[it->second] = true;
      out.byId.emplace(c.id, out.circuits.size());
      out.circuits.push_back(overrides.circuits.circuits[it->second]);  // keeps its place
      continue;
    }
    out.byId.emplace(c.id, out.circuits.size());
    out.circuits.push_back(std::move(c));
  }
  for (size_t i = 0; i < overrides.circuits.circuits.size(); ++i) {
    if (!used[i] && !removed.contains(overrides.circuits.circuits[i].id)) {
      out.byId.emplace(overrides.circuits.circuits[i].id, out.circuits.size());
      out.circuits.push_back(overrides.circuits.circuits[i]);
    }
  }
  return out;
}

ShapedDevices loadShapedDevices(const std::string& path, Diagnostics& diags) {
  const auto bytes = readInputFile(path, "ShapedDevices.csv", diags);
  if (!bytes) {
    return {};
  }
  return parseShapedDevices(*bytes, path, diags);
}

SourceLocation Device::addressWhere(bool v6, size_t index) const {
  const size_t at = v6 ? ipv4.size() + index : index;
  if (addressPositions.size() != ipv4.size() + ipv6.size() || at >= addressPositions.size()) {
    return where;
  }
  return SourceLocation{where.file, addressPositions[at].line, addressPositions[at].column};
}

size_t ShapedDevices::deviceCount() const {
  size_t n = 0;
  for (const auto& c : circuits) {
    n += c.devices.size();
  }
  return n;
}

size_t ShapedDevices::addressCount() const {
  size_t n = 0;
  for (const auto& c : circuits) {
    for (const auto& d : c.devices) {
      n += d.ipv4.size() + d.ipv6.size();
    }
  }
  return n;
}

}  // namespace sluice::model
