#pragma once
// Qdiscs without options, and root removal (kernel net/sched/sch_mq.c, sch_ingress.c;
// iproute2 tc/q_mq.c, tc/q_clsact.c, tc/tc_qdisc.c).
//
//   mq:      nlmsghdr | tcmsg{handle 7FFF:0, parent TC_H_ROOT} | TCA_KIND "mq\0"   (no options)
//   clsact:  nlmsghdr | tcmsg{handle FFFF:0, parent TC_H_CLSACT} | TCA_KIND "clsact\0"
//   del:     nlmsghdr(RTM_DELQDISC) | tcmsg{handle 0, parent TC_H_ROOT}              (no kind)

#include "netlink/Message.h"
#include "tc/TcMessage.h"

namespace sluice::tc {

/// Appends an mq qdisc request on `target` (normally handle 7FFF:0, parent root).
void encodeMq(netlink::Batch& batch, Verb verb, const TcTarget& target);

/// Appends `tc qdisc add dev D clsact` (handle and parent are fixed; target's are ignored).
void encodeClsact(netlink::Batch& batch, Verb verb, const TcTarget& target);

/// Appends a qdisc delete of the qdisc at `target.parent` (handle 0 lets the kernel pick the one
/// attached there; `tc qdisc del dev D root` uses parent TC_H_ROOT).
void encodeQdiscDelete(netlink::Batch& batch, const TcTarget& target);

}  // namespace sluice::tc
