// syncSettings(): [sync] and the integration sections of lqos.conf (config::OtherSection).

#include <fmt/format.h>

#include "config/OtherSection.h"
#include "integrations/Sync.h"

namespace sluice::integrations {

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
  out.integration = config::enabledIntegration(config);
  config::OtherSection sync(config, "sync");
  std::string mode = out.integration.empty() ? "manual" : "integration";
  sync.read("mode", mode);
  out.mode = mode == "integration" ? InputMode::Integration
             : mode == "custom"    ? InputMode::Custom
                                   : InputMode::Manual;
  sync.read("custom_command", out.customCommand);
  int64_t timeoutSeconds = out.timeout.count();
  sync.read("timeout_seconds", timeoutSeconds);
  out.timeout = std::chrono::seconds(timeoutSeconds);
  double thresholdPercent = out.massChangeShare * 100;
  sync.read("mass_change_threshold_percent", thresholdPercent);
  out.massChangeShare = thresholdPercent / 100;
  int64_t intervalMinutes = 30;
  config::OtherSection(config, "integration_common")
      .read("queue_refresh_interval_mins", intervalMinutes);
  out.interval = std::chrono::minutes(intervalMinutes);
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
