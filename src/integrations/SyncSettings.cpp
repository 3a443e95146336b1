// syncSettings(): [sync] and the integration sections of lqos.conf, read from the config's
// otherSections (TOML text per key, config/Config.h).

#include <toml++/toml.h>

#include <fmt/format.h>

#include "integrations/Sync.h"

namespace sluice::integrations {
namespace {

// The TOML value `text` of one key, parsed on its own.
toml::table parseValue(const std::string& text) {
  try {
    return toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    return {};
  }
}

const std::string* rawValue(const config::Config& config, const char* section, const char* key) {
  auto s = config.otherSections.find(section);
  if (s == config.otherSections.end()) {
    return nullptr;
  }
  auto k = s->second.find(key);
  return k == s->second.end() ? nullptr : &k->second;
}

bool enabled(const config::Config& config, const char* section, const char* key) {
  const std::string* raw = rawValue(config, section, key);
  return raw != nullptr && parseValue(*raw)["v"].value_or(false);
}

}  // namespace

std::string_view inputModeName(InputMode mode) {
  switch (mode) {
    case InputMode::Manual:
      return "manual";
    case InputMode::Integration:
      return "integration";
    case InputMode::Custom:
      return "custom";
  }
  return "?";
}

Result<SyncSettings> syncSettings(const config::Config& config) {
  SyncSettings out;
  // LibreQoS's scheduler runs the first enabled one in this order.
  if (enabled(config, "uisp_integration", "enable_uisp")) {
    out.integration = "uisp";
  } else if (enabled(config, "splynx_integration", "enable_splynx")) {
    out.integration = "splynx";
  } else if (enabled(config, "sonar_integration", "enable_sonar")) {
    out.integration = "sonar";
  }
  out.mode = out.integration.empty() ? InputMode::Manual : InputMode::Integration;
  if (const std::string* raw = rawValue(config, "sync", "mode")) {
    const std::string mode = parseValue(*raw)["v"].value_or(std::string());
    out.mode = mode == "integration" ? InputMode::Integration
               : mode == "custom"    ? InputMode::Custom
                                     : InputMode::Manual;
  }
  if (const std::string* raw = rawValue(config, "sync", "custom_command")) {
    if (const toml::array* argv = parseValue(*raw)["v"].as_array()) {
      for (const auto& arg : *argv) {
        out.customCommand.push_back(arg.value_or(std::string()));
      }
    }
  }
  if (const std::string* raw = rawValue(config, "sync", "timeout_seconds")) {
    out.timeout = std::chrono::seconds(parseValue(*raw)["v"].value_or(int64_t{300}));
  }
  if (const std::string* raw = rawValue(config, "sync", "mass_change_threshold_percent")) {
    out.massChangeShare = parseValue(*raw)["v"].value_or(10.0) / 100.0;
  }
  if (const std::string* raw =
          rawValue(config, "integration_common", "queue_refresh_interval_mins")) {
    out.interval = std::chrono::minutes(parseValue(*raw)["v"].value_or(int64_t{30}));
  }
  if (out.mode == InputMode::Integration && out.integration.empty()) {
    return makeError(EINVAL, "[sync] mode = \"integration\"",
                     "no integration is enabled (enable_uisp, enable_splynx or enable_sonar)");
  }
  if (out.mode == InputMode::Custom && out.customCommand.empty()) {
    return makeError(EINVAL, "[sync] mode = \"custom\"", "custom_command is empty");
  }
  if (out.interval.count() <= 0) {
    return makeError(EINVAL, "[integration_common] queue_refresh_interval_mins",
                     "must be at least 1");
  }
  return out;
}

}  // namespace sluice::integrations
