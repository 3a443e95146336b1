#pragma once
// lqos.conf-compatible configuration (LibreQoS 2.x TOML layout), as a plain value.
// Field defaults match LibreQoS's defaults. Sluice's own additions live in `[sluice]`.
// Loading and validation: config/ConfigLoader.h.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::config {

/// `[bridge]`: two interfaces, download shaped on egress of `toNetwork` (subscriber-facing),
/// upload on egress of `toInternet`.
struct BridgeConfig {
  bool useXdpBridge = true;
  std::string toInternet = "eth0";
  std::string toNetwork = "eth1";
};

/// `[single_interface]`: "on a stick", one interface carrying two VLANs.
struct SingleInterfaceConfig {
  std::string interface = "eth0";
  uint16_t internetVlan = 2;
  uint16_t networkVlan = 3;
};

enum class QueueMode : uint8_t { Shape, Observe };
enum class LazyQueues : uint8_t { No, Htb, Full };

/// `[queues]`.
struct QueuesConfig {
  std::string defaultSqm = "cake diffserv4";  ///< leaf qdisc text as LibreQoS writes it
  bool monitorOnly = false;
  QueueMode queueMode = QueueMode::Shape;
  double uplinkBandwidthMbps = 1000;
  double downlinkBandwidthMbps = 1000;
  double generatedPnDownloadMbps = 1000;
  double generatedPnUploadMbps = 1000;
  bool dryRun = false;
  bool sudo = false;
  std::optional<uint32_t> overrideAvailableQueues;
  bool useBinpacking = false;
  LazyQueues lazyQueues = LazyQueues::No;
  uint32_t lazyExpireSeconds = 600;
  /// Circuits whose max rate is at least this many Mbps get fq_codel instead of CAKE.
  std::optional<double> fastQueuesFqCodel;
};

/// `[ip_ranges]`.
struct IpRangesConfig {
  std::vector<std::string> ignoreSubnets;
  std::vector<std::string> allowSubnets;
  bool unknownIpHonorsIgnore = true;
  bool unknownIpHonorsAllow = true;
};

/// `[sluice]`: Sluice's own settings (not in LibreQoS).
struct SluiceConfig {
  std::string networkJson;        ///< default: <lqos_directory>/network.json
  std::string shapedDevicesCsv;   ///< default: <lqos_directory>/ShapedDevices.csv
  std::string stateDirectory = "/var/lib/sluice";
  /// Leaf qdisc kind to use when the kernel lacks the configured one ("" = refuse to start).
  std::string leafFallback;
  std::string controlSocket = "/run/sluice/sluiced.sock";
  std::string webserverListen = "127.0.0.1:9123";
};

struct Config {
  std::string version = "1.5";
  std::string lqosDirectory = "/opt/libreqos/src";
  std::string nodeId;
  std::string nodeName = "LibreQoS";
  std::optional<BridgeConfig> bridge;               ///< exactly one of bridge /
  std::optional<SingleInterfaceConfig> singleInterface;  ///< single_interface is set
  QueuesConfig queues;
  IpRangesConfig ipRanges;
  SluiceConfig sluice;
  /// Sections Sluice parses and validates but does not act on yet ([integration_common],
  /// [stormguard], [treeguard], [*_integration], ...), kept as flat "key = value" text.
  std::map<std::string, std::map<std::string, std::string>> otherSections;

  bool onAStick() const { return singleInterface.has_value(); }
};

}  // namespace sluice::config
