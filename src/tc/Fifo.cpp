#include "tc/Fifo.h"

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "netlink/Attr.h"

namespace sluice::tc {

void encodeFifo(netlink::Batch& batch, Verb verb, const TcTarget& target, FifoKind kind,
                uint32_t limit) {
  nlmsghdr* nlh = beginTc(batch, false, verb, target, kind == FifoKind::Packets ? "pfifo" : "bfifo");
  if (limit != 0) {
    tc_fifo_qopt opt{limit};
    mnl_attr_put(nlh, TCA_OPTIONS, sizeof(opt), &opt);
  }
}

std::optional<uint32_t> decodeFifoLimit(std::span<const uint8_t> options) {
  return netlink::readAs<uint32_t>(options);
}

}  // namespace sluice::tc
