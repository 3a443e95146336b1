#pragma once
// Which CPE hangs off which AP, asked of the APs themselves over SNMP (Sonar records sites and
// APs but not the radio association). Each AP's station table is walked and the MACs found
// there are matched against the accounts' device MACs. LibreQoS runs the `snmpwalk` program
// (SNMP v1, 30 threads; integrationSonar.py); Sluice calls net-snmp's library (single-session
// API, one session per AP, so the polls run in parallel threads without a shell or a process
// per AP).
//
// OIDs (Ubiquiti enterprise 41112, as LibreQoS walks them):
//   AirMax station MACs  .1.3.6.1.4.1.41112.1.4.7.1.1.1   (UBNT-AirMAX-MIB ubntStaMac)
//   LTU station MACs     .1.3.6.1.4.1.41112.1.10.1.4.1.11  (UBNT-AFLTU-MIB station table)
//   sysName              .1.3.6.1.2.1.1.5                  (RFC 3418 SNMPv2-MIB; names the AP)

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "integrations/SonarApi.h"

namespace sluice::integrations {

inline constexpr std::string_view kAirMaxStationMacOid = ".1.3.6.1.4.1.41112.1.4.7.1.1.1";
inline constexpr std::string_view kLtuStationMacOid = ".1.3.6.1.4.1.41112.1.10.1.4.1.11";
inline constexpr std::string_view kSysNameOid = ".1.3.6.1.2.1.1.5";

/// One variable of a walk.
struct SnmpVar {
  std::string oid;    ///< numeric, dotted, with a leading dot
  std::string value;  ///< OCTET STRING: the raw bytes; other types: their text form
  bool octets = false;
};

/// Walks one subtree of one agent. Implementations must allow concurrent walk() calls.
class SnmpWalker {
 public:
  virtual ~SnmpWalker() = default;
  /// Every variable under `rootOid` (numeric, dotted) at `agent` ("192.0.2.1", "host:port" or
  /// any net-snmp peer name such as "udp:127.0.0.1:1161"), in OID order. An empty subtree is an
  /// empty vector. Errors: ETIMEDOUT when the agent does not answer (v1/v2c agents stay silent
  /// on a wrong community, so that is a timeout too); EIO for other failures (net-snmp's
  /// message in the detail); EPROTO if the agent returns OIDs out of order.
  virtual Result<std::vector<SnmpVar>> walk(const std::string& agent, const std::string& community,
                                            std::string_view rootOid) = 0;
};

struct SnmpOptions {
  long version = 0;         ///< 0 = SNMP v1 (as LibreQoS), 1 = v2c (net-snmp's SNMP_VERSION_*)
  long timeoutMs = 1000;    ///< per request
  int retries = 2;          ///< per request
  size_t maxVariables = 100'000;  ///< a bound on one walk
};

/// The net-snmp implementation (libnetsnmp, Debian libsnmp-dev).
class NetSnmpWalker : public SnmpWalker {
 public:
  explicit NetSnmpWalker(SnmpOptions options = {});
  Result<std::vector<SnmpVar>> walk(const std::string& agent, const std::string& community,
                                    std::string_view rootOid) override;

 private:
  SnmpOptions options_;
};

/// "aa:bb:cc:dd:ee:ff" from a MAC as devices and CRMs write it in text: with ':', '-', ' ' or
/// '.' separators or none ("AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "aabbccddeeff"); "" if it is
/// not one.
std::string normalizeMac(std::string_view text);

/// The normalised MACs among the values of a station-table walk: a 6-byte OCTET STRING (SNMP's
/// MacAddress) or a MAC in text; other values are skipped.
std::vector<std::string> stationMacs(const std::vector<SnmpVar>& walk);

/// What one AP told us.
struct ApPoll {
  std::string name;                   ///< sysName ("" when unknown)
  std::vector<std::string> cpeMacs;   ///< normalised
  std::string error;                  ///< why the AP could not be read ("" = fine)
};

/// Polls every AP (the station table of its model family, then sysName when it has stations)
/// with up to `threads` walks at once. An AP whose model is in neither list, or that cannot be
/// reached, gets an `error` and no MACs. Result i belongs to aps[i].
std::vector<ApPoll> pollAccessPoints(SnmpWalker& walker, const std::vector<SonarAccessPoint>& aps,
                                     const std::string& community,
                                     const std::vector<std::string>& airmaxModelIds,
                                     const std::vector<std::string>& ltuModelIds,
                                     size_t threads = 16);

}  // namespace sluice::integrations
