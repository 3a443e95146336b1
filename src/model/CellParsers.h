#pragma once
// Internal to the model readers: parsers for single ShapedDevices.csv cells, free of any file
// position so that they can be tested (and reused by integrations) on their own.

#include <optional>
#include <string>
#include <string_view>

#include "model/Model.h"

namespace sluice::model {

/// `s` without leading and trailing spaces and tabs.
std::string_view trimBlanks(std::string_view s);

/// `s` with ASCII letters lower-cased.
std::string lowerAscii(std::string_view s);

/// A finite decimal number ("10", "2.5", "1e3"), or nullopt for anything else (also "", "nan").
std::optional<double> parseDecimal(std::string_view text);

/// The `sqm` cell: "" (default), cake, fq_codel, none, or "down/up" with either side empty,
/// compared after trimming and lower-casing as LibreQoS does. On failure `badToken` names the
/// side that is not one of those words.
struct SqmCell {
  std::optional<SqmOverride> value;
  std::string badToken;
};
SqmCell parseSqmCell(std::string_view cell);

/// Why `token` (already known not to parse as an address of the wanted family) was refused:
/// category "address-wrong-column" (the other family, or an IPv4-mapped IPv6 address) or
/// "bad-address" (host bits set beyond the prefix, a bad prefix length, or not an address), and a
/// message for the operator.
struct AddressProblem {
  const char* category;
  std::string message;
};
AddressProblem diagnoseBadAddress(std::string_view token, bool wantV4);

}  // namespace sluice::model
