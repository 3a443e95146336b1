#pragma once
// Builders for the RADIUS unit tests: requests signed the way a NAS signs them.

#include <string>
#include <vector>

#include "radius/Packet.h"

namespace sluice::radius::test {

inline Attribute str(uint8_t type, const std::string& s) {
  return {type, fromString(s)};
}
inline Attribute u32(uint8_t type, uint32_t v) {
  return {type, fromUint32(v)};
}
inline Attribute ipv4(uint8_t type, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {type, {a, b, c, d}};
}

/// Vendor-Specific attribute: Vendor-Id | Vendor-Type | Vendor-Length | value (RFC 2865 §5.26).
inline Attribute vsa(uint32_t vendor, uint8_t type, std::vector<uint8_t> value) {
  Attribute a{attr::kVendorSpecific, fromUint32(vendor)};
  a.value.push_back(type);
  a.value.push_back(static_cast<uint8_t>(value.size() + 2));
  a.value.insert(a.value.end(), value.begin(), value.end());
  return a;
}

inline std::vector<uint8_t> signedRequest(Code code, uint8_t id, std::vector<Attribute> attrs,
                                          const std::string& secret) {
  Packet p{code, id, {}, std::move(attrs)};
  return encodeRequest(p, secret).value();
}

}  // namespace sluice::radius::test
