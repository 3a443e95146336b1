#pragma once
// The `[stormguard]` section of lqos.conf as StormGuard reads it (LibreQoS's key names and
// defaults, shared/reference §2; the loader's schema, src/config/LqosSchema.cpp, checked types and
// ranges already). An absent section is "disabled".

#include <string>
#include <vector>

#include "common/Error.h"
#include "config/Config.h"
#include "stormguard/DelayProbe.h"

namespace sluice::stormguard {

struct Settings {
  bool enabled = false;
  bool allSites = false;                  ///< watch every leaf node (see selectTargets)
  std::vector<std::string> targets;       ///< node names, when !allSites
  std::vector<std::string> excludeSites;  ///< removed from the all_sites set
  bool dryRun = true;                     ///< log what it would do; change nothing
  std::string strategy = "delay_probe";   ///< legacy_score | delay_probe | delay_probe_active
  double minimumDownloadShare = 0.5;      ///< minimum_download_percentage, (0, 1]
  double minimumUploadShare = 0.5;        ///< minimum_upload_percentage, (0, 1]
  DelayProbeParams params;                ///< the controller's tunables
  std::string activePingTarget = "1.1.1.1";
  double activePingIntervalSeconds = 10;
  double activePingWeight = 0.70;
  double activePingTimeoutSeconds = 1.0;

  /// Live: enabled and not a dry run (the only mode that changes the kernel).
  bool live() const { return enabled && !dryRun; }
  bool operator==(const Settings&) const = default;
};

/// Reads `[stormguard]` from `config`. Errors (EINVAL, naming the key and value): enabled
/// without all_sites and without targets; a minimum percentage outside (0, 1]; under
/// delay_probe_active, an active_ping_target that is not an IP address (the schema checks
/// active_ping_weight's range).
Result<Settings> readSettings(const config::Config& config);

}  // namespace sluice::stormguard
