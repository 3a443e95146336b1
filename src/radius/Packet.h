#pragma once
// The RADIUS wire format (RFC 2865 §3 packet, §5 attributes) and the authenticators a server
// checks and writes for accounting (RFC 2866 §3) and dynamic authorization (RFC 5176 §2.3,
// §3.1), plus Message-Authenticator (RFC 3579 §3.2, HMAC-MD5). Pure functions on bytes; no
// sockets, no dictionaries. Why our own codec and not radcli/libfreeradius: docs/decisions.md.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Code      |  Identifier   |            Length             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Authenticator (16 octets)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Type  | Length (2+n) |  Value (n octets) ...   (repeated)
//   Vendor-Specific (type 26) value: Vendor-Id (4, network order) then, for the vendors we read
//   (RFC 2865 §5.26's suggested format), Vendor-Type (1) | Vendor-Length (2+n) | Value.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"

namespace sluice::radius {

/// Packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3).
enum class Code : uint8_t {
  AccessRequest = 1,
  AccountingRequest = 4,
  AccountingResponse = 5,
  DisconnectRequest = 40,
  DisconnectAck = 41,
  DisconnectNak = 42,
  CoaRequest = 43,
  CoaAck = 44,
  CoaNak = 45,
};

/// Attribute types this module reads or writes (IANA RADIUS Types registry).
namespace attr {
inline constexpr uint8_t kUserName = 1, kNasIpAddress = 4, kFramedIpAddress = 8, kFramedRoute = 22,
                         kClass = 25, kVendorSpecific = 26, kCallingStationId = 31,
                         kNasIdentifier = 32, kAcctStatusType = 40, kAcctSessionId = 44,
                         kEventTimestamp = 55, kMessageAuthenticator = 80, kNasPortId = 87,
                         kNasIpv6Address = 95,
                         kFramedIpv6Prefix = 97, kErrorCause = 101, kDelegatedIpv6Prefix = 123,
                         kFramedIpv6Address = 168;
}  // namespace attr

inline constexpr size_t kHeaderBytes = 20;       ///< RFC 2865 §3: Code+Id+Length+Authenticator
inline constexpr size_t kMaxPacketBytes = 4096;  ///< RFC 2865 §3 maximum Length

using Authenticator = std::array<uint8_t, 16>;

struct Attribute {
  uint8_t type = 0;
  std::vector<uint8_t> value;  ///< 0..253 octets
};

struct Packet {
  Code code = Code::AccountingRequest;
  uint8_t identifier = 0;
  Authenticator authenticator{};
  std::vector<Attribute> attributes;

  /// First attribute of `type`, or nullptr.
  const Attribute* find(uint8_t type) const;
  /// Value of the first Vendor-Specific attribute of (vendorId, vendorType), or nullopt. Only the
  /// RFC 2865 §5.26 one-octet type / one-octet length sub-format is read.
  std::optional<std::vector<uint8_t>> findVendor(uint32_t vendorId, uint8_t vendorType) const;
};

/// Parses a datagram. Errors (EBADMSG, context "radius packet") for: fewer than 20 octets, a
/// Length field below 20, above 4096 or above the datagram (octets beyond Length are padding and
/// ignored, RFC 2865 §3), an attribute with length < 2 or running past Length.
Result<Packet> parse(std::span<const uint8_t> datagram);

/// Encodes header and attributes as given (authenticator copied verbatim). Errors (EMSGSIZE) when
/// an attribute value exceeds 253 octets or the packet exceeds 4096 octets.
Result<std::vector<uint8_t>> encode(const Packet& packet);

/// True when `datagram` (exactly Length octets) carries a valid Request Authenticator for an
/// Accounting-Request, CoA-Request or Disconnect-Request: MD5(Code+Identifier+Length+16 zero
/// octets+Attributes+Secret) (RFC 2866 §3, RFC 5176 §2.3). Constant-time comparison.
bool verifyRequestAuthenticator(std::span<const uint8_t> datagram, std::string_view secret);

/// Message-Authenticator check (RFC 3579 §3.2; for these request codes the authenticator field
/// is taken as 16 zero octets, RFC 5176 §3.1): returns nullopt when the attribute is absent,
/// true/false when present and (in)valid. A present attribute whose length is not 18 is invalid.
std::optional<bool> verifyMessageAuthenticator(std::span<const uint8_t> datagram,
                                               std::string_view secret);

/// Fills in a request's Request Authenticator (and a Message-Authenticator attribute's value when
/// the packet carries one) so a peer with `secret` accepts it. For tests and tools.
Result<std::vector<uint8_t>> encodeRequest(Packet packet, std::string_view secret);

/// Encodes a response (Accounting-Response, CoA/Disconnect-ACK/NAK) with its Response
/// Authenticator MD5(Code+Identifier+Length+Request Authenticator+Attributes+Secret)
/// (RFC 2865 §3, RFC 2866 §4, RFC 5176 §2.3).
Result<std::vector<uint8_t>> encodeResponse(Packet response, const Authenticator& requestAuth,
                                            std::string_view secret);

/// Attribute value helpers: network-order 32-bit integer (nullopt unless exactly 4 octets).
std::optional<uint32_t> asUint32(const std::vector<uint8_t>& value);
std::vector<uint8_t> fromUint32(uint32_t v);
std::vector<uint8_t> fromString(std::string_view s);

}  // namespace sluice::radius
