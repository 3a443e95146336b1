#include "stormguard/Settings.h"

#include <arpa/inet.h>

#include <cerrno>

#include "config/OtherSection.h"

namespace sluice::stormguard {

Result<Settings> readSettings(const config::Config& config) {
  config::OtherSection s(config, "stormguard");
  Settings out;
  s.read("enabled", out.enabled);
  s.read("all_sites", out.allSites);
  s.read("targets", out.targets);
  s.read("exclude_sites", out.excludeSites);
  s.read("dry_run", out.dryRun);
  s.read("strategy", out.strategy);
  s.read("minimum_download_percentage", out.minimumDownloadShare);
  s.read("minimum_upload_percentage", out.minimumUploadShare);
  DelayProbeParams& p = out.params;
  s.read("increase_fast_multiplier", p.increaseFastMultiplier);
  s.read("increase_multiplier", p.increaseMultiplier);
  s.read("decrease_multiplier", p.decreaseMultiplier);
  s.read("decrease_fast_multiplier", p.decreaseFastMultiplier);
  s.read("increase_fast_cooldown_seconds", p.increaseFastCooldownSeconds);
  s.read("increase_cooldown_seconds", p.increaseCooldownSeconds);
  s.read("decrease_cooldown_seconds", p.decreaseCooldownSeconds);
  s.read("decrease_fast_cooldown_seconds", p.decreaseFastCooldownSeconds);
  s.read("delay_threshold_ms", p.delayThresholdMs);
  s.read("delay_threshold_ratio", p.delayThresholdRatio);
  s.read("baseline_alpha_up", p.baselineAlphaUp);
  s.read("baseline_alpha_down", p.baselineAlphaDown);
  s.read("probe_interval_seconds", p.probeIntervalSeconds);
  s.read("min_throughput_mbps_for_rtt", p.minThroughputMbpsForRtt);
  s.read("active_ping_target", out.activePingTarget);
  s.read("active_ping_interval_seconds", out.activePingIntervalSeconds);
  s.read("active_ping_weight", out.activePingWeight);
  s.read("active_ping_timeout_seconds", out.activePingTimeoutSeconds);
  if (out.enabled && !out.allSites && out.targets.empty()) {
    return s.invalid("targets", "a list of node names when enabled = true and all_sites = false");
  }
  if (!(out.minimumDownloadShare > 0 && out.minimumDownloadShare <= 1)) {
    return s.invalid("minimum_download_percentage", "a share in (0, 1]");
  }
  if (!(out.minimumUploadShare > 0 && out.minimumUploadShare <= 1)) {
    return s.invalid("minimum_upload_percentage", "a share in (0, 1]");
  }
  if (out.enabled && out.strategy == "delay_probe_active") {
    in6_addr scratch{};
    if (::inet_pton(AF_INET, out.activePingTarget.c_str(), &scratch) != 1 &&
        ::inet_pton(AF_INET6, out.activePingTarget.c_str(), &scratch) != 1) {
      return s.invalid("active_ping_target",
                       "an IPv4 or IPv6 address (no host names: sluiced does not resolve them)");
    }
  }
  return out;
}

}  // namespace sluice::stormguard
