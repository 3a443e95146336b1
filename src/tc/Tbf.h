#pragma once
// The TBF holder qdisc (kernel net/sched/sch_tbf.c tbf_change; iproute2 tc/q_tbf.c).
//
//   TCA_OPTIONS (nested)
//     TCA_TBF_PARMS  struct tc_tbf_qopt { tc_ratespec rate, peakrate; u32 limit, buffer, mtu; }
//     TCA_TBF_RATE64 u64 bytes/s        (rates of 2^32 bytes/s and more; rate.rate is clamped)
//     TCA_TBF_BURST  u32 bytes          (max_size; the kernel derives buffer from it and the rate)
//
// rate.linklayer is TC_LINKLAYER_ETHERNET, so the kernel asks for no rate table (TCA_TBF_RTAB).
// `limit` > 0 on a new TBF gives it a default bfifo child of that many bytes (fifo_create_dflt);
// the holder's child is replaced later by a graft under class <handle>:1.

#include <cstdint>
#include <string>

#include "netlink/Message.h"
#include "planner/QueuePlan.h"
#include "tc/TcMessage.h"

namespace sluice::tc {

struct TbfOptions {
  uint64_t rateBitsPerSecond = 0;
  uint32_t burstBytes = 0;       ///< max_size: larger packets are segmented (GSO) or dropped
  uint32_t fifoLimitBytes = 0;   ///< the default bfifo child's limit on creation (0 = no child)
};

/// Appends a TBF qdisc request on `target`.
void encodeTbf(netlink::Batch& batch, Verb verb, const TcTarget& target, const TbfOptions& options);

/// True when `kind`/`handle` (a live qdisc under mq class plan::mqClassOf(txQueue)) is that tx
/// queue's holder: a TBF with handle plan::holderMajorOf(txQueue).
bool isHolderOf(const std::string& kind, uint32_t handle, uint16_t txQueue);

/// Appends `tc qdisc replace` of the holder qdisc of tx queue `txQueue` (< plan::kMaxHolderTxQueues):
/// handle plan::holderMajorOf(txQueue), parent plan::mqClassOf(txQueue), kHolderRateBitsPerSecond,
/// kHolderBurstBytes, a plan::kHolderFifoBytes bfifo child when new. Appends nothing for HolderKind::None.
void encodeHolder(netlink::Batch& batch, int ifindex, const std::string& ifname, uint16_t txQueue,
                  plan::HolderKind kind);

}  // namespace sluice::tc
