#pragma once
// Typed view of the attributes Sluice reads from Accounting-, CoA- and Disconnect-Requests
// (RFC 2865 §5, RFC 2866 §5, RFC 3162, RFC 4818, RFC 6911, RFC 5176 §3.5) and the vendor rate
// attributes: MikroTik-Rate-Limit (vendor 14988, type 8; RouterOS "RADIUS" manual, string
// "rx-rate[/tx-rate] [rx-burst/tx-burst ...]", rates in bit/s with k/M/G = 10^3/10^6/10^9) and
// WISPr-Bandwidth-Max-Up/Down (vendor 14122, types 7/8; Wi-Fi Alliance WISPr 1.0, integer bit/s).
// Nothing here guesses: a value that cannot be read is listed in `problems`, never replaced.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"
#include "radius/Packet.h"

namespace sluice::radius {

inline constexpr uint32_t kVendorMikrotik = 14988;  ///< IANA enterprise number, MikroTik
inline constexpr uint8_t kMikrotikRateLimit = 8;
inline constexpr uint32_t kVendorWispr = 14122;  ///< IANA enterprise number, WISPr
inline constexpr uint8_t kWisprBandwidthMaxUp = 7;
inline constexpr uint8_t kWisprBandwidthMaxDown = 8;

/// Acct-Status-Type values (RFC 2866 §5.1).
enum class AcctStatus : uint32_t {
  Start = 1,
  Stop = 2,
  InterimUpdate = 3,
  AccountingOn = 7,
  AccountingOff = 8
};

/// Subscriber rates from the subscriber's side: download = towards the subscriber.
struct Rates {
  uint64_t downloadBps = 0;
  uint64_t uploadBps = 0;
  std::optional<uint64_t> downloadBurstBps;  ///< MikroTik burst rate, when given
  std::optional<uint64_t> uploadBurstBps;
  std::string source;  ///< "MikroTik-Rate-Limit" or "WISPr-Bandwidth-Max"
  bool operator==(const Rates&) const = default;
};

struct DecodeOptions {
  /// MikroTik's rx is what the NAS receives from the subscriber (upload) and tx what it sends
  /// (download). Set when a NAS is configured the other way round.
  bool mikrotikRxIsDownload = false;
};

struct RequestInfo {
  std::optional<std::string> userName, nasIdentifier, acctSessionId, callingStationId;
  /// NAS-Port-Id (RFC 2869 §5.17): free text; BNGs put the access VLAN in it ("ether1:100",
  /// "vlan100", "0/1/0/100:100.200"); see radius/CircuitMapping.h for how a VLAN is read.
  std::optional<std::string> nasPortId;
  std::optional<IpNet> nasIpAddress, nasIpv6Address;
  /// Framed-IP-Address (/32), Framed-Route prefixes, Framed-IPv6-Prefix, Delegated-IPv6-Prefix,
  /// Framed-IPv6-Address (/128), in packet order.
  std::vector<IpNet> addresses;
  std::vector<std::vector<uint8_t>> classes;  ///< Class values, opaque (RFC 2865 §5.25)
  std::optional<uint32_t> acctStatusType;     ///< raw value; see AcctStatus
  std::optional<uint32_t> eventTimestamp;     ///< seconds since 1970-01-01 UTC (RFC 2869 §5.3)
  std::optional<uint32_t> errorCause;         ///< RFC 5176 §3.5
  std::optional<Rates> rates;                 ///< MikroTik-Rate-Limit, else both WISPr values
  std::vector<std::string> problems;          ///< "Framed-Route: cannot read 'x'" and the like

  /// NAS-Identifier, else NAS-IP-Address, else NAS-IPv6-Address as text; nullopt when none.
  std::optional<std::string> nasIdentity() const;
};

/// Decodes the attributes above from `packet`; unknown attributes are ignored.
RequestInfo decode(const Packet& packet, const DecodeOptions& options = {});

/// One MikroTik rate: "512k", "10M", "1G", "1000000" (bit/s; k/K, M/m, G/g decimal).
/// Errors (EINVAL) name the text.
Result<uint64_t> parseMikrotikRate(std::string_view text);

/// The whole MikroTik-Rate-Limit string: the first token must be "rx/tx" (both rates given; a
/// lone rate is refused rather than guessed); an optional second token "rx-burst/tx-burst" fills
/// the burst rates. Later tokens (thresholds, times, priority, minimums) are not used.
Result<Rates> parseMikrotikRateLimit(std::string_view text, const DecodeOptions& options = {});

}  // namespace sluice::radius
