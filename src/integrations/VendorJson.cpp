#include "integrations/VendorJson.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace sluice::integrations {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<double> parseNumber(std::string_view text) {
  text = trim(text);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

const nlohmann::json* field(const nlohmann::json& row, std::string_view key) {
  if (!row.is_object()) {
    return nullptr;
  }
  auto it = row.find(key);
  return it == row.end() ? nullptr : &*it;
}

}  // namespace

std::string jsonText(const nlohmann::json& row, std::string_view key) {
  const auto* value = field(row, key);
  if (value == nullptr) {
    return {};
  }
  if (value->is_string()) {
    return std::string(trim(value->get_ref<const std::string&>()));
  }
  if (value->is_number_integer()) {
    return value->dump();
  }
  if (value->is_number_float()) {
    const double number = value->get<double>();
    if (number == std::floor(number) && std::fabs(number) < 1e15) {
      return fmt::format("{}", static_cast<long long>(number));
    }
    return fmt::format("{:g}", number);
  }
  if (value->is_boolean()) {
    return value->get<bool>() ? "1" : "0";
  }
  return {};
}

std::string jsonId(const nlohmann::json& row, std::string_view key) {
  std::string id = jsonText(row, key);
  return id == "0" ? std::string() : id;
}

std::optional<double> jsonNumber(const nlohmann::json& row, std::string_view key) {
  const auto* value = field(row, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_number()) {
    return value->get<double>();
  }
  if (value->is_string()) {
    return parseNumber(value->get_ref<const std::string&>());
  }
  return std::nullopt;
}

bool jsonFlag(const nlohmann::json& row, std::string_view key) {
  const auto* value = field(row, key);
  if (value == nullptr) {
    return false;
  }
  if (value->is_boolean()) {
    return value->get<bool>();
  }
  if (value->is_number()) {
    return value->get<double>() != 0;
  }
  if (value->is_string()) {
    std::string text(trim(value->get_ref<const std::string&>()));
    for (auto& c : text) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text == "1" || text == "true" || text == "yes";
  }
  return false;
}

std::optional<std::pair<double, double>> parseGps(std::string_view text) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) {
    return std::nullopt;
  }
  auto lat = parseNumber(text.substr(0, comma));
  auto lon = parseNumber(text.substr(comma + 1));
  if (!lat || !lon || std::fabs(*lat) > 90 || std::fabs(*lon) > 180) {
    return std::nullopt;
  }
  return std::pair{*lat, *lon};
}

Result<nlohmann::json> parseJsonBody(std::string_view body, const std::string& what) {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return makeError(EBADMSG, what + ": malformed JSON", e.what());
  }
}

}  // namespace sluice::integrations
