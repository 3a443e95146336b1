#pragma once
// Address and MAC allocators for synthetic ISPs. Every allocation is new: no address repeats and
// no prefix overlaps another, in any number of calls up to the pools' capacity.

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::synth {

/// IPv4 allocator over an ordered list of pools (100.64.0.0/10, then 10.0.0.0/8). Host addresses
/// (/32) grow upward from the start of the current pool and skip .0 and .255; CIDR blocks are
/// aligned and grow downward from its end, so the two never meet.
class Ipv4Allocator {
 public:
  Ipv4Allocator();

  /// The next free host address as text ("100.64.0.1"). Throws std::length_error when every pool
  /// is used up.
  std::string host();

  /// The next free aligned block of prefix length `prefixLen` (24..31) as "a.b.c.d/n".
  std::string block(uint32_t prefixLen);

 private:
  struct Pool {
    uint32_t first;  ///< first address of the pool
    uint32_t end;    ///< one past the last address (0 = 2^32 never happens for our pools)
    uint32_t nextHost;
    uint32_t blockFloor;  ///< lowest address already handed out as a block
  };
  Pool& current(uint32_t size);
  std::vector<Pool> pools_;
  size_t index_ = 0;
};

/// IPv6 allocator inside 2001:db8::/32: /56 delegations from the lower half (2001:db8:0::/33),
/// /64 prefixes from the upper half (2001:db8:8000::/33).
class Ipv6Allocator {
 public:
  /// The next /56, e.g. "2001:db8:0:100::/56".
  std::string prefix56();
  /// The next /64, e.g. "2001:db8:8000:1::/64".
  std::string prefix64();

 private:
  uint32_t next56_ = 1;
  uint32_t next64_ = 1;
};

/// A MAC address for the `index`-th device, under the OUI number `oui` (any value; wraps over a
/// list of access-equipment vendors). The low 24 bits are a bijection of `index`, so MACs are
/// unique for up to 2^24 devices.
std::string macAddress(uint64_t index, uint64_t oui);

/// Text of an IPv4 address given in host byte order.
std::string formatIpv4(uint32_t address);

}  // namespace sluice::synth
