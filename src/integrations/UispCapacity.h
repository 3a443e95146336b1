#pragma once
// How much a UISP device carries, by LibreQoS's rules (uisp_integration
// src/uisp_types/uisp_device.rs; reference §1.2 "Device capacity"). All rates in Mbps.

#include <optional>
#include <string_view>

#include "integrations/IntegrationConfig.h"
#include "integrations/UispData.h"

namespace sluice::integrations::uisp {

struct Capacity {
  double downloadMbps = 0;
  double uploadMbps = 0;
  /// The Ethernet transport cap that lowered the radio's figures (0 = none applied).
  double transportCapMbps = 0;
};

/// Inputs of deviceCapacity() besides the device.
struct CapacityRules {
  double generatedDownloadMbps = 1000;  ///< queues.generated_pn_download_mbps: the fallback
  double generatedUploadMbps = 1000;
  double airmaxCapacity = 1.0;          ///< uisp_integration.airmax_capacity
  double airmaxDownloadRatio = 0.8;     ///< uisp_integration.airmax_flexible_frame_download_ratio
  double ltuCapacity = 1.0;             ///< uisp_integration.ltu_capacity
  bool transportCaps = true;            ///< uisp_integration.infrastructure_transport_caps_enabled
  double ethernetMultiplier = 0.94;     ///< integration_common.ethernet_port_limit_multiplier
};

/// The device's capacity:
///  1. an airMax flexible-frame AP (type "airMax", role "ap", wirelessMode "ap-ptmp", and a
///     dlRatio on an active wireless interface or theoreticalTotalCapacity > 0): total =
///     (totalCapacity, else max(downlink, uplink)) / 1e6 × airmaxCapacity, split by the active
///     interface's dlRatio (< 1 as is, 1..100 as a percentage) or airmaxDownloadRatio, each
///     side rounded;
///  2. otherwise downlink/uplinkCapacity / 1e6 (whole Mbps, rounded down), × airmaxCapacity
///     when the model contains "5AC", × ltuCapacity when it contains "LTU" (rounded down);
///  then 0 becomes the generated default;
///  3. with transportCaps, both directions at most round(line rate × ethernetMultiplier), the
///     line rate being the fastest negotiated eth/sfp/fiber port (transportLineRateMbps), else
///     the model's port ceiling (AF60-LR: 1000).
Capacity deviceCapacity(const Device& device, const CapacityRules& rules);

/// The fastest negotiated speed of the device's transport (eth, ethernet, sfp, sfp+, fiber,
/// optical; or an unnamed type whose interface name starts eth/sfp/fiber) ports: currentSpeed,
/// or speed when status is connected/up/active. nullopt when none reports one.
std::optional<double> transportLineRateMbps(const Device& device);

/// The slowest negotiated speed among the device's non-wireless ports (the subscriber's
/// Ethernet observation that caps a circuit, Graph.h GraphNode::ethernetMbps); nullopt when
/// none reports one.
std::optional<double> subscriberEthernetMbps(const Device& device);

/// "1000-full" -> 1000, "100Mbps-Full" -> 100, "1Gbps" / "2.5G" -> 1000 / 2500; nullopt for
/// "", "auto", "unknown", 0.
std::optional<double> parseSpeedMbps(std::string_view text);

}  // namespace sluice::integrations::uisp
