#pragma once
// Internals of the ShapedDevices.csv reader (model/ShapedDevicesCsv.h), shared by
// ShapedDevicesCsv.cpp (columns, header, the two passes, overrides) and ShapedDevicesRows.cpp (one
// row: addresses, rates, sqm, action, merging a circuit's rows). Not a public header.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/CsvReader.h"
#include "model/ShapedDevicesCsv.h"
#include "model/TextIndex.h"

namespace sluice::model::csv {

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

inline constexpr std::array<const char*, kColumnCount> kColumnNames = {"Circuit ID",
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

/// Data fields of a headerless (legacy) row (LibreQoS's original layout); a 14th is `sqm`.
inline constexpr size_t kLegacyColumns = 13;

/// The smallest rate HTB is given (DESIGN §3).
inline constexpr double kMinRateMbps = 0.01;

/// Header cells compare lower-cased without blanks or underscores ("Circuit ID" == "circuit_id").
std::string normalizeHeader(std::string_view cell);

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

}  // namespace sluice::model::csv
