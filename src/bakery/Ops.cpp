// TcOps: building them from plan pieces (classOp, queueHeader), the change kinds' names and one
// line of text per op (describe: `sluice apply --dry-run`, the bakery's logs).

#include <fmt/format.h>

#include "bakery/Bakery.h"

namespace sluice::bakery {
namespace {

using plan::LeafKind;
using plan::LeafSpec;

std::string leafText(const LeafSpec& leaf) {
  switch (leaf.kind) {
    case LeafKind::Cake:
      return fmt::format("cake bandwidth {}bit {} rtt {}us", leaf.cake.bandwidthBitsPerSecond,
                         plan::cakeDiffservName(leaf.cake.diffserv), leaf.cake.rttUs);
    case LeafKind::FqCodel:
      return fmt::format("fq_codel limit {} flows {}", leaf.fqCodel.limitPackets,
                         leaf.fqCodel.flows);
    case LeafKind::Pfifo:
      return fmt::format("pfifo limit {}", leaf.fifoLimit);
    case LeafKind::Bfifo:
      return fmt::format("bfifo limit {}", leaf.fifoLimit);
    case LeafKind::None:
      return "none";
  }
  return "?";
}

}  // namespace

TcOp classOp(TcOp::Kind kind, const std::string& ifname, const plan::HtbQueuePlan& q,
             const plan::HtbClassPlan& cls) {
  TcOp op;
  op.kind = kind;
  op.ifname = ifname;
  op.queue = queueHeader(q);
  op.cls = cls;
  op.cls.leaf.reset();
  if (cls.leaf) {
    op.leaf = *cls.leaf;
  }
  return op;
}

plan::HtbQueuePlan queueHeader(const plan::HtbQueuePlan& q) {
  plan::HtbQueuePlan h;
  h.direction = q.direction;
  h.txQueue = q.txQueue;
  h.major = q.major;
  h.r2q = q.r2q;
  h.defaultMinor = q.defaultMinor;
  h.holder = q.holder;
  return h;
}

bool ChangeSet::empty() const {
  return addPhase.empty() && deletePhase.empty() && upserts.empty() && removals.empty() &&
         !rebuildReason;
}

const char* changeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::AddressAdded:
      return "address_added";
    case ChangeKind::AddressRemoved:
      return "address_removed";
    case ChangeKind::AddressMoved:
      return "address_moved";
    case ChangeKind::CircuitAdded:
      return "circuit_added";
    case ChangeKind::CircuitRemoved:
      return "circuit_removed";
    case ChangeKind::SpeedChange:
      return "speed_change";
    case ChangeKind::SqmChange:
      return "sqm_change";
    case ChangeKind::ParentMove:
      return "parent_move";
    case ChangeKind::NodeAdded:
      return "node_added";
    case ChangeKind::NodeRemoved:
      return "node_removed";
    case ChangeKind::NodeSpeedChange:
      return "node_speed_change";
  }
  return "?";
}

std::string describe(const TcOp& op) {
  const std::string dev = op.ifname;
  switch (op.kind) {
    case TcOp::Kind::AddRoot:
      return op.queue.holder == plan::HolderKind::None
                 ? fmt::format("add mq root 7fff: on {}", dev)
                 : fmt::format("add mq root 7fff: with a {} holder per tx queue on {}",
                               plan::holderKindName(op.queue.holder), dev);
    case TcOp::Kind::AddHtbQdisc:
      return fmt::format("add htb qdisc {:x}: parent {} r2q {} default {:x} on {}",
                         op.queue.major, plan::queueParentOf(op.queue).toString(), op.queue.r2q,
                         op.queue.defaultMinor, dev);
    case TcOp::Kind::AddClass:
    case TcOp::Kind::ChangeClass:
      return fmt::format("{} class {} parent {} rate {}bit ceil {}bit quantum {} prio {} on {}",
                         op.kind == TcOp::Kind::AddClass ? "add" : "change",
                         op.cls.classid.toString(), op.cls.parent.toString(),
                         op.cls.rateBitsPerSecond, op.cls.ceilBitsPerSecond, op.cls.quantumBytes,
                         op.cls.prio, dev);
    case TcOp::Kind::AddLeaf:
    case TcOp::Kind::ChangeLeaf:
      return fmt::format("{} leaf {:x}: {} under {} on {}",
                         op.kind == TcOp::Kind::AddLeaf ? "add" : "change", op.leaf.handleMajor,
                         leafText(op.leaf), op.cls.classid.toString(), dev);
    case TcOp::Kind::DeleteLeaf:
      return fmt::format("delete leaf {:x}: under {} on {}", op.leaf.handleMajor,
                         op.cls.classid.toString(), dev);
    case TcOp::Kind::DeleteClass:
      return fmt::format("delete class {} on {}", op.cls.classid.toString(), dev);
    case TcOp::Kind::DeleteHtbQdisc:
      return fmt::format("delete htb qdisc {:x}: (tx queue {}, parent {}) on {}", op.queue.major,
                         op.queue.txQueue, plan::queueParentOf(op.queue).toString(), dev);
    case TcOp::Kind::DeleteRoot:
      return fmt::format("delete mq root 7fff: on {}", dev);
  }
  return "?";
}

}  // namespace sluice::bakery
