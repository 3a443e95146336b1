#pragma once
// Reading what the data plane counted: statistics, host counters (summed over CPUs), the flow
// table, and the RTT ring buffer.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "abi/sluice_abi.h"
#include "common/Error.h"
#include "common/IpNet.h"

struct ring_buffer;

namespace sluice::dataplane {

/// The per-CPU statistics array (enum sluice_stat), summed over CPUs. Errors: bpf() errno.
Result<std::array<uint64_t, SLUICE_STAT_COUNT>> readStats(int statsFd);

/// An address from the data plane's 16-byte form (v4-mapped -> IPv4), as a host prefix.
IpNet addressFromBytes(const uint8_t (&addr)[16]);
/// The 16-byte form of a host address (prefix length ignored).
sluice_addr addressToBytes(const IpNet& address);

struct HostCounters {
  IpNet address;
  std::array<uint64_t, SLUICE_DIR_COUNT> bytes{};    ///< [SLUICE_DIR_DOWN/UP], L2 frame bytes
  std::array<uint64_t, SLUICE_DIR_COUNT> packets{};
  std::array<std::array<uint64_t, SLUICE_DIR_COUNT>, SLUICE_PROTO_COUNT> protoPackets{};
  uint64_t lastSeenNs = 0;  ///< CLOCK_MONOTONIC ns, latest over all CPUs
  uint32_t circuit = SLUICE_CIRCUIT_NONE;
};

/// Calls `onHost` for every host with its counters summed over the possible CPUs. `hostsFd` is
/// either Dataplane::hostMapFd() (the host slot array: its in-use slots with traffic, then the
/// per-address map its descriptor names, opened by id, which needs CAP_SYS_ADMIN) or a bare
/// per-address map. Every host comes once; the address is always one host (/32 or /128).
/// The per-address map is read with one BPF_MAP_LOOKUP_BATCH call per 4096 hosts (dataplane/BatchLookup.h); on kernels
/// without batch lookups for the map, a get_next_key walk with one lookup per host. At 100k hosts
/// the walk cost ~200 ms of CPU a second, read by both telemetry and the lazy-queue tracker.
/// Errors: bpf() errno of the walk or of a lookup (entries evicted during the walk are skipped).
Result<void> forEachHost(int hostsFd, const std::function<void(const HostCounters&)>& onHost);
/// forEachHost into a vector.
Result<std::vector<HostCounters>> readHostCounters(int hostsFd);
/// One host (from the slot array: a walk); a host without counters is ENOENT.
Result<HostCounters> readHostCounters(int hostsFd, const IpNet& address);

struct FlowRecord {
  sluice_flow_key key;
  sluice_flow flow;
};

/// Every entry of the flow table (one get_next_key walk; flows evicted meanwhile are skipped).
Result<std::vector<FlowRecord>> readFlows(int flowsFd);

/// Consumes RTT events from the ring buffer; the callback runs on the polling thread.
class RttConsumer {
 public:
  using Callback = std::function<void(const sluice_rtt_event&)>;
  /// Errors: ring_buffer__new errno.
  static Result<std::unique_ptr<RttConsumer>> create(int ringFd, Callback callback);
  ~RttConsumer();
  RttConsumer(const RttConsumer&) = delete;
  RttConsumer& operator=(const RttConsumer&) = delete;

  /// Waits up to `timeoutMs` for events and delivers them; returns how many. Errors: errno.
  Result<int> poll(int timeoutMs);
  /// Delivers what is queued without waiting; returns how many.
  Result<int> consume();

 private:
  RttConsumer() = default;
  static int onSample(void* ctx, void* data, size_t size);
  ring_buffer* ring_ = nullptr;
  Callback callback_;
};

}  // namespace sluice::dataplane
