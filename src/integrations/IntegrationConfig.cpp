#include "integrations/IntegrationConfig.h"

#include "config/OtherSection.h"

#include <cerrno>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace sluice::integrations {
namespace {

using Section = config::OtherSection;

Result<IntegrationCommonConfig> readCommon(Section s) {
  IntegrationCommonConfig out;
  s.read("circuit_name_as_address", out.circuitNameAsAddress);
  s.read("always_overwrite_network_json", out.alwaysOverwriteNetworkJson);
  s.read("queue_refresh_interval_mins", out.queueRefreshIntervalMins);
  s.read("use_mikrotik_ipv6", out.useMikrotikIpv6);
  s.read("promote_to_root", out.promoteToRoot);
  s.read("client_bandwidth_multiplier", out.clientBandwidthMultiplier);
  s.read("ethernet_port_limits_enabled", out.ethernetPortLimitsEnabled);
  s.read("ethernet_port_limit_multiplier", out.ethernetPortLimitMultiplier);
  if (!(out.ethernetPortLimitMultiplier > 0 && out.ethernetPortLimitMultiplier <= 1)) {
    return s.invalid("ethernet_port_limit_multiplier", "expected a number in (0, 1]");
  }
  return out;
}

/// One exception_cpes entry: "cpe:parent", {cpe = "..", parent = ".."} or {"cpe" = "parent"}.
std::optional<ParentException> readException(const toml::node& item) {
  if (auto text = item.value<std::string>()) {
    size_t colon = text->find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text->size()) {
      return std::nullopt;
    }
    return ParentException{text->substr(0, colon), text->substr(colon + 1)};
  }
  const toml::table* table = item.as_table();
  if (table == nullptr) {
    return std::nullopt;
  }
  if (table->contains("cpe") || table->contains("parent")) {
    auto cpe = (*table)["cpe"].value<std::string>();
    auto parent = (*table)["parent"].value<std::string>();
    if (!cpe || !parent || cpe->empty() || parent->empty() || table->size() != 2) {
      return std::nullopt;
    }
    return ParentException{*cpe, *parent};
  }
  if (table->size() == 1) {
    auto entry = table->cbegin();
    const std::string_view cpe = entry->first.str();
    if (auto parent = entry->second.value<std::string>(); parent && !parent->empty() && !cpe.empty()) {
      return ParentException{std::string(cpe), *parent};
    }
  }
  return std::nullopt;
}

Result<UispConfig> readUisp(Section s) {
  UispConfig out;
  s.read("enable_uisp", out.enabled);
  s.read("token", out.token);
  s.read("url", out.url);
  s.read("site", out.site);
  s.read("strategy", out.strategy);
  std::string suspended;
  s.read("suspended_strategy", suspended);
  if (suspended.empty() || suspended == "none") {
    out.suspendedStrategy = SuspendedStrategy::None;
  } else if (suspended == "ignore") {
    out.suspendedStrategy = SuspendedStrategy::Ignore;
  } else if (suspended == "slow") {
    out.suspendedStrategy = SuspendedStrategy::Slow;
  } else {
    return s.invalid("suspended_strategy", "expected \"\", \"none\", \"ignore\" or \"slow\"");
  }
  s.read("airmax_capacity", out.airmaxCapacity);
  s.read("airmax_flexible_frame_download_ratio", out.airmaxFlexibleFrameDownloadRatio);
  if (!(out.airmaxFlexibleFrameDownloadRatio > 0 && out.airmaxFlexibleFrameDownloadRatio < 1)) {
    return s.invalid("airmax_flexible_frame_download_ratio", "expected a number in (0, 1)");
  }
  s.read("ltu_capacity", out.ltuCapacity);
  s.read("exclude_sites", out.excludeSites);
  s.read("squash_sites", out.squashSites);
  s.read("do_not_squash_sites", out.doNotSquashSites);
  s.read("ipv6_with_mikrotik", out.ipv6WithMikrotik);
  s.read("bandwidth_overhead_factor", out.bandwidthOverheadFactor);
  s.read("commit_bandwidth_multiplier", out.commitBandwidthMultiplier);
  if (const toml::node* n = s.node("exception_cpes"); n != nullptr && n->is_array()) {
    for (const toml::node& item : *n->as_array()) {
      std::optional<ParentException> entry = readException(item);
      if (!entry) {
        return s.invalid("exception_cpes",
                         "each entry must be \"cpe:parent\", {cpe = \"..\", parent = \"..\"} "
                         "or {\"cpe\" = \"parent\"}");
      }
      out.exceptionCpes.push_back(std::move(*entry));
    }
  }
  s.read("use_ptmp_as_parent", out.usePtmpAsParent);
  s.read("ignore_calculated_capacity", out.ignoreCalculatedCapacity);
  s.read("infrastructure_transport_caps_enabled", out.infrastructureTransportCapsEnabled);
  s.read("insecure_ssl", out.insecureSsl);
  s.read("enable_squashing", out.enableSquashing);
  return out;
}

SplynxConfig readSplynx(Section s) {
  SplynxConfig out;
  s.read("enable_splynx", out.enabled);
  s.read("api_key", out.apiKey);
  s.read("api_secret", out.apiSecret);
  s.read("url", out.url);
  s.read("strategy", out.strategy);
  return out;
}

std::optional<RecurringServiceRate> readRecurringRate(const toml::node& item) {
  const toml::table* table = item.as_table();
  if (table == nullptr) {
    return std::nullopt;
  }
  RecurringServiceRate out;
  out.enabled = (*table)["enabled"].value_or(true);
  auto name = (*table)["service_name"].value<std::string>();
  auto down = (*table)["download_mbps"].value<double>();
  auto up = (*table)["upload_mbps"].value<double>();
  if (!name || name->empty() || !down || !up || *down <= 0 || *up <= 0) {
    return std::nullopt;
  }
  out.serviceName = *name;
  out.downloadMbps = *down;
  out.uploadMbps = *up;
  return out;
}

Result<SonarConfig> readSonar(Section s) {
  SonarConfig out;
  s.read("enable_sonar", out.enabled);
  s.read("sonar_api_url", out.apiUrl);
  s.read("sonar_api_key", out.apiKey);
  s.read("snmp_community", out.snmpCommunity);
  s.read("airmax_model_ids", out.airmaxModelIds);
  s.read("ltu_model_ids", out.ltuModelIds);
  s.read("active_status_ids", out.activeStatusIds);
  s.read("recurring_excluded_service_names", out.recurringExcludedServiceNames);
  if (const toml::node* n = s.node("recurring_service_rates"); n != nullptr && n->is_array()) {
    for (const toml::node& item : *n->as_array()) {
      std::optional<RecurringServiceRate> rate = readRecurringRate(item);
      if (!rate) {
        return s.invalid("recurring_service_rates",
                         "each entry must be {service_name = \"..\", download_mbps = N > 0, "
                         "upload_mbps = N > 0, enabled = true|false (optional)}");
      }
      out.recurringServiceRates.push_back(std::move(*rate));
    }
  }
  return out;
}

}  // namespace

Result<IntegrationConfig> parseIntegrationConfig(const config::Config& config) {
  IntegrationConfig out;
  auto common = readCommon(Section(config, "integration_common"));
  if (!common) {
    return std::unexpected(common.error());
  }
  out.common = std::move(*common);
  Section topology(config, "topology");
  std::string mode;
  topology.read("compile_mode", mode);
  if (!mode.empty()) {
    out.compileMode = parseCompileMode(mode);
    if (!out.compileMode) {
      return topology.invalid("compile_mode",
                              "expected \"flat\", \"ap_only\", \"ap_site\", \"full\" or \"full2\"");
    }
  }
  auto uisp = readUisp(Section(config, "uisp_integration"));
  if (!uisp) {
    return std::unexpected(uisp.error());
  }
  out.uisp = std::move(*uisp);
  out.splynx = readSplynx(Section(config, "splynx_integration"));
  auto sonar = readSonar(Section(config, "sonar_integration"));
  if (!sonar) {
    return std::unexpected(sonar.error());
  }
  out.sonar = std::move(*sonar);
  return out;
}

Result<CompileMode> resolveCompileMode(const IntegrationConfig& integrations,
                                       std::string_view strategy, std::string_view strategyKey,
                                       CompileMode fallback) {
  if (integrations.compileMode) {
    return *integrations.compileMode;
  }
  if (strategy.empty()) {
    return fallback;
  }
  if (auto mode = parseCompileMode(strategy)) {
    return *mode;
  }
  return makeError(EINVAL, "lqos.conf",
                   fmt::format("{} = \"{}\": expected \"flat\", \"ap_only\", \"ap_site\", "
                               "\"full\" or \"full2\"",
                               strategyKey, strategy));
}

GraphOptions commonGraphOptions(const config::Config& config,
                                const IntegrationConfig& integrations) {
  GraphOptions out;
  out.generatedPnDownloadMbps = config.queues.generatedPnDownloadMbps;
  out.generatedPnUploadMbps = config.queues.generatedPnUploadMbps;
  out.downlinkBandwidthMbps = config.queues.downlinkBandwidthMbps;
  out.uplinkBandwidthMbps = config.queues.uplinkBandwidthMbps;
  out.promoteToRoot = integrations.common.promoteToRoot;
  for (const std::string& text : config.ipRanges.ignoreSubnets) {
    if (auto net = IpNet::parse(text)) {
      out.ignoreSubnets.push_back(*net);
    }
  }
  for (const std::string& text : config.ipRanges.allowSubnets) {
    if (auto net = IpNet::parse(text)) {
      out.allowSubnets.push_back(*net);
    }
  }
  out.circuitNameAsAddress = integrations.common.circuitNameAsAddress;
  out.ethernetPortLimitsEnabled = integrations.common.ethernetPortLimitsEnabled;
  out.ethernetPortLimitMultiplier = integrations.common.ethernetPortLimitMultiplier;
  return out;
}

}  // namespace sluice::integrations
