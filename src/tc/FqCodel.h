#pragma once
// fq_codel leaf qdisc: encoder, option decoder, xstats decoder.
// Facts: kernel include/uapi/linux/pkt_sched.h (TCA_FQ_CODEL_*, tc_fq_codel_xstats),
// net/sched/sch_fq_codel.c; iproute2 tc/q_fq_codel.c (attribute order).
//
// Request (tc qdisc add ... fq_codel limit L flows F quantum Q target T interval I ecn|noecn
// memory_limit M), attributes in iproute2's order:
//
//   TCA_OPTIONS {
//     TCA_FQ_CODEL_LIMIT u32 packets     TCA_FQ_CODEL_FLOWS u32       TCA_FQ_CODEL_QUANTUM u32 B
//     TCA_FQ_CODEL_INTERVAL u32 us       TCA_FQ_CODEL_TARGET u32 us   TCA_FQ_CODEL_ECN u32 0|1
//     TCA_FQ_CODEL_MEMORY_LIMIT u32 bytes
//   }                                    (each: | len=8 u16 | type u16 | value u32 |)
//
// Xstats: tc_fq_codel_xstats { u32 type (0 = qdisc); tc_fq_codel_qd_stats { maxpacket,
// drop_overlimit, ecn_mark, new_flow_count, new_flows_len, old_flows_len, ce_mark,
// memory_usage, drop_overmemory } }.

#include <cstdint>
#include <optional>
#include <span>

#include "netlink/Message.h"
#include "planner/QueuePlan.h"
#include "tc/TcMessage.h"

namespace sluice::tc {

/// Appends an fq_codel qdisc request with every option of `params` explicit. `withFlows` false
/// leaves TCA_FQ_CODEL_FLOWS out: the kernel refuses (EINVAL) any FLOWS attribute when changing an
/// existing fq_codel (sch_fq_codel.c fq_codel_change: the flow table is sized once), so an
/// in-place change must omit it and a different flow count needs a new qdisc.
void encodeFqCodel(netlink::Batch& batch, Verb verb, const TcTarget& target,
                   const plan::FqCodelParams& params, bool withFlows = true);

/// `params` as the kernel will report them back: target and interval are stored in codel time
/// units of 1024 ns (include/net/codel.h, CODEL_SHIFT 10) and dumped as microseconds, so
/// us -> (us * 1000) >> 10 -> (units << 10) / 1000 truncates (5000 us reads back as 4999 us).
plan::FqCodelParams normalizeFqCodel(plan::FqCodelParams params);

/// Decodes a dumped fq_codel TCA_OPTIONS; nullopt when malformed or when LIMIT is missing.
std::optional<plan::FqCodelParams> decodeFqCodel(std::span<const uint8_t> options);

struct FqCodelXstats {
  uint32_t maxPacket = 0;
  uint32_t dropOverlimit = 0;
  uint32_t ecnMark = 0;
  uint32_t newFlowCount = 0;
  uint32_t newFlowsLen = 0;
  uint32_t oldFlowsLen = 0;
  uint32_t ceMark = 0;
  uint32_t memoryUsage = 0;
  uint32_t dropOvermemory = 0;
};

/// Decodes fq_codel qdisc xstats; nullopt when malformed or class xstats.
std::optional<FqCodelXstats> decodeFqCodelXstats(std::span<const uint8_t> xstats);

}  // namespace sluice::tc
