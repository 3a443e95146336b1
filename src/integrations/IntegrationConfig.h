#pragma once
// Typed view of lqos.conf's integration sections: [integration_common], [uisp_integration],
// [splynx_integration], [sonar_integration] and [topology] compile_mode. The config loader has
// already checked each key's type and range against LibreQoS's schema (config/LqosSchema.cpp) and
// kept the values as TOML text in Config::otherSections; this reads them into structs with
// LibreQoS's defaults (lqos_config/src/etc/v15/*_integration.rs, integration_common.rs; facts in
// shared/reference/libreqos-behaviour.md §1.0, §1.2-§1.4) and checks what the schema cannot
// (choices, ratios, the shape of exception_cpes and recurring_service_rates).
//
// UISP-only keys (exclude_sites, exception_cpes, bandwidth_overhead_factor, ...) live in
// UispConfig alone, so no other integration can read them by accident (LibreQoS's Python
// integrations reuse them).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "config/Config.h"
#include "integrations/Graph.h"

namespace sluice::integrations {

/// `[integration_common]`.
struct IntegrationCommonConfig {
  bool circuitNameAsAddress = false;
  bool alwaysOverwriteNetworkJson = false;
  uint32_t queueRefreshIntervalMins = 30;
  bool useMikrotikIpv6 = false;
  std::vector<std::string> promoteToRoot;
  /// Plan multiplier for the Python-style integrations (1.0 when absent, as LibreQoS).
  double clientBandwidthMultiplier = 1.0;
  bool ethernetPortLimitsEnabled = true;
  double ethernetPortLimitMultiplier = 0.94;  ///< in (0, 1]
};

/// `[uisp_integration] suspended_strategy`: what a suspended client site gets.
enum class SuspendedStrategy : uint8_t {
  None,    ///< "" or "none": shaped by its plan like any other client
  Ignore,  ///< "ignore": no circuit at all (LibreQoS's own "ignore" does nothing, issue #737)
  Slow,    ///< "slow": 0.1 Mbps in both directions, min and max
};

/// `[uisp_integration]`, every key LibreQoS reads, with its defaults.
struct UispConfig {
  bool enabled = false;
  std::string token;
  std::string url;
  std::string site;      ///< root site name ("" = detect from the Internet uplinks)
  std::string strategy;  ///< legacy mode key ("" = unset); topology.compile_mode wins
  SuspendedStrategy suspendedStrategy = SuspendedStrategy::None;
  double airmaxCapacity = 1.0;
  double airmaxFlexibleFrameDownloadRatio = 0.8;  ///< in (0, 1)
  double ltuCapacity = 1.0;
  std::vector<std::string> excludeSites;
  std::vector<std::string> squashSites;       ///< read; runtime squashing is not implemented
  std::vector<std::string> doNotSquashSites;  ///< read; runtime squashing is not implemented
  bool ipv6WithMikrotik = false;  ///< read; the Mikrotik IPv6 lookup is not implemented
  double bandwidthOverheadFactor = 1.0;
  double commitBandwidthMultiplier = 1.0;
  /// exception_cpes: `[{cpe = "..", parent = ".."}]`, `["cpe:parent"]` or `[{ "cpe" = "parent" }]`.
  std::vector<ParentException> exceptionCpes;
  bool usePtmpAsParent = false;  ///< read; LibreQoS's current (full2) build ignores it too
  bool ignoreCalculatedCapacity = false;
  bool infrastructureTransportCapsEnabled = true;
  bool insecureSsl = false;
  bool enableSquashing = false;  ///< read for compatibility; LibreQoS ignores it too
};

/// `[splynx_integration]` (the legacy [spylnx_integration] spelling is folded in by the loader).
struct SplynxConfig {
  bool enabled = false;
  std::string apiKey;
  std::string apiSecret;
  std::string url;
  std::string strategy = "ap_site";  ///< topology.compile_mode wins
};

/// One `[sonar_integration] recurring_service_rates` entry: a RECURRING service whose name
/// matches `serviceName` (case-folded) gives the account this plan when it has no DATA service.
struct RecurringServiceRate {
  bool enabled = true;
  std::string serviceName;
  double downloadMbps = 0;
  double uploadMbps = 0;
};

/// `[sonar_integration]`.
struct SonarConfig {
  bool enabled = false;
  std::string apiUrl;  ///< sonar_api_url
  std::string apiKey;  ///< sonar_api_key
  std::string snmpCommunity = "public";
  std::vector<std::string> airmaxModelIds;
  std::vector<std::string> ltuModelIds;
  std::vector<std::string> activeStatusIds;  ///< empty = ask Sonar for the activating statuses
  std::vector<RecurringServiceRate> recurringServiceRates;
  std::vector<std::string> recurringExcludedServiceNames;
};

struct IntegrationConfig {
  IntegrationCommonConfig common;
  std::optional<CompileMode> compileMode;  ///< [topology] compile_mode, when set
  UispConfig uisp;
  SplynxConfig splynx;
  SonarConfig sonar;
};

/// Reads the integration sections of `config` (absent sections and keys take the defaults).
/// Errors: EINVAL naming the key and its value, e.g. "uisp_integration.suspended_strategy =
/// \"pause\": expected \"\", \"none\", \"ignore\" or \"slow\"", for a value the schema lets
/// through but LibreQoS refuses or Sluice cannot use: an unknown strategy / compile_mode /
/// suspended_strategy, airmax_flexible_frame_download_ratio outside (0, 1),
/// ethernet_port_limit_multiplier outside (0, 1], a malformed exception_cpes or
/// recurring_service_rates entry.
Result<IntegrationConfig> parseIntegrationConfig(const config::Config& config);

/// The compile mode of an integration: topology.compile_mode, else the integration's own
/// `strategy` key (non-empty), else `fallback` (LibreQoS: full for UISP and Sonar, ap_site for
/// Splynx). Errors: EINVAL when the strategy names no mode, naming `strategyKey` (e.g.
/// "uisp_integration.strategy").
Result<CompileMode> resolveCompileMode(const IntegrationConfig& integrations,
                                       std::string_view strategy, std::string_view strategyKey,
                                       CompileMode fallback);

/// GraphOptions from [queues], [ip_ranges] and [integration_common]; the vendor-only fields
/// (excludeNames, parentExceptions, commitMultiplier, minimumRateMbps) keep their defaults for
/// the vendor's code to set. Subnets were checked by the config loader; one that does not parse
/// is skipped.
GraphOptions commonGraphOptions(const config::Config& config,
                                const IntegrationConfig& integrations);

}  // namespace sluice::integrations
