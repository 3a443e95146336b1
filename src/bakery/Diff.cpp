// diff(): the ordered operations that turn the active plan into the desired one.

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "bakery/Bakery.h"

namespace sluice::bakery {
namespace {

using plan::ClassRole;
using plan::HtbClassPlan;
using plan::HtbQueuePlan;
using plan::InterfacePlan;
using plan::LeafKind;
using plan::LeafSpec;
using plan::QueuePlan;

bool hasLeaf(const HtbClassPlan& cls) {
  return cls.leaf.has_value() && cls.leaf->kind != LeafKind::None;
}

/// One device of a plan: its queues from every interface entry with its name (on a stick both
/// directions share one mq root). Points into the plan (no copy of its classes).
struct Device {
  std::string ifname;
  std::vector<const HtbQueuePlan*> queues;
};

std::vector<Device> devices(const QueuePlan& p) {
  std::vector<Device> out;
  for (const auto& iface : p.interfaces) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const Device& d) { return d.ifname == iface.ifname; });
    if (it == out.end()) {
      out.push_back(Device{iface.ifname, {}});
      it = out.end() - 1;
    }
    for (const auto& q : iface.queues) {
      it->queues.push_back(&q);
    }
  }
  return out;
}

/// True when every class of `q` has the queue's major (what lets diffQueue index by minor).
bool uniformMajor(const HtbQueuePlan& q) {
  return std::all_of(q.classes.begin(), q.classes.end(),
                     [&](const HtbClassPlan& c) { return c.classid.major == q.major; });
}

TcOp queueOp(TcOp::Kind kind, const std::string& ifname, const HtbQueuePlan& q) {
  TcOp op;
  op.kind = kind;
  op.ifname = ifname;
  op.queue = queueHeader(q);
  return op;
}

TcOp leafOp(TcOp::Kind kind, const std::string& ifname, const HtbQueuePlan& q,
            const HtbClassPlan& cls, const LeafSpec& leaf) {
  TcOp op = classOp(kind, ifname, q, cls);
  op.leaf = leaf;
  return op;
}

bool sameClassParams(const HtbClassPlan& a, const HtbClassPlan& b) {
  return a.rateBitsPerSecond == b.rateBitsPerSecond && a.ceilBitsPerSecond == b.ceilBitsPerSecond &&
         a.quantumBytes == b.quantumBytes && a.prio == b.prio;
}

/// Who a class stands for, for counting change kinds per circuit/node (not per class).
struct Who {
  ClassRole role;
  std::string name;  // circuit ID or node name; "" for link/default/unplaced
};
Who who(const QueuePlan& p, const HtbClassPlan& cls) {
  if (cls.role == ClassRole::Circuit && cls.modelIndex >= 0 &&
      static_cast<size_t>(cls.modelIndex) < p.circuits.size()) {
    return {cls.role, p.circuits[cls.modelIndex].circuitId};
  }
  if (cls.role == ClassRole::Node && cls.modelIndex >= 0 &&
      static_cast<size_t>(cls.modelIndex) < p.nodes.size()) {
    return {cls.role, p.nodes[cls.modelIndex].name};
  }
  return {cls.role, "#" + cls.classid.toString()};
}

class Differ {
 public:
  Differ(const QueuePlan& active, const QueuePlan& desired) : a_(active), d_(desired) {}

  ChangeSet run() {
    if (a_.onAStick != d_.onAStick) {
      cs_.rebuildReason = fmt::format("on-a-stick changed ({} -> {})", a_.onAStick, d_.onAStick);
    }
    // Holders are made with the mq root (and kept while it observes without queues).
    if (a_.holder != d_.holder && !cs_.rebuildReason && !a_.interfaces.empty()) {
      cs_.rebuildReason = fmt::format("queue holder changed ({} -> {}); the mq root is rebuilt",
                                      plan::holderKindName(a_.holder),
                                      plan::holderKindName(d_.holder));
    }
    const auto activeDevs = devices(a_);
    const auto desiredDevs = devices(d_);
    for (const auto& dev : desiredDevs) {
      auto it = std::find_if(activeDevs.begin(), activeDevs.end(),
                             [&](const Device& x) { return x.ifname == dev.ifname; });
      if (it == activeDevs.end()) {
        HtbQueuePlan holder;
        holder.holder = d_.holder;
        roots_.push_back(queueOp(TcOp::Kind::AddRoot, dev.ifname, holder));
        for (const auto* q : dev.queues) {
          addQueue(dev.ifname, *q);
        }
      } else {
        diffDevice(*it, dev);
      }
    }
    for (const auto& dev : activeDevs) {
      const bool kept = std::any_of(desiredDevs.begin(), desiredDevs.end(),
                                    [&](const Device& x) { return x.ifname == dev.ifname; });
      if (!kept) {
        for (const auto* q : dev.queues) {
          for (const auto& cls : q->classes) {
            gone(cls);
          }
        }
        dropRoots_.push_back(queueOp(TcOp::Kind::DeleteRoot, dev.ifname, {}));
      }
    }
    diffAddresses();
    countChanges();

    auto& add = cs_.addPhase;
    for (auto* part : {&roots_, &queues_, &classAdds_, &classChanges_, &leafOps_}) {
      add.insert(add.end(), part->begin(), part->end());
    }
    auto& del = cs_.deletePhase;
    del.insert(del.end(), leafDeletes_.begin(), leafDeletes_.end());
    // Children before parents: the active plan lists parents first, so delete in reverse.
    del.insert(del.end(), classDeletes_.rbegin(), classDeletes_.rend());
    del.insert(del.end(), dropQueues_.begin(), dropQueues_.end());
    del.insert(del.end(), dropRoots_.begin(), dropRoots_.end());
    return std::move(cs_);
  }

 private:
  void addQueue(const std::string& ifname, const HtbQueuePlan& q) {
    queues_.push_back(queueOp(TcOp::Kind::AddHtbQdisc, ifname, q));
    for (const auto& cls : q.classes) {
      addClass(ifname, q, cls);
    }
  }

  void addClass(const std::string& ifname, const HtbQueuePlan& q, const HtbClassPlan& cls) {
    classAdds_.push_back(classOp(TcOp::Kind::AddClass, ifname, q, cls));
    if (hasLeaf(cls)) {
      leafOps_.push_back(leafOp(TcOp::Kind::AddLeaf, ifname, q, cls, *cls.leaf));
    }
    const Who w = who(d_, cls);
    (w.role == ClassRole::Circuit ? circuitsWithNewClass_ : nodesWithNewClass_).insert(w.name);
  }

  void gone(const HtbClassPlan& cls) {
    const Who w = who(a_, cls);
    (w.role == ClassRole::Circuit ? circuitsWithGoneClass_ : nodesWithGoneClass_).insert(w.name);
  }

  void diffDevice(const Device& active, const Device& desired) {
    std::map<uint16_t, const HtbQueuePlan*> activeQueues;
    for (const auto* q : active.queues) {
      activeQueues.emplace(q->major, q);
    }
    std::set<uint16_t> desiredMajors;
    for (const auto* qp : desired.queues) {
      const HtbQueuePlan& q = *qp;
      desiredMajors.insert(q.major);
      auto it = activeQueues.find(q.major);
      if (it == activeQueues.end()) {
        addQueue(desired.ifname, q);
        continue;
      }
      const HtbQueuePlan& aq = *it->second;
      if (aq.txQueue != q.txQueue || aq.r2q != q.r2q || aq.defaultMinor != q.defaultMinor ||
          aq.direction != q.direction) {
        if (!cs_.rebuildReason) {
          cs_.rebuildReason = fmt::format(
              "HTB qdisc {:x}: on {} changed (tx queue {} -> {}, r2q {} -> {}, default {:x} -> "
              "{:x}); HTB cannot change these in place",
              q.major, desired.ifname, aq.txQueue, q.txQueue, aq.r2q, q.r2q, aq.defaultMinor,
              q.defaultMinor);
        }
        continue;
      }
      diffQueue(desired.ifname, aq, q);
    }
    for (const auto* q : active.queues) {
      if (!desiredMajors.contains(q->major)) {
        for (const auto& cls : q->classes) {
          gone(cls);
        }
        dropQueues_.push_back(queueOp(TcOp::Kind::DeleteHtbQdisc, active.ifname, *q));
      }
    }
  }

  void diffQueue(const std::string& ifname, const HtbQueuePlan& aq, const HtbQueuePlan& q) {
    // Classes by minor in two reused 64k tables when every classid has the queue's major (the
    // planner's and stabilized plans); a hash map otherwise (hand-made plans in tests).
    const bool byMinor = aq.major == q.major && uniformMajor(aq) && uniformMajor(q);
    std::unordered_map<uint32_t, const HtbClassPlan*> activeClasses;
    std::unordered_set<uint32_t> desiredClassids;
    if (byMinor) {
      activeByMinor_.resize(0x10000, nullptr);
      desiredMinor_.resize(0x10000, false);
      for (const auto& cls : aq.classes) {
        activeByMinor_[cls.classid.minor] = &cls;
      }
    } else {
      for (const auto& cls : aq.classes) {
        activeClasses.emplace(cls.classid.raw(), &cls);
      }
    }
    for (const auto& cls : q.classes) {
      const HtbClassPlan* found = nullptr;
      if (byMinor) {
        desiredMinor_[cls.classid.minor] = true;
        found = activeByMinor_[cls.classid.minor];
      } else {
        desiredClassids.insert(cls.classid.raw());
        auto it = activeClasses.find(cls.classid.raw());
        found = it == activeClasses.end() ? nullptr : it->second;
      }
      if (found == nullptr) {
        addClass(ifname, q, cls);
        continue;
      }
      const HtbClassPlan& old = *found;
      if (old.parent != cls.parent) {
        if (!cs_.rebuildReason) {
          cs_.rebuildReason = fmt::format(
              "class {} on {} changed parent {} -> {} under the same classid (plans not "
              "stabilized?)",
              cls.classid.toString(), ifname, old.parent.toString(), cls.parent.toString());
        }
        continue;
      }
      if (!sameClassParams(old, cls)) {
        const Who w = who(d_, cls);
        classChanges_.push_back(classOp(TcOp::Kind::ChangeClass, ifname, q, cls));
        (w.role == ClassRole::Circuit ? speedChanged_ : nodeSpeedChanged_).insert(w.name);
      }
      diffLeaf(ifname, q, old, cls);
    }
    for (const auto& cls : aq.classes) {
      const bool kept = byMinor ? desiredMinor_[cls.classid.minor]
                                : desiredClassids.contains(cls.classid.raw());
      if (!kept) {
        gone(cls);
        classDeletes_.push_back(classOp(TcOp::Kind::DeleteClass, ifname, aq, cls));
      }
    }
    if (byMinor) {  // leave the tables clean for the next queue
      for (const auto& cls : aq.classes) activeByMinor_[cls.classid.minor] = nullptr;
      for (const auto& cls : q.classes) desiredMinor_[cls.classid.minor] = false;
    }
  }

  void diffLeaf(const std::string& ifname, const HtbQueuePlan& q, const HtbClassPlan& old,
                const HtbClassPlan& cls) {
    const bool had = hasLeaf(old);
    const bool has = hasLeaf(cls);
    if (!had && !has) {
      return;
    }
    if (had && has && *old.leaf == *cls.leaf) {
      return;
    }
    sqmChanged_.insert(who(d_, cls).name);
    if (!has) {
      leafDeletes_.push_back(leafOp(TcOp::Kind::DeleteLeaf, ifname, q, cls, *old.leaf));
      return;
    }
    if (!had || old.leaf->handleMajor != cls.leaf->handleMajor) {
      // A new handle: the graft replaces the old leaf in one step (no leafless moment).
      leafOps_.push_back(leafOp(TcOp::Kind::AddLeaf, ifname, q, cls, *cls.leaf));
      return;
    }
    const bool inPlace = old.leaf->kind == cls.leaf->kind &&
                         (cls.leaf->kind != LeafKind::FqCodel ||
                          old.leaf->fqCodel.flows == cls.leaf->fqCodel.flows);
    if (inPlace) {
      leafOps_.push_back(leafOp(TcOp::Kind::ChangeLeaf, ifname, q, cls, *cls.leaf));
    } else {
      // Same handle, other kind (plans not stabilized): the kernel cannot change a qdisc's kind,
      // so the old leaf goes first (HTB falls back to its default FIFO for that moment).
      leafOps_.push_back(leafOp(TcOp::Kind::DeleteLeaf, ifname, q, cls, *old.leaf));
      leafOps_.push_back(leafOp(TcOp::Kind::AddLeaf, ifname, q, cls, *cls.leaf));
    }
  }

  static bool sortedByPrefix(const std::vector<plan::AddressMapping>& v) {
    for (size_t i = 1; i < v.size(); ++i) {
      if (!(v[i - 1].prefix < v[i].prefix)) return false;
    }
    return true;
  }

  static std::string circuitName(const QueuePlan& p, int32_t index) {
    return index >= 0 && static_cast<size_t>(index) < p.circuits.size()
               ? p.circuits[index].circuitId
               : std::string("#") + std::to_string(index);
  }

  void changedAddress(const plan::AddressMapping& old, const plan::AddressMapping& m) {
    cs_.upserts.push_back(m);
    if (old.downClass != m.downClass || old.upClass != m.upClass || old.queue != m.queue ||
        circuitName(a_, old.circuit) != circuitName(d_, m.circuit)) {
      ++cs_.counts[ChangeKind::AddressMoved];
    }
  }

  void diffAddresses() {
    if (sortedByPrefix(a_.addresses) && sortedByPrefix(d_.addresses)) {
      // Both sorted (QueuePlan::addresses is): one merge walk. Upserts come in desired order and
      // removals in active order, as from the general walk below.
      const auto& av = a_.addresses;
      const auto& dv = d_.addresses;
      size_t i = 0;
      size_t j = 0;
      while (j < dv.size()) {
        if (i < av.size() && av[i].prefix < dv[j].prefix) {
          cs_.removals.push_back(av[i].prefix);
          ++cs_.counts[ChangeKind::AddressRemoved];
          ++i;
        } else if (i < av.size() && av[i].prefix == dv[j].prefix) {
          if (!(av[i] == dv[j])) changedAddress(av[i], dv[j]);
          ++i;
          ++j;
        } else {
          cs_.upserts.push_back(dv[j]);
          ++cs_.counts[ChangeKind::AddressAdded];
          ++j;
        }
      }
      for (; i < av.size(); ++i) {
        cs_.removals.push_back(av[i].prefix);
        ++cs_.counts[ChangeKind::AddressRemoved];
      }
      cs_.bumpEpoch = !cs_.upserts.empty() || !cs_.removals.empty();
      return;
    }
    std::map<IpNet, const plan::AddressMapping*> active;
    for (const auto& m : a_.addresses) {
      active.emplace(m.prefix, &m);
    }
    std::set<IpNet> desired;
    for (const auto& m : d_.addresses) {
      desired.insert(m.prefix);
      auto it = active.find(m.prefix);
      if (it == active.end()) {
        cs_.upserts.push_back(m);
        ++cs_.counts[ChangeKind::AddressAdded];
        continue;
      }
      const auto& old = *it->second;
      if (old == m) {
        continue;
      }
      changedAddress(old, m);
    }
    for (const auto& m : a_.addresses) {
      if (!desired.contains(m.prefix)) {
        cs_.removals.push_back(m.prefix);
        ++cs_.counts[ChangeKind::AddressRemoved];
      }
    }
    cs_.bumpEpoch = !cs_.upserts.empty() || !cs_.removals.empty();
  }

  void countChanges() {
    // Only the circuits / nodes whose classes came or went are looked up (none in most applies;
    // a few: one scan per ID; many: hash sets).
    // A circuit counts as present when it has a class: a lazy queue's idle circuit keeps its
    // placement with classid 0:0 (src/lazy), so its activation is an add, its expiry a removal.
    const auto shaped = [](const plan::CircuitPlacement& c) {
      return c.downClass.raw() != 0 || c.upClass.raw() != 0;
    };
    const size_t touchedCircuits = circuitsWithNewClass_.size() + circuitsWithGoneClass_.size();
    std::unordered_set<std::string_view> activeCircuits;
    std::unordered_set<std::string_view> desiredCircuits;
    if (touchedCircuits > 16) {
      activeCircuits.reserve(a_.circuits.size());
      desiredCircuits.reserve(d_.circuits.size());
      for (const auto& c : a_.circuits) {
        if (shaped(c)) {
          activeCircuits.insert(c.circuitId);
        }
      }
      for (const auto& c : d_.circuits) {
        if (shaped(c)) {
          desiredCircuits.insert(c.circuitId);
        }
      }
    }
    const auto hasCircuit = [&](const QueuePlan& p, const std::unordered_set<std::string_view>& set,
                                const std::string& id) {
      if (touchedCircuits > 16) {
        return set.contains(id);
      }
      return std::any_of(p.circuits.begin(), p.circuits.end(), [&](const plan::CircuitPlacement& c) {
        return c.circuitId == id && shaped(c);
      });
    };
    std::unordered_set<std::string_view> activeNodes;
    std::unordered_set<std::string_view> desiredNodes;
    for (const auto& n : a_.nodes) {
      activeNodes.insert(n.name);
    }
    for (const auto& n : d_.nodes) {
      desiredNodes.insert(n.name);
    }
    const auto bump = [&](ChangeKind kind, size_t n) {
      if (n > 0) {
        cs_.counts[kind] += n;
      }
    };
    size_t added = 0, removed = 0, moved = 0;
    std::set<std::string> touched = circuitsWithNewClass_;
    touched.insert(circuitsWithGoneClass_.begin(), circuitsWithGoneClass_.end());
    for (const auto& id : touched) {
      const bool inA = hasCircuit(a_, activeCircuits, id);
      const bool inD = hasCircuit(d_, desiredCircuits, id);
      if (inA && inD) {
        ++moved;
      } else if (inD) {
        ++added;
      } else if (inA) {
        ++removed;
      }
    }
    size_t nAdded = 0, nRemoved = 0;
    std::set<std::string> nodesTouched = nodesWithNewClass_;
    nodesTouched.insert(nodesWithGoneClass_.begin(), nodesWithGoneClass_.end());
    for (const auto& name : nodesTouched) {
      const bool inA = activeNodes.contains(name);
      const bool inD = desiredNodes.contains(name);
      if (inA && inD) {
        ++moved;
      } else if (inD) {
        ++nAdded;
      } else if (inA) {
        ++nRemoved;
      }
    }
    bump(ChangeKind::CircuitAdded, added);
    bump(ChangeKind::CircuitRemoved, removed);
    bump(ChangeKind::ParentMove, moved);
    bump(ChangeKind::NodeAdded, nAdded);
    bump(ChangeKind::NodeRemoved, nRemoved);
    bump(ChangeKind::SpeedChange, speedChanged_.size());
    bump(ChangeKind::NodeSpeedChange, nodeSpeedChanged_.size());
    bump(ChangeKind::SqmChange, sqmChanged_.size());
  }

  const QueuePlan& a_;
  const QueuePlan& d_;
  ChangeSet cs_;
  std::vector<TcOp> roots_, queues_, classAdds_, classChanges_, leafOps_;
  std::vector<TcOp> leafDeletes_, classDeletes_, dropQueues_, dropRoots_;
  std::set<std::string> circuitsWithNewClass_, circuitsWithGoneClass_;
  std::set<std::string> nodesWithNewClass_, nodesWithGoneClass_;
  std::set<std::string> speedChanged_, nodeSpeedChanged_, sqmChanged_;
  std::vector<const HtbClassPlan*> activeByMinor_;  ///< diffQueue's tables (all clear between queues)
  std::vector<bool> desiredMinor_;
};

}  // namespace

ChangeSet diff(const QueuePlan& active, const QueuePlan& desired) {
  return Differ(active, desired).run();
}

}  // namespace sluice::bakery
