#include "tc/FqCodel.h"

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "netlink/Attr.h"

namespace sluice::tc {

namespace {

uint32_t codelRoundTripUs(uint32_t us) {
  const uint64_t units = (static_cast<uint64_t>(us) * 1000) >> 10;
  return static_cast<uint32_t>((units << 10) / 1000);
}

}  // namespace

plan::FqCodelParams normalizeFqCodel(plan::FqCodelParams params) {
  params.targetUs = codelRoundTripUs(params.targetUs);
  params.intervalUs = codelRoundTripUs(params.intervalUs);
  return params;
}

void encodeFqCodel(netlink::Batch& batch, Verb verb, const TcTarget& target,
                   const plan::FqCodelParams& params, bool withFlows) {
  nlmsghdr* nlh = beginTc(batch, false, verb, target, "fq_codel");
  const netlink::Nest nest = netlink::nestStart(nlh, TCA_OPTIONS);
  mnl_attr_put_u32(nlh, TCA_FQ_CODEL_LIMIT, params.limitPackets);
  if (withFlows) {
    mnl_attr_put_u32(nlh, TCA_FQ_CODEL_FLOWS, params.flows);
  }
  mnl_attr_put_u32(nlh, TCA_FQ_CODEL_QUANTUM, params.quantumBytes);
  mnl_attr_put_u32(nlh, TCA_FQ_CODEL_INTERVAL, params.intervalUs);
  mnl_attr_put_u32(nlh, TCA_FQ_CODEL_TARGET, params.targetUs);
  mnl_attr_put_u32(nlh, TCA_FQ_CODEL_ECN, params.ecn ? 1 : 0);
  mnl_attr_put_u32(nlh, TCA_FQ_CODEL_MEMORY_LIMIT, params.memoryLimitBytes);
  netlink::nestEnd(nlh, nest);
}

std::optional<plan::FqCodelParams> decodeFqCodel(std::span<const uint8_t> options) {
  plan::FqCodelParams p;
  bool sawLimit = false;
  const bool ok = netlink::forEachAttr(options, [&](uint16_t type, auto payload) {
    const auto v = netlink::readAs<uint32_t>(payload);
    if (!v) {
      return;
    }
    switch (type) {
      case TCA_FQ_CODEL_LIMIT:
        p.limitPackets = *v;
        sawLimit = true;
        break;
      case TCA_FQ_CODEL_FLOWS:
        p.flows = *v;
        break;
      case TCA_FQ_CODEL_QUANTUM:
        p.quantumBytes = *v;
        break;
      case TCA_FQ_CODEL_INTERVAL:
        p.intervalUs = *v;
        break;
      case TCA_FQ_CODEL_TARGET:
        p.targetUs = *v;
        break;
      case TCA_FQ_CODEL_ECN:
        p.ecn = *v != 0;
        break;
      case TCA_FQ_CODEL_MEMORY_LIMIT:
        p.memoryLimitBytes = *v;
        break;
      default:
        break;
    }
  });
  if (!ok || !sawLimit) {
    return std::nullopt;
  }
  return p;
}

std::optional<FqCodelXstats> decodeFqCodelXstats(std::span<const uint8_t> xstats) {
  const auto raw = netlink::readAs<tc_fq_codel_xstats>(xstats);
  if (!raw || raw->type != TCA_FQ_CODEL_XSTATS_QDISC) {
    return std::nullopt;
  }
  const tc_fq_codel_qd_stats& q = raw->qdisc_stats;
  return FqCodelXstats{q.maxpacket,     q.drop_overlimit, q.ecn_mark,
                       q.new_flow_count, q.new_flows_len,  q.old_flows_len,
                       q.ce_mark,        q.memory_usage,   q.drop_overmemory};
}

}  // namespace sluice::tc
