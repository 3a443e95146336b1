#pragma once
// Putting a QueuePlan into the kernel: the TcApplier interface (which the bakery and daemon use,
// and which tests replace with a recording fake) and its netlink implementation.
//
// Tree per interface (DESIGN §1): 7FFF: mq at the root; under mq class 7FFF:(q+1) one HTB qdisc
// per tx queue q (handle major from the plan, r2q, default minor); the plan's classes in plan
// order (parents first); each class's leaf qdisc with its explicit handle.
//
// Order of operations for a full build (measured, see docs/tc-backend.md): mq, then every HTB
// qdisc, then all classes, then all leaf qdiscs. Adding leaves last keeps the device's qdisc hash
// small while the many class adds look their parent qdisc up in it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "netlink/Socket.h"
#include "planner/QueuePlan.h"
#include "tc/Htb.h"
#include "tc/Psched.h"

namespace sluice::tc {

/// What an applier does to one interface. Implementations: NetlinkApplier (kernel) and test fakes.
class TcApplier {
 public:
  virtual ~TcApplier() = default;

  /// Builds the interface's whole tree from nothing. The interface must have no mq root with
  /// handle 7FFF: yet (EEXIST otherwise, naming the operation). On failure part of the tree may
  /// exist; remove() takes it away.
  virtual Result<void> create(const plan::InterfacePlan& plan) = 0;

  /// Makes the live tree equal to `plan` in place: HTB classes whose parent is unchanged are
  /// changed (rate/ceil/quantum/prio, no rebind), missing ones added, extra or re-parented ones
  /// deleted (children first) and re-added; leaves are replaced (same handle and kind: changed in
  /// place; otherwise swapped). HTB qdiscs whose default differs, or whose r2q differs and is
  /// read by a class (plan::r2qIsInert), are rebuilt; an inert r2q is left as it is. With no Sluice
  /// root on the interface this is create().
  virtual Result<void> replace(const plan::InterfacePlan& plan) = 0;

  /// Deletes the interface's root qdisc (and so the whole tree). A device without a root
  /// qdisc of its own is not an error.
  virtual Result<void> remove(const std::string& ifname) = 0;
};

enum class ApplyMode : uint8_t { Create, Replace, Remove };

/// The plan's interfaces with those that share a device merged into one tree (on a stick both
/// directions live under one mq root), in first-appearance order: what one device holds.
std::vector<plan::InterfacePlan> treesByDevice(const plan::QueuePlan& plan);

/// Applies every interface of `plan` with `applier`. Interfaces that share a name (on a stick)
/// are merged into one tree (one mq, all their HTB queues). Stops at the first error.
Result<void> applyPlan(TcApplier& applier, const plan::QueuePlan& plan, ApplyMode mode);

/// Counters of the last operation (for benchmarks and `sluice apply`).
struct ApplyStats {
  uint64_t messages = 0;
  uint64_t sendCalls = 0;
  double encodeSeconds = 0;  ///< wall time spent building messages
};

/// The kernel applier: one netlink socket (possibly in another namespace), encoders of this
/// module, batched sends.
class NetlinkApplier final : public TcApplier {
 public:
  /// `socket` is owned; `clock` supplies HTB burst arithmetic (Psched::read() on the target).
  NetlinkApplier(netlink::Socket socket, Psched clock);

  /// Full builds add all leaves after all classes (default, measured faster); false adds each
  /// leaf right after its class, as `tc -batch` of the planner's text does (for benchmarks).
  void setLeavesLast(bool leavesLast) { leavesLast_ = leavesLast; }

  Result<void> create(const plan::InterfacePlan& plan) override;
  Result<void> replace(const plan::InterfacePlan& plan) override;
  Result<void> remove(const std::string& ifname) override;

  netlink::Socket& socket() { return socket_; }
  const ApplyStats& lastStats() const { return stats_; }

 private:
  /// Holders to create on the device of `plan` (plan::interfaceHolder): 0 without, else its tx
  /// queue count up to plan::kMaxHolderTxQueues. Errors: a queue whose holder is not the
  /// interface's (EINVAL), the link's info cannot be read.
  Result<uint32_t> holderCount(const plan::InterfacePlan& plan);
  Result<int> resolve(const std::string& ifname);

  netlink::Socket socket_;
  Psched clock_;
  ApplyStats stats_;
  bool leavesLast_ = true;
};

/// Which leaf kinds the running kernel accepts.
struct LeafCapabilities {
  bool cake = false;
  bool fqCodel = false;
  bool pfifo = false;
  bool bfifo = false;
  bool htb = false;
  bool mq = false;
  bool tbf = false;                ///< the holder qdisc ([sluice] queue_holder = "tbf")
  std::vector<std::string> notes;  ///< kernel's reason per missing kind

  bool supports(plan::LeafKind kind) const;
};

/// Probes by creating each kind as the root qdisc of a scratch veth (2 tx queues, unique name,
/// created in the socket's namespace and deleted again). mq, htb and tbf are probed too. Errors: the
/// scratch device cannot be created (no privilege, no veth).
Result<LeafCapabilities> probeLeafCapabilities(netlink::Socket& socket);

/// Same, in a private network namespace that exists only for the probe (a helper thread
/// unshare()s it), so the host's interfaces are never touched. Needs CAP_SYS_ADMIN.
Result<LeafCapabilities> probeLeafCapabilities();

/// Parses a leaf kind name as lqos.conf / tc spell it ("cake", "fq_codel", "pfifo", "bfifo",
/// "none"); nullopt for anything else.
std::optional<plan::LeafKind> parseLeafKind(std::string_view name);

/// What applyLeafFallback changed.
struct FallbackReport {
  std::vector<plan::LeafKind> missing;  ///< kinds the plan uses that the kernel lacks
  size_t replacedLeaves = 0;            ///< leaves switched to the fallback kind
  /// The plan wanted TBF holder qdiscs and the kernel has no sch_tbf: the plan has none now, and
  /// this says so for the operator, with the kernel's reason ("" when nothing was dropped).
  std::string holderDropped;
};

/// Makes `plan` use only leaf kinds `caps` supports. Every leaf of a missing kind becomes
/// `fallback` (handle kept; fifo limit 0 = kernel default). Errors (EOPNOTSUPP) when a kind is
/// missing and there is no fallback, or the fallback itself is missing; the message names the
/// kinds and carries the probe's notes. Holder qdiscs the kernel cannot make are dropped
/// (plan::setHolder(None)): the tree works without them, only rebuilds and queue count changes
/// lose packets again. The caller must report a non-empty `replacedLeaves` and `holderDropped`
/// loudly (issue 3: a fallback is never silent).
Result<FallbackReport> applyLeafFallback(plan::QueuePlan& plan, const LeafCapabilities& caps,
                                         std::optional<plan::LeafKind> fallback);

/// Converts a plan class to the HTB options the encoder takes (bits/s -> bytes/s, iproute2's
/// default bursts).
HtbClassOptions htbOptionsFor(const plan::HtbClassPlan& cls);

/// The tc kind name of a leaf ("cake", "fq_codel", "pfifo", "bfifo"; "" for None).
std::string_view leafKindName(plan::LeafKind kind);

}  // namespace sluice::tc
