#pragma once
// The bakery's kernel executor: TcOps encoded with the tc module's encoders (tc/Htb.h, tc/Cake.h,
// tc/FqCodel.h, tc/Fifo.h, tc/Mq.h) and sent in batches on one rtnetlink socket (many messages
// per sendmsg(), one ack each; netlink/Socket.h), plus drift detection (the live tree read back
// and compared with the plan, tc::compareTree) and reconcile (tc::NetlinkApplier::replace).
//
// Encoding of each op (flags as iproute2 sends them, tc/TcMessage.h):
//   AddRoot        qdisc add    root handle 7fff: mq; with a holder (queue.holder), in the same
//                  batch a TBF holder on each tx queue t of the device (tc/Tbf.h encodeHolder)
//   AddHtbQdisc    qdisc replace parent P handle M: htb r2q R default D  (grafts over the FIFO of
//                  P: the mq class 7fff:(q+1), or class 1 of the tx queue's holder; QueuePlan.h
//                  queueParentOf)
//   AddClass       class replace (create, or change when it exists: a retry converges)
//   ChangeClass    class change  (rate/ceil/quantum/prio; no rebind, nothing flushed)
//   AddLeaf        qdisc replace parent C handle H: KIND (create + graft: the old leaf of C, if
//                  any, is destroyed in the same step; same handle and kind = change)
//   ChangeLeaf     qdisc replace parent C handle H: KIND (same handle and kind: changed in place;
//                  fq_codel without its flow count, which the kernel cannot change)
//   DeleteLeaf     qdisc del parent C handle H:
//   DeleteClass    class del classid C (its leaf goes with it)
//   DeleteHtbQdisc qdisc replace parent P pfifo (the tx queue keeps a FIFO; P as for AddHtbQdisc)
//   DeleteRoot     qdisc del root

#include <map>
#include <string>
#include <vector>

#include "bakery/Bakery.h"
#include "netlink/Socket.h"
#include "tc/Applier.h"
#include "tc/Psched.h"

namespace sluice::bakery {

class NetlinkOpRunner final : public OpRunner {
 public:
  /// `socket` is owned (open it in the shaper's namespace); `clock` supplies HTB burst
  /// arithmetic (tc::Psched::read()).
  NetlinkOpRunner(netlink::Socket socket, tc::Psched clock);

  /// Encodes all of `ops` and sends them as one batch (chunked by the socket). Errors: the
  /// failing operation's text and the kernel's ext-ack; ENODEV naming an unknown device.
  Result<void> run(const std::vector<TcOp>& ops) override;
  Result<std::vector<std::string>> liveDifferences(const plan::QueuePlan& plan) override;
  Result<void> reconcile(const plan::QueuePlan& plan) override;
  Result<uint64_t> backlogPackets(const std::string& ifname,
                                  const std::vector<plan::TcHandle>& classids) override;
  /// IFLA_NUM_TX_QUEUES of the device (RTM_GETLINK). Errors: ENODEV naming the device.
  Result<uint32_t> txQueueCount(const std::string& ifname) override;
  /// One class dump filtered to HTB qdisc `major`: (tcm_parent; sch_api.c tc_dump_tclass_qdisc
  /// skips the other qdiscs), summing the qlen HTB reports for each leaf class
  /// (htb_dump_class_stats: the leaf qdisc's qlen) except major:skipMinor.
  Result<uint64_t> htbBacklogPackets(const std::string& ifname, uint16_t major,
                                     uint16_t skipMinor) override;
  uint64_t messagesSent() const override { return messages_; }

  netlink::Socket& socket() { return applier_.socket(); }
  /// sendmsg() calls so far (batching: far fewer than messagesSent()).
  uint64_t sendCalls() { return applier_.socket().stats().sendCalls; }

 private:
  Result<int> ifindex(const std::string& ifname);

  tc::NetlinkApplier applier_;  // owns the socket; reconcile() is its replace()
  tc::Psched clock_;
  std::map<std::string, int> ifindex_;
  uint64_t messages_ = 0;
};

/// Drift check: the live tree of every device of `plan` compared with the plan (merged per
/// device, tc::treesByDevice), one line per difference prefixed with the device.
Result<std::vector<std::string>> compareLive(netlink::Socket& socket, const plan::QueuePlan& plan);

}  // namespace sluice::bakery
