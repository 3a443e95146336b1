#pragma once
// CAKE leaf qdisc: encoder, option decoder, xstats decoder.
// Facts: kernel include/uapi/linux/pkt_sched.h (TCA_CAKE_*, CAKE_DIFFSERV_*, TCA_CAKE_STATS_*,
// TCA_CAKE_TIN_STATS_*), net/sched/sch_cake.c; iproute2 tc/q_cake.c (attribute order, rtt ->
// target = rtt / 20, bandwidth/unlimited also send AUTORATE 0).
//
// Request (every option explicit, so that a replace never inherits a stale value):
//
//   TCA_OPTIONS {
//     TCA_CAKE_BASE_RATE64  u64 bytes/s (0 = unlimited)     TCA_CAKE_DIFFSERV_MODE u32
//     TCA_CAKE_OVERHEAD     s32 (when set)                  TCA_CAKE_MPU u32 (when set, > 0)
//     TCA_CAKE_RTT          u32 us                          TCA_CAKE_TARGET u32 us (rtt / 20)
//     TCA_CAKE_AUTORATE     u32 0                           TCA_CAKE_MEMORY u32 (when set)
//     TCA_CAKE_NAT u32      TCA_CAKE_WASH u32    TCA_CAKE_SPLIT_GSO u32    TCA_CAKE_ACK_FILTER u32
//   }                       (each attribute: | len u16 | type u16 | value | pad to 4 |)
//
// One deliberate difference from `tc`: tc leaves DIFFSERV_MODE out for diffserv3 (its value is 0)
// and so cannot switch an existing CAKE back to diffserv3 with `change`; we always send it.
//
// Xstats (TCA_STATS_APP) are nested attributes: TCA_CAKE_STATS_* scalars and
// TCA_CAKE_STATS_TIN_STATS { tin 1 { TCA_CAKE_TIN_STATS_* }, tin 2 { ... }, ... }.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "netlink/Message.h"
#include "planner/QueuePlan.h"
#include "tc/TcMessage.h"

namespace sluice::tc {

/// Appends a CAKE qdisc request for `params` (bandwidth in bits/s is sent as bytes/s).
void encodeCake(netlink::Batch& batch, Verb verb, const TcTarget& target,
                const plan::CakeParams& params);

/// `params` with an explicit 0 overhead/mpu/memlimit turned into nullopt (same kernel state), so
/// that planned and decoded values compare equal.
plan::CakeParams normalizeCake(plan::CakeParams params);

/// The kernel's numbering of diffserv modes (CAKE_DIFFSERV_*).
uint32_t cakeDiffservValue(plan::CakeDiffserv mode);

/// Decodes a dumped CAKE TCA_OPTIONS into plan terms (bandwidth back to bits/s). `target` is
/// ignored (the plan has no field for it: it is always rtt / 20). The kernel always reports
/// overhead, mpu and memlimit; a 0 there decodes as "not set" (nullopt), which is what 0 means.
/// nullopt when malformed.
std::optional<plan::CakeParams> decodeCake(std::span<const uint8_t> options);

struct CakeTinStats {
  uint64_t thresholdRateBytesPerSec = 0;
  uint64_t sentBytes = 0;
  uint32_t sentPackets = 0;
  uint64_t droppedBytes = 0;
  uint32_t droppedPackets = 0;
  uint32_t ecnMarkedPackets = 0;
  uint32_t ackDropPackets = 0;
  uint32_t backlogBytes = 0;
  uint32_t targetUs = 0;
  uint32_t intervalUs = 0;
  uint32_t peakDelayUs = 0;
  uint32_t avgDelayUs = 0;
  uint32_t baseDelayUs = 0;
  uint32_t sparseFlows = 0;
  uint32_t bulkFlows = 0;
  uint32_t unresponsiveFlows = 0;
};

struct CakeXstats {
  uint64_t capacityEstimateBytesPerSec = 0;
  uint32_t memoryLimitBytes = 0;
  uint32_t memoryUsedBytes = 0;
  std::vector<CakeTinStats> tins;  ///< in tin order
};

/// Decodes CAKE's qdisc xstats; nullopt when malformed.
std::optional<CakeXstats> decodeCakeXstats(std::span<const uint8_t> xstats);

}  // namespace sluice::tc
