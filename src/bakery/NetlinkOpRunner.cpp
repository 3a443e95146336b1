#include "bakery/NetlinkOpRunner.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <fmt/format.h>

#include "netlink/TcObject.h"
#include "tc/Cake.h"
#include "tc/Fifo.h"
#include "tc/FqCodel.h"
#include "tc/Htb.h"
#include "tc/LiveTree.h"
#include "tc/Mq.h"
#include "tc/Tbf.h"
#include "tc/TcMessage.h"
#include "tc/Verify.h"

namespace sluice::bakery {
namespace {

using tc::makeHandle;
using tc::TcTarget;
using tc::Verb;

void encodeLeaf(netlink::Batch& b, Verb verb, const TcTarget& t, const plan::LeafSpec& leaf,
                bool withFlows) {
  switch (leaf.kind) {
    case plan::LeafKind::Cake:
      tc::encodeCake(b, verb, t, leaf.cake);
      break;
    case plan::LeafKind::FqCodel:
      tc::encodeFqCodel(b, verb, t, leaf.fqCodel, withFlows);
      break;
    case plan::LeafKind::Pfifo:
      tc::encodeFifo(b, verb, t, tc::FifoKind::Packets, leaf.fifoLimit);
      break;
    case plan::LeafKind::Bfifo:
      tc::encodeFifo(b, verb, t, tc::FifoKind::Bytes, leaf.fifoLimit);
      break;
    case plan::LeafKind::None:
      break;
  }
}

uint32_t queueParent(const plan::HtbQueuePlan& q) { return plan::queueParentOf(q).raw(); }

}  // namespace

NetlinkOpRunner::NetlinkOpRunner(netlink::Socket socket, tc::Psched clock)
    : applier_(std::move(socket), clock), clock_(clock) {}

Result<int> NetlinkOpRunner::ifindex(const std::string& ifname) {
  auto it = ifindex_.find(ifname);
  if (it != ifindex_.end()) {
    return it->second;
  }
  auto index = socket().linkIndex(ifname);
  if (!index) {
    return index;
  }
  ifindex_[ifname] = *index;
  return *index;
}

Result<void> NetlinkOpRunner::run(const std::vector<TcOp>& ops) {
  if (ops.empty()) {
    return {};
  }
  netlink::Batch batch;
  for (const auto& op : ops) {
    auto index = ifindex(op.ifname);
    if (!index) {
      Error e = index.error();
      e.context = describe(op) + ": " + e.context;
      return std::unexpected(e);
    }
    const auto target = [&](uint32_t handle, uint32_t parent) {
      return TcTarget{*index, op.ifname, handle, parent};
    };
    const uint32_t classid = op.cls.classid.raw();
    const uint32_t leafHandle = makeHandle(op.leaf.handleMajor, 0);
    switch (op.kind) {
      case TcOp::Kind::AddRoot: {
        tc::encodeMq(batch, Verb::Add, target(makeHandle(plan::kMqMajor, 0), tc::kRootParent));
        if (op.queue.holder == plan::HolderKind::None) {
          break;
        }
        auto txQueues = txQueueCount(op.ifname);
        if (!txQueues) {
          Error e = txQueues.error();
          e.context = describe(op) + ": " + e.context;
          return std::unexpected(e);
        }
        for (uint32_t t = 0; t < std::min(*txQueues, plan::kMaxHolderTxQueues); ++t) {
          tc::encodeHolder(batch, *index, op.ifname, static_cast<uint16_t>(t), op.queue.holder);
        }
        break;
      }
      case TcOp::Kind::AddHtbQdisc:
        tc::encodeHtbQdisc(batch, Verb::Replace,
                           target(makeHandle(op.queue.major, 0), queueParent(op.queue)),
                           tc::HtbQdiscOptions{op.queue.r2q, op.queue.defaultMinor, std::nullopt});
        break;
      case TcOp::Kind::AddClass:
      case TcOp::Kind::ChangeClass:
        tc::encodeHtbClass(batch, op.kind == TcOp::Kind::AddClass ? Verb::Replace : Verb::Change,
                           target(classid, op.cls.parent.raw()), tc::htbOptionsFor(op.cls),
                           clock_);
        break;
      case TcOp::Kind::AddLeaf:
        encodeLeaf(batch, Verb::Replace, target(leafHandle, classid), op.leaf, true);
        break;
      case TcOp::Kind::ChangeLeaf:
        encodeLeaf(batch, Verb::Replace, target(leafHandle, classid), op.leaf,
                   op.leaf.kind != plan::LeafKind::FqCodel);
        break;
      case TcOp::Kind::DeleteLeaf:
        tc::encodeQdiscDelete(batch, target(leafHandle, classid));
        break;
      case TcOp::Kind::DeleteClass:
        tc::encodeClassDelete(batch, target(classid, 0));
        break;
      case TcOp::Kind::DeleteHtbQdisc:
        tc::encodeFifo(batch, Verb::Replace, target(0, queueParent(op.queue)),
                       tc::FifoKind::Packets, 0);
        break;
      case TcOp::Kind::DeleteRoot:
        tc::encodeQdiscDelete(batch, target(0, tc::kRootParent));
        ifindex_.erase(op.ifname);
        break;
    }
  }
  messages_ += batch.size();
  return socket().execute(batch);
}

Result<std::vector<std::string>> compareLive(netlink::Socket& socket,
                                             const plan::QueuePlan& plan) {
  std::vector<std::string> out;
  for (const auto& dev : tc::treesByDevice(plan)) {
    auto live = tc::readLiveTree(socket, dev.ifname);
    if (!live) {
      return std::unexpected(live.error());
    }
    for (auto& line : tc::compareTree(*live, dev)) {
      out.push_back(dev.ifname + ": " + line);
    }
  }
  return out;
}

Result<std::vector<std::string>> NetlinkOpRunner::liveDifferences(const plan::QueuePlan& plan) {
  return compareLive(socket(), plan);
}

Result<void> NetlinkOpRunner::reconcile(const plan::QueuePlan& plan) {
  ifindex_.clear();
  auto r = tc::applyPlan(applier_, plan, tc::ApplyMode::Replace);
  messages_ += applier_.lastStats().messages;
  return r;
}

Result<uint64_t> NetlinkOpRunner::backlogPackets(const std::string& ifname,
                                                 const std::vector<plan::TcHandle>& classids) {
  auto live = tc::readLiveTree(socket(), ifname);
  if (!live) {
    return std::unexpected(live.error());
  }
  uint64_t packets = 0;
  for (const auto& c : classids) {
    if (const tc::LiveQdisc* leaf = live->qdiscAt(c.raw())) {
      packets += leaf->stats.qlen;
    }
  }
  return packets;
}

Result<uint32_t> NetlinkOpRunner::txQueueCount(const std::string& ifname) {
  auto info = socket().linkInfo(ifname);
  if (!info) {
    return std::unexpected(info.error());
  }
  return info->txQueues;
}

Result<uint64_t> NetlinkOpRunner::htbBacklogPackets(const std::string& ifname, uint16_t major,
                                                    uint16_t skipMinor) {
  auto index = ifindex(ifname);
  if (!index) {
    return std::unexpected(index.error());
  }
  std::vector<uint8_t> buffer(MNL_SOCKET_BUFFER_SIZE, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = RTM_GETTCLASS;
  auto* tcm = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  tcm->tcm_ifindex = *index;
  tcm->tcm_parent = makeHandle(major, 0);
  const uint32_t skip = makeHandle(major, skipMinor);
  uint64_t packets = 0;
  auto r = socket().dump(
      nlh, fmt::format("class dump dev {} parent {:x}:", ifname, major), [&](const nlmsghdr* msg) {
        netlink::TcObject obj;
        if (!netlink::parseTcObject(msg, obj)) {
          return false;
        }
        if (obj.ifindex == *index && (obj.handle >> 16) == major && obj.handle != skip) {
          packets += obj.stats.qlen;
        }
        return true;
      });
  if (!r) {
    return std::unexpected(r.error());
  }
  return packets;
}

}  // namespace sluice::bakery
