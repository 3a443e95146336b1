#pragma once
// Longest-prefix match of addresses to the circuits of a plan's address map, in user space:
// the lazy-queue tracker and telemetry map every host they read from the data plane to its
// circuit with it (the data plane itself uses its LPM trie).

#include <cstdint>
#include <span>
#include <vector>

#include "common/IpNet.h"
#include "planner/QueuePlan.h"

namespace sluice::plan {

/// Per prefix length present, the prefixes as sorted 64-bit words, probed from the longest
/// length down with a binary search each (a plan has few distinct lengths). 12 bytes a prefix
/// when all of a length share their upper 64 bits (IPv4 prefixes, stored IPv4-mapped), else 20;
/// at 100k circuits ~3.5 MB, against ~60 bytes a prefix in a hash table per length.
class AddressIndex {
 public:
  /// Indexes the mappings that have a circuit (`circuit >= 0`); of equal prefixes the first
  /// counts (a plan the data plane accepts has none: BpfMapWriter::publish refuses them). Needs
  /// 4 bytes a mapping beyond the index while it builds.
  void build(std::span<const AddressMapping> mappings);
  /// The circuit (index into QueuePlan::circuits) of the longest prefix containing `address`,
  /// or -1.
  int32_t find(const IpNet& address) const;
  /// As find(IpNet) for the 16 address bytes (IPv4-mapped for IPv4) given as two words read
  /// with memcpy from bytes 0-7 and 8-15, host byte order: the form telemetry keeps hosts in.
  int32_t find(uint64_t addrHi, uint64_t addrLo) const;
  /// Number of prefixes indexed.
  size_t size() const { return count_; }
  /// Heap bytes of the index.
  size_t heapBytes() const;

 private:
  struct Words {
    uint64_t hi = 0;
    uint64_t lo = 0;
    bool operator==(const Words&) const = default;
  };
  static Words wordsOf(const uint8_t* bytes);
  struct Level {
    uint8_t prefixLen = 0;
    Words mask;
    bool oneHi = true;              ///< every key has hi == `hi` (his is empty)
    uint64_t hi = 0;
    std::vector<uint64_t> his;      ///< parallel to los when !oneHi
    std::vector<uint64_t> los;      ///< sorted by (hi, lo)
    std::vector<int32_t> circuits;  ///< parallel to los
  };
  std::vector<Level> levels_;  ///< longest first
  size_t count_ = 0;
};

}  // namespace sluice::plan
