#include "tc/Tbf.h"

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <algorithm>

#include "netlink/Attr.h"

namespace sluice::tc {

void encodeTbf(netlink::Batch& batch, Verb verb, const TcTarget& target,
               const TbfOptions& options) {
  nlmsghdr* nlh = beginTc(batch, false, verb, target, "tbf");
  const uint64_t rateBytes = options.rateBitsPerSecond / 8;
  tc_tbf_qopt opt{};
  opt.rate.rate = static_cast<uint32_t>(std::min<uint64_t>(rateBytes, UINT32_MAX));
  opt.rate.linklayer = TC_LINKLAYER_ETHERNET;
  opt.limit = options.fifoLimitBytes;
  const netlink::Nest nest = netlink::nestStart(nlh, TCA_OPTIONS);
  mnl_attr_put(nlh, TCA_TBF_PARMS, sizeof(opt), &opt);
  if (rateBytes >= UINT32_MAX) {
    mnl_attr_put_u64(nlh, TCA_TBF_RATE64, rateBytes);
  }
  mnl_attr_put_u32(nlh, TCA_TBF_BURST, options.burstBytes);
  netlink::nestEnd(nlh, nest);
}

bool isHolderOf(const std::string& kind, uint32_t handle, uint16_t txQueue) {
  return kind == "tbf" && handle == makeHandle(plan::holderMajorOf(txQueue), 0);
}

void encodeHolder(netlink::Batch& batch, int ifindex, const std::string& ifname, uint16_t txQueue,
                  plan::HolderKind kind) {
  if (kind == plan::HolderKind::None) {
    return;
  }
  const TcTarget target{ifindex, ifname, makeHandle(plan::holderMajorOf(txQueue), 0),
                        plan::mqClassOf(txQueue).raw()};
  encodeTbf(batch, Verb::Replace, target,
            TbfOptions{plan::kHolderRateBitsPerSecond, plan::kHolderBurstBytes, plan::kHolderFifoBytes});
}

}  // namespace sluice::tc
