#pragma once
// An IPv4 or IPv6 prefix in the one 128-bit form the data plane's LPM trie uses: IPv4 is stored
// v4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) with its prefix length + 96.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

struct IpNet {
  std::array<uint8_t, 16> addr{};  ///< network byte order; host bits beyond prefixLen are zero
  uint8_t prefixLen = 128;         ///< 0..128 in the 128-bit space (IPv4 /24 is stored as 120)
  bool isV4 = false;               ///< written as IPv4 (v4-mapped inside)

  /// Parses "a.b.c.d", "a.b.c.d/n", "x:y::z" or "x:y::z/n". Host bits set beyond the prefix are
  /// an error (returns nullopt, as does any other malformed text); so is a v4-mapped IPv6 text.
  static std::optional<IpNet> parse(std::string_view text);

  /// Prefix length as the operator wrote it (IPv4: 0..32, IPv6: 0..128).
  uint8_t userPrefixLen() const { return isV4 ? prefixLen - 96 : prefixLen; }

  /// "10.0.0.0/24", "10.0.0.1" (host addresses without /32 or /128), "2001:db8::/48".
  std::string toString() const;

  /// True when `other` lies inside this prefix (or they are equal).
  bool contains(const IpNet& other) const;
  /// True when the two prefixes share any address (one contains the other).
  bool overlaps(const IpNet& other) const { return contains(other) || other.contains(*this); }

  auto operator<=>(const IpNet&) const = default;
};

}  // namespace sluice
