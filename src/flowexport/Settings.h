#pragma once
// The [flows] section of lqos.conf, read for the flow exporter (docs/flows.md).
//
// LibreQoS's keys: flow_timeout_seconds (30), netflow_enabled (false), netflow_ip,
// netflow_port, netflow_version (5 | 9; Sluice also takes 10 = IPFIX), do_not_track_subnets
// (validated by the config loader, not used by the exporter). Unlike LibreQoS, netflow_enabled
// is honoured: nothing is exported unless it is true.
// Sluice's additions: netflow_collectors = ["HOST:PORT", "[V6]:PORT/VERSION", ...] (more
// collectors; an entry without /VERSION uses netflow_version), active_timeout_seconds (60),
// template_refresh_seconds (60), observation_domain_id (0).

#include <cstdint>
#include <string>
#include <vector>

#include "common/Error.h"
#include "config/Config.h"
#include "flowexport/TemplateEncoder.h"

namespace sluice::flowexport {

struct CollectorAddress {
  std::string host;  ///< an IPv4 or IPv6 literal, as written (without brackets)
  uint16_t port = 0;
  WireFormat format = WireFormat::kNetflowV9;
  /// "HOST:PORT" ("[V6]:PORT"), the label /metrics uses.
  std::string label() const;
};

struct FlowSettings {
  bool enabled = false;  ///< netflow_enabled, and at least one collector
  uint32_t flowTimeoutSeconds = 30;
  uint32_t activeTimeoutSeconds = 60;
  uint32_t templateRefreshSeconds = 60;
  uint32_t observationDomainId = 0;
  std::vector<CollectorAddress> collectors;  ///< netflow_ip:netflow_port first, then the list
};

/// Reads [flows] of `config`. `configPath` is the file the config came from; errors name it,
/// the key's line in it (when the file still has the key) and the value: EINVAL
/// "PATH:LINE: flows.KEY = VALUE: EXPECTED" for a netflow_version other than 5, 9 or 10, an
/// address that is not an IP literal, a port of 0, a malformed netflow_collectors entry,
/// timeouts of 0, or netflow_enabled = true without any collector.
Result<FlowSettings> readFlowSettings(const config::Config& config, const std::string& configPath);

/// Parses one netflow_collectors entry ("192.0.2.1:2055", "[2001:db8::1]:4739/10"); the
/// version defaults to `defaultFormat`. Errors: EINVAL naming what is wrong.
Result<CollectorAddress> parseCollector(const std::string& text, WireFormat defaultFormat);

/// 5, 9 or 10 as a WireFormat; EINVAL otherwise.
Result<WireFormat> formatFromVersion(int64_t version);

}  // namespace sluice::flowexport
