#pragma once
// The [radius] section of lqos.conf (docs/radius.md), read through config::OtherSection. LibreQoS's
// names are accepted too and read first, so that [radius] overrides them key by key:
//
//   [radius_accounting] enabled, listen = "addr:port", default_ttl_seconds, stale_grace_seconds,
//     [[radius_accounting.clients]], [radius_accounting.fallback_speed_profile],
//     [radius_accounting.dynamic_circuit_application] match_shaped_devices_by_mac,
//     match_shaped_devices_by_username, fallback_parent_node
//   [dynamic_circuits] ranges = [{name, ip_range, attach_to, download/upload_min/max_mbps}]:
//     an address in a range goes under `attach_to` and gets the range's rates when the session
//     carries none and no ShapedDevices row matches.
//
// Knows nothing of sockets or the daemon; the result feeds radius::Server and CircuitMapping.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"
#include "config/Config.h"
#include "radius/Clients.h"
#include "radius/Server.h"

namespace sluice::radius {

/// Rates in Mbit/s as ShapedDevices.csv has them: min = HTB rate, max = HTB ceil.
struct SpeedProfile {
  double downloadMinMbps = 0;
  double uploadMinMbps = 0;
  double downloadMaxMbps = 0;
  double uploadMaxMbps = 0;
  bool operator==(const SpeedProfile&) const = default;
};

/// One parent mapping: a session whose NAS identity equals `nas`, whose NAS-Port-Id carries VLAN
/// `vlan`, or one of whose addresses lies in `range`, goes under `node`. First match wins.
struct ParentRule {
  enum class Kind : uint8_t { Nas, Vlan, Range };
  Kind kind = Kind::Nas;
  std::string nas;
  uint32_t vlan = 0;
  IpNet range;
  std::string node;
  std::string name;                   ///< [dynamic_circuits] range name, for messages
  std::optional<SpeedProfile> speed;  ///< [dynamic_circuits] range rates (Range rules only)
  std::string describe() const;       ///< "nas BNG-1", "vlan 100", "range 100.64.0.0/10"
};

struct RadiusSettings {
  bool enabled = false;
  ServerConfig server;  ///< listen address, ports, replay, duplicates, TTLs, MikroTik swap
  std::vector<ClientConfig> clients;
  bool matchByMac = true;       ///< Calling-Station-Id / MAC-like User-Name -> a device's MAC
  bool matchByUserName = true;  ///< User-Name -> a circuit's ID or name
  std::optional<SpeedProfile> fallbackSpeed;
  std::optional<std::string> fallbackParentNode;
  std::vector<ParentRule> parents;
  /// A session's HTB rate (min) as a percentage of the rate it carries (its ceil).
  double minRatePercent = 100;
  /// Events are collected for this long after the first of a batch, then applied in one overlay
  /// change (one plan): a burst of sessions costs a few plans, not one each.
  uint32_t batchWindowMs = 50;
  /// Where sessions are saved ("" = <state directory>/radius/sessions.json).
  std::string sessionsFile;
  /// Sections that were present ("radius", "radius_accounting", "dynamic_circuits").
  std::vector<std::string> sections;
};

/// Reads the settings. Errors (EINVAL, context "<configPath>", detail naming section, key and
/// value): listen not an address[:port], a port 0 or above 65535, a client without name, source
/// or secret_file, a parent rule without node or with none (or more than one) of nas/vlan/range,
/// a range that is not a CIDR, a speed profile with a rate <= 0 or min > max, min_rate_percent
/// outside (0, 100], enabled with no client.
Result<RadiusSettings> readRadiusSettings(const config::Config& config,
                                          const std::string& configPath);

/// "addr", "addr:port", "[v6]:port" or a bare IPv6 literal into {address, port}; the port stays
/// `port` when not given. EINVAL naming the text.
Result<std::pair<std::string, uint16_t>> parseListen(const std::string& text, uint16_t port);

}  // namespace sluice::radius
