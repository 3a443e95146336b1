#include "tc/Applier.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "tc/Cake.h"
#include "tc/Fifo.h"
#include "tc/FqCodel.h"
#include "tc/LiveTree.h"
#include "tc/Mq.h"
#include "tc/Tbf.h"

namespace sluice::tc {
namespace {

using Clock = std::chrono::steady_clock;

// Bounds the memory of one batch; the socket chunks it further for sendmsg().
constexpr size_t kFlushBytes = 8u << 20;

uint32_t mqHandle() { return makeHandle(plan::kMqMajor, 0); }
uint32_t queueParent(const plan::HtbQueuePlan& q) { return plan::queueParentOf(q).raw(); }
uint32_t leafHandle(const plan::LeafSpec& leaf) { return makeHandle(leaf.handleMajor, 0); }

bool hasLeaf(const plan::HtbClassPlan& cls) {
  return cls.leaf.has_value() && cls.leaf->kind != plan::LeafKind::None;
}

void encodeLeaf(netlink::Batch& b, Verb verb, const TcTarget& t, const plan::LeafSpec& leaf) {
  switch (leaf.kind) {
    case plan::LeafKind::Cake:
      encodeCake(b, verb, t, leaf.cake);
      break;
    case plan::LeafKind::FqCodel:
      encodeFqCodel(b, verb, t, leaf.fqCodel);
      break;
    case plan::LeafKind::Pfifo:
      encodeFifo(b, verb, t, FifoKind::Packets, leaf.fifoLimit);
      break;
    case plan::LeafKind::Bfifo:
      encodeFifo(b, verb, t, FifoKind::Bytes, leaf.fifoLimit);
      break;
    case plan::LeafKind::None:
      break;
  }
}

/// True when the live leaf already is what `leaf` asks for.
bool leafMatches(const LiveQdisc& live, const plan::LeafSpec& leaf) {
  if (live.handle != leafHandle(leaf) || live.kind != leafKindName(leaf.kind)) {
    return false;
  }
  switch (leaf.kind) {
    case plan::LeafKind::Cake:
      return live.cake && *live.cake == normalizeCake(leaf.cake);
    case plan::LeafKind::FqCodel:
      return live.fqCodel && *live.fqCodel == normalizeFqCodel(leaf.fqCodel);
    case plan::LeafKind::Pfifo:
    case plan::LeafKind::Bfifo:
      // A zero (default) limit is resolved by the kernel; only an explicit one can be compared.
      return leaf.fifoLimit == 0 || live.fifoLimit == leaf.fifoLimit;
    case plan::LeafKind::None:
      return false;
  }
  return false;
}

bool classMatches(const LiveClass& live, const plan::HtbClassPlan& cls) {
  return live.htb && live.parent == cls.parent.raw() &&
         live.htb->rateBytesPerSec == cls.rateBitsPerSecond / 8 &&
         live.htb->ceilBytesPerSec == cls.ceilBitsPerSecond / 8 &&
         live.htb->quantumBytes == cls.quantumBytes && live.htb->prio == cls.prio;
}

/// Sends `batch` when it has grown past kFlushBytes (or always with `force`), then clears it.
Result<void> flush(netlink::Socket& socket, netlink::Batch& batch, ApplyStats& stats,
                   bool force) {
  if (batch.empty() || (!force && batch.bytes() < kFlushBytes)) {
    return {};
  }
  stats.messages += batch.size();
  auto r = socket.execute(batch);
  batch.clear();
  return r;
}

}  // namespace

std::string_view leafKindName(plan::LeafKind kind) {
  switch (kind) {
    case plan::LeafKind::Cake:
      return "cake";
    case plan::LeafKind::FqCodel:
      return "fq_codel";
    case plan::LeafKind::Pfifo:
      return "pfifo";
    case plan::LeafKind::Bfifo:
      return "bfifo";
    case plan::LeafKind::None:
      return "";
  }
  return "";
}

HtbClassOptions htbOptionsFor(const plan::HtbClassPlan& cls) {
  HtbClassOptions o;
  o.rateBytesPerSec = cls.rateBitsPerSecond / 8;
  o.ceilBytesPerSec = cls.ceilBitsPerSecond / 8;
  o.quantumBytes = cls.quantumBytes;
  o.prio = cls.prio;
  return o;
}

NetlinkApplier::NetlinkApplier(netlink::Socket socket, Psched clock)
    : socket_(std::move(socket)), clock_(clock) {}

Result<int> NetlinkApplier::resolve(const std::string& ifname) {
  auto index = socket_.linkIndex(ifname);
  if (!index) {
    Error e = index.error();
    e.context = fmt::format("apply tree to dev {}: {}", ifname, e.context);
    return std::unexpected(e);
  }
  return *index;
}

Result<uint32_t> NetlinkApplier::holderCount(const plan::InterfacePlan& plan) {
  for (const auto& q : plan.queues) {
    if (q.holder != plan::interfaceHolder(plan)) {
      return makeError(EINVAL, fmt::format("apply tree to dev {}", plan.ifname),
                       fmt::format("HTB qdisc {:x}: has holder {}, its interface {} (plan::setHolder "
                                   "sets both)",
                                   q.major, plan::holderKindName(q.holder),
                                   plan::holderKindName(plan::interfaceHolder(plan))));
    }
  }
  if (plan::interfaceHolder(plan) == plan::HolderKind::None) {
    return 0;
  }
  auto info = socket_.linkInfo(plan.ifname);
  if (!info) {
    Error e = info.error();
    e.context = fmt::format("apply tree to dev {}: {}", plan.ifname, e.context);
    return std::unexpected(e);
  }
  return std::min(info->txQueues, plan::kMaxHolderTxQueues);
}

Result<void> NetlinkApplier::create(const plan::InterfacePlan& plan) {
  stats_ = {};
  const uint64_t sendsBefore = socket_.stats().sendCalls;
  auto ifindex = resolve(plan.ifname);
  if (!ifindex) {
    return std::unexpected(ifindex.error());
  }
  auto holders = holderCount(plan);
  if (!holders) {
    return std::unexpected(holders.error());
  }
  const auto target = [&](uint32_t handle, uint32_t parent) {
    return TcTarget{*ifindex, plan.ifname, handle, parent};
  };
  double encodeSeconds = 0;
  netlink::Batch batch;
  auto timed = [&](auto&& fn) {
    const auto t0 = Clock::now();
    fn();
    encodeSeconds += std::chrono::duration<double>(Clock::now() - t0).count();
  };
  timed([&] {
    encodeMq(batch, Verb::Add, target(mqHandle(), kRootParent));
    for (uint32_t t = 0; t < *holders; ++t) {
      encodeHolder(batch, *ifindex, plan.ifname, static_cast<uint16_t>(t),
                   plan::interfaceHolder(plan));
    }
    for (const auto& q : plan.queues) {
      encodeHtbQdisc(batch, Verb::Add, target(makeHandle(q.major, 0), queueParent(q)),
                     HtbQdiscOptions{q.r2q, q.defaultMinor, std::nullopt});
    }
  });
  for (const auto& q : plan.queues) {
    for (const auto& cls : q.classes) {
      timed([&] {
        encodeHtbClass(batch, Verb::Add, target(cls.classid.raw(), cls.parent.raw()),
                       htbOptionsFor(cls), clock_);
        if (!leavesLast_ && hasLeaf(cls)) {
          encodeLeaf(batch, Verb::Add, target(leafHandle(*cls.leaf), cls.classid.raw()),
                     *cls.leaf);
        }
      });
      if (auto r = flush(socket_, batch, stats_, false); !r) {
        return r;
      }
    }
  }
  for (const auto& q : plan.queues) {
    for (const auto& cls : q.classes) {
      if (!leavesLast_ || !hasLeaf(cls)) {
        continue;
      }
      timed([&] {
        encodeLeaf(batch, Verb::Add, target(leafHandle(*cls.leaf), cls.classid.raw()), *cls.leaf);
      });
      if (auto r = flush(socket_, batch, stats_, false); !r) {
        return r;
      }
    }
  }
  auto r = flush(socket_, batch, stats_, true);
  stats_.encodeSeconds = encodeSeconds;
  stats_.sendCalls = socket_.stats().sendCalls - sendsBefore;
  return r;
}

Result<void> NetlinkApplier::remove(const std::string& ifname) {
  stats_ = {};
  auto ifindex = resolve(ifname);
  if (!ifindex) {
    return std::unexpected(ifindex.error());
  }
  netlink::Batch batch;
  encodeQdiscDelete(batch, TcTarget{*ifindex, ifname, 0, kRootParent});
  stats_.messages = 1;
  auto r = socket_.execute(batch);
  if (!r && (r.error().errnum == ENOENT || r.error().errnum == EINVAL)) {
    return {};  // only the kernel's default root (handle 0), which cannot be deleted: nothing to do
  }
  return r;
}

Result<void> NetlinkApplier::replace(const plan::InterfacePlan& plan) {
  auto live = readLiveTree(socket_, plan.ifname);
  if (!live) {
    Error e = live.error();
    e.context = fmt::format("apply tree to dev {}: {}", plan.ifname, e.context);
    return std::unexpected(e);
  }
  const LiveQdisc* root = live->qdiscAt(kRootParent);
  if (root == nullptr || root->kind != "mq" || root->handle != mqHandle()) {
    if (root != nullptr && root->handle != 0) {
      if (auto r = remove(plan.ifname); !r) {
        return r;
      }
    }
    return create(plan);
  }
  auto holders = holderCount(plan);
  if (!holders) {
    return std::unexpected(holders.error());
  }
  stats_ = {};
  const uint64_t sendsBefore = socket_.stats().sendCalls;
  const int ifindex = live->ifindex;
  const auto target = [&](uint32_t handle, uint32_t parent) {
    return TcTarget{ifindex, plan.ifname, handle, parent};
  };
  std::unordered_map<uint32_t, const LiveClass*> liveClasses;
  for (const auto& c : live->classes) {
    liveClasses.emplace(c.classid, &c);
  }
  std::unordered_map<uint32_t, const LiveQdisc*> liveQdiscByParent;
  for (const auto& q : live->qdiscs) {
    liveQdiscByParent.emplace(q.parent, &q);
  }

  netlink::Batch deletes;
  netlink::Batch updates;
  // Holders first: a missing one is grafted under its mq class (over whatever sat there, an HTB
  // qdisc from a tree without holders included: its queue is then rebuilt below the holder).
  std::unordered_set<uint32_t> regrafted;  // mq classes whose holder is added or removed
  for (uint32_t t = 0; t < *holders; ++t) {
    const auto tx = static_cast<uint16_t>(t);
    auto it = liveQdiscByParent.find(plan::mqClassOf(tx).raw());
    if (it == liveQdiscByParent.end() || !isHolderOf(it->second->kind, it->second->handle, tx)) {
      encodeHolder(updates, ifindex, plan.ifname, tx, plan::interfaceHolder(plan));
      regrafted.insert(plan::mqClassOf(tx).raw());
    }
  }
  std::unordered_set<uint32_t> freshQueues;  // HTB majors rebuilt from nothing
  std::unordered_set<uint32_t> plannedParents;
  for (const auto& q : plan.queues) {
    plannedParents.insert(queueParent(q));
    const uint32_t mqClass = plan::mqClassOf(q.txQueue).raw();
    if (*holders == 0) {
      // A holder the plan no longer wants goes first, with the HTB qdisc below it (which may
      // have this queue's handle: the kernel refuses to move a qdisc to another parent). A pfifo
      // takes its place until the HTB qdisc is added: the tx queue never points at noop.
      auto hi = liveQdiscByParent.find(mqClass);
      if (hi != liveQdiscByParent.end() &&
          isHolderOf(hi->second->kind, hi->second->handle, q.txQueue)) {
        encodeFifo(deletes, Verb::Replace, target(0, mqClass), FifoKind::Packets, 0);
        regrafted.insert(mqClass);
      }
    }
    auto it = liveQdiscByParent.find(queueParent(q));
    const LiveQdisc* cur =
        it == liveQdiscByParent.end() || regrafted.contains(mqClass) ? nullptr : it->second;
    const HtbQdiscOptions want{q.r2q, q.defaultMinor, std::nullopt};
    // An r2q that only the planner's link rate moved is kept when no class reads it
    // (plan::r2qIsInert): rebuilding would regraft under mq and drop every class of the queue.
    const bool keep = cur != nullptr && cur->kind == "htb" &&
                      cur->handle == makeHandle(q.major, 0) && cur->htb &&
                      !plan::r2qDiffersInEffect(cur->htb->r2q, q) &&
                      cur->htb->defaultMinor == want.defaultMinor;
    if (!keep) {
      freshQueues.insert(q.major);
      if (cur != nullptr && cur->handle == makeHandle(q.major, 0)) {
        // Same handle, other settings: HTB cannot change r2q/default in place; rebuild it.
        encodeQdiscDelete(deletes, target(cur->handle, queueParent(q)));
        encodeHtbQdisc(updates, Verb::Add, target(makeHandle(q.major, 0), queueParent(q)), want);
      } else {
        // A replace with a new qdisc grafts it under the parent class and destroys the old one.
        encodeHtbQdisc(updates, Verb::Replace, target(makeHandle(q.major, 0), queueParent(q)),
                       want);
      }
    }
  }
  // HTB queues the plan no longer has (under an mq class or a holder), and holders the plan no
  // longer wants: back to a plain FIFO so their tx queue keeps working.
  for (const auto& q : live->qdiscs) {
    if (q.parent == kRootParent || plannedParents.contains(q.parent) ||
        regrafted.contains(q.parent)) {
      continue;  // replaced above
    }
    const auto parentMajor = static_cast<uint16_t>(q.parent >> 16);
    const auto parentMinor = static_cast<uint16_t>(q.parent & 0xFFFF);
    if (parentMajor == plan::kMqMajor) {
      const bool holder = parentMinor >= 1 && parentMinor <= plan::kMaxHolderTxQueues &&
                          isHolderOf(q.kind, q.handle, parentMinor - 1);
      if (q.kind == "htb" || (holder && *holders == 0)) {
        encodeFifo(updates, Verb::Replace, target(0, q.parent), FifoKind::Packets, 0);
      }
    } else if (q.kind == "htb" && parentMinor == 1 && parentMajor < plan::kMqMajor &&
               plan::isReservedMajor(parentMajor)) {
      // Under a holder. Without holders in the plan the holder itself is replaced (above, or by
      // the mq-class branch of this loop) and this qdisc goes with it: a replace below it could
      // come after the holder is gone (ENOENT).
      if (*holders > 0) {
        encodeFifo(updates, Verb::Replace, target(0, q.parent), FifoKind::Packets, 0);
      }
    }
  }

  // Classes of kept queues: delete those not planned or re-parented, deepest first.
  std::unordered_map<uint32_t, const plan::HtbClassPlan*> planned;
  for (const auto& q : plan.queues) {
    for (const auto& cls : q.classes) {
      planned.emplace(cls.classid.raw(), &cls);
    }
  }
  std::unordered_set<uint32_t> plannedMajors;
  for (const auto& q : plan.queues) {
    plannedMajors.insert(q.major);
  }
  std::vector<std::pair<int, uint32_t>> doomed;  // (depth, classid)
  for (const auto& c : live->classes) {
    // Classes of rebuilt or dropped HTB qdiscs go away with their qdisc.
    if (c.kind != "htb" || freshQueues.contains(c.classid >> 16) ||
        !plannedMajors.contains(c.classid >> 16)) {
      continue;
    }
    auto it = planned.find(c.classid);
    if (it != planned.end() && it->second->parent.raw() == c.parent) {
      continue;
    }
    int depth = 0;
    for (uint32_t p = c.parent; liveClasses.contains(p) && depth < 16; ++depth) {
      p = liveClasses.at(p)->parent;
    }
    doomed.emplace_back(depth, c.classid);
  }
  std::sort(doomed.begin(), doomed.end(), std::greater<>());
  std::unordered_set<uint32_t> deleted;
  for (const auto& [depth, classid] : doomed) {
    encodeClassDelete(deletes, target(classid, 0));
    deleted.insert(classid);
  }

  // Adds and changes in plan order (parents first), then leaves.
  for (const auto& q : plan.queues) {
    const bool fresh = freshQueues.contains(q.major);
    for (const auto& cls : q.classes) {
      auto it = liveClasses.find(cls.classid.raw());
      const bool exists = !fresh && it != liveClasses.end() && !deleted.contains(cls.classid.raw());
      if (exists && classMatches(*it->second, cls)) {
        continue;
      }
      encodeHtbClass(updates, exists ? Verb::Change : Verb::Add,
                     target(cls.classid.raw(), cls.parent.raw()), htbOptionsFor(cls), clock_);
    }
  }
  for (const auto& q : plan.queues) {
    const bool fresh = freshQueues.contains(q.major);
    for (const auto& cls : q.classes) {
      const bool recreated = fresh || deleted.contains(cls.classid.raw()) ||
                             !liveClasses.contains(cls.classid.raw());
      auto it = liveQdiscByParent.find(cls.classid.raw());
      const LiveQdisc* cur = (recreated || it == liveQdiscByParent.end()) ? nullptr : it->second;
      if (!hasLeaf(cls)) {
        if (cur != nullptr) {
          encodeQdiscDelete(updates, target(cur->handle, cls.classid.raw()));
        }
        continue;
      }
      if (cur != nullptr && leafMatches(*cur, *cls.leaf)) {
        continue;
      }
      bool inPlace = cur != nullptr && cur->handle == leafHandle(*cls.leaf) &&
                     cur->kind == leafKindName(cls.leaf->kind);
      if (inPlace && cls.leaf->kind == plan::LeafKind::FqCodel &&
          (!cur->fqCodel || cur->fqCodel->flows != cls.leaf->fqCodel.flows)) {
        inPlace = false;  // fq_codel cannot resize its flow table: new qdisc
      }
      if (cur != nullptr && !inPlace) {
        // The kernel changes a qdisc in place only with the same handle and kind ("Invalid qdisc
        // name: must match existing qdisc"); anything else is a delete and a fresh add.
        encodeQdiscDelete(deletes, target(cur->handle, cls.classid.raw()));
      }
      const TcTarget leafTarget = target(leafHandle(*cls.leaf), cls.classid.raw());
      if (inPlace && cls.leaf->kind == plan::LeafKind::FqCodel) {
        encodeFqCodel(updates, Verb::Replace, leafTarget, cls.leaf->fqCodel, false);
      } else {
        encodeLeaf(updates, inPlace ? Verb::Replace : Verb::Add, leafTarget, *cls.leaf);
      }
    }
  }
  stats_.messages = deletes.size() + updates.size();
  if (auto r = socket_.execute(deletes); !r) {
    return r;
  }
  auto r = socket_.execute(updates);
  stats_.sendCalls = socket_.stats().sendCalls - sendsBefore;
  return r;
}

std::vector<plan::InterfacePlan> treesByDevice(const plan::QueuePlan& plan) {
  std::vector<plan::InterfacePlan> merged;
  for (const auto& iface : plan.interfaces) {
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const auto& m) { return m.ifname == iface.ifname; });
    if (it == merged.end()) {
      merged.push_back(iface);
    } else {
      it->queues.insert(it->queues.end(), iface.queues.begin(), iface.queues.end());
    }
  }
  return merged;
}

Result<void> applyPlan(TcApplier& applier, const plan::QueuePlan& plan, ApplyMode mode) {
  for (const auto& iface : treesByDevice(plan)) {
    Result<void> r;
    switch (mode) {
      case ApplyMode::Create:
        r = applier.create(iface);
        break;
      case ApplyMode::Replace:
        r = applier.replace(iface);
        break;
      case ApplyMode::Remove:
        r = applier.remove(iface.ifname);
        break;
    }
    if (!r) {
      return r;
    }
  }
  return {};
}

}  // namespace sluice::tc
