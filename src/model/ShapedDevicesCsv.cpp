// ShapedDevices.csv and overrides files: the columns and header, the reader's two passes,
// decoding, and merging an overrides file into the base. One row: ShapedDevicesRows.cpp.

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
#include "model/ShapedDevicesReader.h"
#include "model/TextEncoding.h"
#include "model/TextIndex.h"

namespace sluice::model {
namespace csv {

/// LibreQoS's original layout, used when the file has no header row (a 14th column is `sqm`).
constexpr std::array<Column, 14> kLegacyLayout = {
    kCircuitId, kCircuitName, kDeviceId,  kDeviceName,  kParentNode, kMac,     kIpv4,
    kIpv6,      kDownloadMin, kUploadMin, kDownloadMax, kUploadMax,  kComment, kSqm};

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

}  // namespace csv

namespace {

using csv::Reader;

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
