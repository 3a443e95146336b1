#pragma once
// Reading vendor JSON the way vendors write it: ids and numbers arrive as numbers or as numeric
// strings ("17", "10240"), booleans as true/1/"1"/"true", absent fields as null or "". Shared by
// the Splynx and Sonar readers.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/Error.h"

namespace sluice::integrations {

/// `row[key]` as text: strings as they are (trimmed), integers without a decimal point, other
/// numbers as %g, booleans "1"/"0"; null, absent or a container: "".
std::string jsonText(const nlohmann::json& row, std::string_view key);

/// An id field: jsonText, with "0" (Splynx's "none") read as "".
std::string jsonId(const nlohmann::json& row, std::string_view key);

/// `row[key]` as a number (a number, or a string holding one); nullopt when absent, null, empty
/// or not numeric.
std::optional<double> jsonNumber(const nlohmann::json& row, std::string_view key);

/// `row[key]` as a flag: true, a non-zero number, "1", "true", "yes" (any case); else false.
bool jsonFlag(const nlohmann::json& row, std::string_view key);

/// "lat,lon" (Splynx's gps field) as two numbers; nullopt unless both parse and lie in range.
std::optional<std::pair<double, double>> parseGps(std::string_view text);

/// Parses an HTTP body as JSON. Errors: EBADMSG "<what>: malformed JSON" with the parser's
/// message (byte offset) in the detail.
Result<nlohmann::json> parseJsonBody(std::string_view body, const std::string& what);

}  // namespace sluice::integrations
