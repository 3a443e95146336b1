#pragma once
// Reading the data plane's telemetry maps in batches (BPF_MAP_LOOKUP_BATCH: one bpf() call per
// few thousand entries instead of two per entry), and the prefix -> circuit index of the plan.

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "abi/sluice_abi.h"
#include "common/Error.h"
#include "common/IpNet.h"

namespace sluice::telemetry {

/// A 16-byte data-plane address (v4-mapped for IPv4) as two words, for hashing.
struct Addr {
  uint64_t hi = 0;
  uint64_t lo = 0;
  static Addr fromBytes(const uint8_t (&bytes)[16]);
  bool operator==(const Addr&) const = default;
};
struct AddrHash {
  size_t operator()(const Addr& a) const noexcept {
    uint64_t x = a.hi * 0x9E3779B97F4A7C15ull ^ (a.lo + 0x632BE59BD9B4E019ull);
    return static_cast<size_t>(x ^ (x >> 29));
  }
};

/// One host of the host map, summed over CPUs.
struct HostSample {
  Addr addr;
  std::array<uint64_t, SLUICE_DIR_COUNT> bytes{};
  std::array<uint64_t, SLUICE_DIR_COUNT> packets{};
  std::array<std::array<uint64_t, SLUICE_DIR_COUNT>, SLUICE_PROTO_COUNT> protoPackets{};
  uint64_t lastSeenNs = 0;  ///< CLOCK_MONOTONIC
};

/// Reads every entry of the per-CPU host map into `out` (cleared first), summing the possible
/// CPUs. Uses BPF_MAP_LOOKUP_BATCH; on kernels without it (EINVAL/ENOTSUP from the first call)
/// falls back to a get_next_key walk. Errors: bpf() errno naming the map.
Result<void> readHosts(int hostsFd, std::vector<HostSample>& out);

/// Reads every entry of the flow table into `keys`/`flows` (cleared first), as readHosts.
Result<void> readFlowTable(int flowsFd, std::vector<sluice_flow_key>& keys,
                           std::vector<sluice_flow>& flows);

/// Text of an address as the operator writes it ("10.0.0.1", "2001:db8::1").
std::string addrToString(const Addr& addr);

}  // namespace sluice::telemetry
