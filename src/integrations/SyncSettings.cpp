// syncSettings(): [sync] and the integration sections of lqos.conf, read from the config's
// otherSections (TOML text per key, config/Config.h).

#include <toml++/toml.h>

#include <fmt/format.h>

#include "integrations/Sync.h"

namespace sluice::integrations {
namespace {

// One key's TOML text parsed on its own (as "v = TEXT"); the table stays alive while in use.
class Value {
 public:
  explicit Value(const std::string* text) {
    if (text == nullptr) {
      return;
    }
    try {
      table_ = toml::parse("v = " + *text);
    } catch (const toml::parse_error&) {
      table_ = toml::table{};  // the loader rendered it, so this does not happen
    }
  }
  template <typename T>
  T value_or(T fallback) const {
    const toml::node* n = table_.get("v");
    return n == nullptr ? fallback : n->value_or(fallback);
  }
  const toml::array* array() const {
    const toml::node* n = table_.get("v");
    return n == nullptr ? nullptr : n->as_array();
  }

 private:
  toml::table table_;
};

const std::string* rawValue(const config::Config& config, const char* section, const char* key) {
  auto s = config.otherSections.find(section);
  if (s == config.otherSections.end()) {
    return nullptr;
  }
  auto k = s->second.find(key);
  return k == s->second.end() ? nullptr : &k->second;
}

bool enabled(const config::Config& config, const char* section, const char* key) {
  return Value(rawValue(config, section, key)).value_or(false);
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
    const std::string mode = Value(raw).value_or(std::string());
    out.mode = mode == "integration" ? InputMode::Integration
               : mode == "custom"    ? InputMode::Custom
                                     : InputMode::Manual;
  }
  const Value command(rawValue(config, "sync", "custom_command"));
  if (const toml::array* argv = command.array()) {
    for (const auto& arg : *argv) {
      out.customCommand.push_back(arg.value_or(std::string()));
    }
  }
  out.timeout = std::chrono::seconds(
      Value(rawValue(config, "sync", "timeout_seconds")).value_or(int64_t{300}));
  out.massChangeShare =
      Value(rawValue(config, "sync", "mass_change_threshold_percent")).value_or(10.0) / 100.0;
  out.interval = std::chrono::minutes(
      Value(rawValue(config, "integration_common", "queue_refresh_interval_mins"))
          .value_or(int64_t{30}));
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
