#pragma once
// lqos.conf-compatible configuration (LibreQoS 2.x TOML layout), as a plain value.
// Field defaults match LibreQoS's defaults. Sluice's own additions live in `[sluice]`.
// Loading and validation: config/ConfigLoader.h.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "planner/QueuePlan.h"

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
  std::optional<uint32_t> overrideAvailableQueues;  ///< 0 in the file means unset (LibreQoS)
  bool useBinpacking = false;
  LazyQueues lazyQueues = LazyQueues::No;
  uint32_t lazyExpireSeconds = 600;
  /// Lazy queues: bytes a circuit must have sent before its queues are built (unset = any).
  std::optional<uint64_t> lazyThresholdBytes;
  /// Circuits whose max rate is at least this many Mbps get fq_codel instead of CAKE.
  std::optional<double> fastQueuesFqCodel;
};

/// `[ip_ranges]`.
/// Subnets are kept as the operator wrote them; the loader has checked that each one parses as
/// an IpNet (address or CIDR, no host bits set). LibreQoS's default allow list is the private and
/// CGNAT ranges.
struct IpRangesConfig {
  std::vector<std::string> ignoreSubnets;
  std::vector<std::string> allowSubnets = {"172.16.0.0/12", "10.0.0.0/8", "100.64.0.0/10",
                                           "192.168.0.0/16"};
  bool unknownIpHonorsIgnore = true;
  bool unknownIpHonorsAllow = true;
};

/// `[sluice]`: Sluice's own settings (not in LibreQoS).
struct SluiceConfig {
  std::string networkJson;       ///< default: <lqos_directory>/network.json
  std::string shapedDevicesCsv;  ///< default: <lqos_directory>/ShapedDevices.csv
  std::string stateDirectory = "/var/lib/sluice";
  /// Leaf qdisc kind to use when the kernel lacks the configured one ("" = refuse to start).
  std::string leafFallback;
  std::string controlSocket = "/run/sluice/sluiced.sock";
  std::string webserverListen = "127.0.0.1:9123";
  /// Built web UI assets served at "/" ("" = the build's web/ directory for a sluiced run from
  /// its build tree, else /usr/share/sluice/web, where the .deb installs them).
  std::string webRoot;
  /// Users and API keys of the operator API ("" = <state_directory>/users.json).
  std::string usersFile;
  /// Telemetry history database ("" = <state_directory>/history.sqlite).
  std::string historyDb;
  /// Bound on the history database's size in bytes (oldest rows are dropped beyond it).
  uint64_t historyMaxBytes = 256ull << 20;
  /// Per-circuit series in /metrics (off by default: one series set per circuit is a lot of
  /// cardinality for a Prometheus server at 10k+ circuits).
  bool metricsPerCircuit = false;
  /// Where live circuit changes from the API are persisted: "" = rewrite ShapedDevices.csv
  /// itself; a path = an overrides CSV (same columns) applied on top of ShapedDevices.csv, which
  /// survives integration runs that regenerate ShapedDevices.csv.
  std::string devicesOverrides;
  /// Built-in TLS for webserver_listen (PEM files); both empty = plain HTTP (use a reverse proxy).
  std::string tlsCertificate;
  std::string tlsPrivateKey;
  /// XDP hands its decision to tc in a metadata block (bpf_xdp_adjust_meta) where the kernel
  /// allows it ("auto"); "off" never tries (a driver that mishandles metadata) and tc repeats the
  /// lookup for every packet.
  bool xdpMetadataOff = false;
  /// A pass-through TBF between each mq class and its HTB qdisc ("tbf"), so that rebuilds and
  /// queue changes graft without deactivating the device (0 packets lost, ~120 ns more per
  /// packet; planner/QueuePlan.h HolderKind); "none" puts HTB directly under mq.
  bool queueHolderTbf = false;
};

/// `[ha]`: one shaper of an active/backup pair steered by routing (docs/ha.md). Sluice's own.
enum class FailMode : uint8_t {
  Open,    ///< a broken data plane passes traffic unshaped (bypass) and drops readiness
  Closed,  ///< a broken data plane stops forwarding
};
struct HaConfig {
  std::string role;  ///< "primary" | "backup" | "" (shown by `sluice ha compare|check`)
  FailMode failMode = FailMode::Open;
  /// Routing hook: argv vectors run in order without a shell (ha/RoutingHook.h). In the file
  /// either one argv (["vtysh", "-c", "..."]) or an array of argvs.
  std::vector<std::vector<std::string>> drainCommand;
  std::vector<std::vector<std::string>> restoreCommand;
  uint32_t hookTimeoutSeconds = 10;  ///< per command; the command's process group is killed then
  uint32_t holdDownSeconds = 30;     ///< ready this long without a break before restore runs
  uint32_t startGraceSeconds = 60;   ///< a starting daemon's unreadiness is not acted on this long
  uint32_t maxInputAgeSeconds = 0;   ///< readiness needs inputs at most this old (0 = any age)
  std::string peer;  ///< the peer's operator API URL (`sluice ha compare|check` default)
  /// Where the last failover drill is recorded ("" = <state_directory>/ha-drill.json).
  std::string drillRecord;
};

struct Config {
  std::string version = "1.5";
  std::string lqosDirectory = "/opt/libreqos/src";
  std::string nodeId;
  std::string nodeName = "LibreQoS";
  uint32_t packetCaptureTimeSeconds = 10;                ///< packet_capture_time
  uint64_t queueCheckPeriodMs = 1000;                    ///< queue_check_period_ms
  std::optional<BridgeConfig> bridge;                    ///< exactly one of bridge /
  std::optional<SingleInterfaceConfig> singleInterface;  ///< single_interface is set
  QueuesConfig queues;
  /// `queues.default_sqm` parsed (config/Sqm.h); the leaf every circuit gets unless its
  /// ShapedDevices.csv row or the fast-queue rule says otherwise. Handle major is left 0.
  plan::LeafSpec defaultLeaf;
  IpRangesConfig ipRanges;
  SluiceConfig sluice;
  HaConfig ha;
  /// Sections Sluice parses and validates but does not act on yet ([integration_common],
  /// [stormguard], [treeguard], [*_integration], ...), kept as flat "key = value" text.
  /// Keys of nested tables are joined with '.' (`[treeguard.cpu] mode` is stored as
  /// otherSections["treeguard"]["cpu.mode"]); values are TOML text (`"cpu_aware"`, `[ 1, 2 ]`).
  /// Top-level keys that Config has no field for are stored under the section name "".
  std::map<std::string, std::map<std::string, std::string>> otherSections;

  bool onAStick() const { return singleInterface.has_value(); }
};

}  // namespace sluice::config
