#include "bakery/ModelOpRunner.h"

#include <fmt/format.h>

namespace sluice::bakery {
namespace {

bool hasLeaf(const plan::HtbClassPlan& cls) {
  return cls.leaf.has_value() && cls.leaf->kind != plan::LeafKind::None;
}

bool sameParams(const plan::HtbClassPlan& a, const plan::HtbClassPlan& b) {
  return a.rateBitsPerSecond == b.rateBitsPerSecond && a.ceilBitsPerSecond == b.ceilBitsPerSecond &&
         a.quantumBytes == b.quantumBytes && a.prio == b.prio;
}

}  // namespace

bool ModelOpRunner::hasClass(plan::Direction d, plan::TcHandle classid) const {
  for (const auto& [name, dev] : devices_) {
    auto q = dev.queues.find(classid.major);
    if (q != dev.queues.end() && q->second.header.direction == d &&
        dev.classes.contains(classid.raw())) {
      return true;
    }
  }
  return false;
}

Result<void> ModelOpRunner::run(const std::vector<TcOp>& ops) {
  for (const auto& op : ops) {
    if (opsRun_ == failAt_) {
      ++opsRun_;
      return makeError(failErrno_, describe(op), "injected failure");
    }
    if (auto r = apply(op); !r) {
      return r;
    }
    ++opsRun_;
    log_.push_back(op);
    if (afterEach_) {
      afterEach_(op);
    }
  }
  return {};
}

Result<void> ModelOpRunner::apply(const TcOp& op) {
  const auto fail = [&](int errnum, const std::string& why) {
    return makeError(errnum, describe(op), why);
  };
  using K = TcOp::Kind;
  if (op.kind == K::AddRoot) {
    if (devices_.contains(op.ifname)) {
      return fail(EEXIST, "the device has an mq root 7fff: already");
    }
    devices_[op.ifname] = Device{};
    devices_[op.ifname].holder = op.queue.holder;
    return {};
  }
  auto devIt = devices_.find(op.ifname);
  if (devIt == devices_.end()) {
    return fail(ENOENT, "no mq root on the device");
  }
  Device& dev = devIt->second;
  const auto dropQueue = [&](uint16_t major) {
    for (auto it = dev.classes.begin(); it != dev.classes.end();) {
      if (it->second.classid.major == major) {
        if (hasLeaf(it->second)) {
          dev.qdiscMajors.erase(it->second.leaf->handleMajor);
        }
        dev.children.erase(it->first);
        it = dev.classes.erase(it);
      } else {
        ++it;
      }
    }
    dev.queues.erase(major);
    dev.qdiscMajors.erase(major);
  };
  switch (op.kind) {
    case K::AddRoot:
      break;
    case K::DeleteRoot:
      devices_.erase(devIt);
      return {};
    case K::AddHtbQdisc: {
      if (dev.qdiscMajors.contains(op.queue.major)) {
        return fail(EEXIST, "qdisc handle in use on the device");
      }
      if (op.queue.holder != dev.holder) {
        return fail(op.queue.holder == plan::HolderKind::None ? EINVAL : ENOENT,
                    fmt::format("the tx queue's holder is {}, the HTB qdisc expects {}",
                                plan::holderKindName(dev.holder),
                                plan::holderKindName(op.queue.holder)));
      }
      // The graft replaces whatever HTB sat under the same mq class.
      for (auto it = dev.queues.begin(); it != dev.queues.end(); ++it) {
        if (it->second.header.txQueue == op.queue.txQueue) {
          dropQueue(it->first);
          break;
        }
      }
      plan::HtbQueuePlan header = queueHeader(op.queue);
      dev.queues[op.queue.major] = Queue{header};
      dev.qdiscMajors.insert(op.queue.major);
      return {};
    }
    case K::DeleteHtbQdisc:
      if (!dev.queues.contains(op.queue.major)) {
        return fail(ENOENT, "no such HTB qdisc");
      }
      if (op.queue.holder != dev.holder) {
        return fail(EINVAL, fmt::format("the tx queue's holder is {}, the delete expects {} (it "
                                        "would replace the wrong qdisc)",
                                        plan::holderKindName(dev.holder),
                                        plan::holderKindName(op.queue.holder)));
      }
      dropQueue(op.queue.major);
      return {};
    default:
      break;
  }
  const uint32_t id = op.cls.classid.raw();
  if (!dev.queues.contains(op.cls.classid.major)) {
    return fail(ENOENT, "no HTB qdisc with the class's major");
  }
  auto clsIt = dev.classes.find(id);
  switch (op.kind) {
    case K::AddClass: {
      if (clsIt != dev.classes.end()) {
        if (clsIt->second.parent != op.cls.parent) {
          return fail(EINVAL, "class exists under another parent");
        }
        auto leaf = clsIt->second.leaf;
        clsIt->second = op.cls;
        clsIt->second.leaf = leaf;
        return {};
      }
      if (op.cls.parent.minor != 0) {
        auto p = dev.classes.find(op.cls.parent.raw());
        if (p == dev.classes.end()) {
          return fail(ENOENT, "parent class does not exist");
        }
        // HTB turns a leaf class into an inner class: its leaf qdisc is destroyed.
        if (hasLeaf(p->second)) {
          dev.qdiscMajors.erase(p->second.leaf->handleMajor);
          p->second.leaf.reset();
        }
      } else if (op.cls.parent.major != op.cls.classid.major) {
        return fail(EINVAL, "top-level class of another qdisc");
      }
      plan::HtbClassPlan c = op.cls;
      c.leaf.reset();
      dev.classes.emplace(id, c);
      if (op.cls.parent.minor != 0) {
        ++dev.children[op.cls.parent.raw()];
      }
      return {};
    }
    case K::ChangeClass:
      if (clsIt == dev.classes.end()) {
        return fail(ENOENT, "no such class");
      }
      if (clsIt->second.parent != op.cls.parent) {
        return fail(EINVAL, "class change cannot move a class");
      }
      {
        auto leaf = clsIt->second.leaf;
        clsIt->second = op.cls;
        clsIt->second.leaf = leaf;
      }
      return {};
    case K::DeleteClass:
      if (clsIt == dev.classes.end()) {
        return fail(ENOENT, "no such class");
      }
      if (auto ch = dev.children.find(id); ch != dev.children.end() && ch->second > 0) {
        return fail(EBUSY, "class has children");
      }
      if (hasLeaf(clsIt->second)) {
        dev.qdiscMajors.erase(clsIt->second.leaf->handleMajor);
      }
      if (const auto parent = clsIt->second.parent; parent.minor != 0) {
        if (auto ch = dev.children.find(parent.raw()); ch != dev.children.end() && --ch->second == 0) {
          dev.children.erase(ch);
        }
      }
      dev.classes.erase(clsIt);
      return {};
    case K::AddLeaf: {
      if (clsIt == dev.classes.end()) {
        return fail(ENOENT, "no such class");
      }
      if (auto ch = dev.children.find(id); ch != dev.children.end() && ch->second > 0) {
        return fail(EINVAL, "an inner class has no leaf");
      }
      auto& cls = clsIt->second;
      if (hasLeaf(cls) && cls.leaf->handleMajor == op.leaf.handleMajor) {
        if (cls.leaf->kind != op.leaf.kind) {
          return fail(EINVAL, "Invalid qdisc name: must match existing qdisc");
        }
        cls.leaf = op.leaf;  // replace of the same qdisc = change
        return {};
      }
      if (dev.qdiscMajors.contains(op.leaf.handleMajor)) {
        return fail(EEXIST, "qdisc handle in use on the device");
      }
      if (hasLeaf(cls)) {
        dev.qdiscMajors.erase(cls.leaf->handleMajor);
      }
      cls.leaf = op.leaf;
      dev.qdiscMajors.insert(op.leaf.handleMajor);
      return {};
    }
    case K::ChangeLeaf: {
      if (clsIt == dev.classes.end() || !hasLeaf(clsIt->second) ||
          clsIt->second.leaf->handleMajor != op.leaf.handleMajor) {
        return fail(ENOENT, "no such leaf");
      }
      if (clsIt->second.leaf->kind != op.leaf.kind) {
        return fail(EINVAL, "Invalid qdisc name: must match existing qdisc");
      }
      if (op.leaf.kind == plan::LeafKind::FqCodel &&
          clsIt->second.leaf->fqCodel.flows != op.leaf.fqCodel.flows) {
        return fail(EINVAL, "fq_codel cannot change its flow count");
      }
      clsIt->second.leaf = op.leaf;
      return {};
    }
    case K::DeleteLeaf:
      if (clsIt == dev.classes.end() || !hasLeaf(clsIt->second) ||
          clsIt->second.leaf->handleMajor != op.leaf.handleMajor) {
        return fail(ENOENT, "no such leaf");
      }
      dev.qdiscMajors.erase(op.leaf.handleMajor);
      clsIt->second.leaf.reset();
      return {};
    default:
      break;
  }
  return fail(EINVAL, "unknown op");
}

Result<std::vector<std::string>> ModelOpRunner::liveDifferences(const plan::QueuePlan& p) {
  std::vector<std::string> diffs;
  std::map<std::string, std::set<uint32_t>> planned;
  std::map<std::string, std::set<uint16_t>> plannedQueues;
  for (const auto& iface : p.interfaces) {
    auto devIt = devices_.find(iface.ifname);
    if (devIt == devices_.end()) {
      diffs.push_back(fmt::format("{}: no mq root", iface.ifname));
      continue;
    }
    const Device& dev = devIt->second;
    for (const auto& q : iface.queues) {
      plannedQueues[iface.ifname].insert(q.major);
      auto qi = dev.queues.find(q.major);
      if (qi == dev.queues.end()) {
        diffs.push_back(fmt::format("{}: HTB qdisc {:x}: missing", iface.ifname, q.major));
        continue;
      }
      const auto& h = qi->second.header;
      if (h.txQueue != q.txQueue || plan::r2qDiffersInEffect(h.r2q, q) ||
          h.defaultMinor != q.defaultMinor || dev.holder != q.holder) {
        diffs.push_back(fmt::format("{}: HTB qdisc {:x}: settings differ", iface.ifname, q.major));
      }
      for (const auto& cls : q.classes) {
        planned[iface.ifname].insert(cls.classid.raw());
        auto ci = dev.classes.find(cls.classid.raw());
        if (ci == dev.classes.end()) {
          diffs.push_back(fmt::format("{}: class {} missing", iface.ifname, cls.classid.toString()));
          continue;
        }
        const auto& live = ci->second;
        if (live.parent != cls.parent || !sameParams(live, cls)) {
          diffs.push_back(fmt::format("{}: class {} differs", iface.ifname, cls.classid.toString()));
        }
        const bool want = hasLeaf(cls);
        if (want != hasLeaf(live) || (want && *live.leaf != *cls.leaf)) {
          diffs.push_back(fmt::format("{}: leaf of class {} differs", iface.ifname,
                                      cls.classid.toString()));
        }
      }
    }
  }
  for (const auto& [name, dev] : devices_) {
    for (const auto& [major, q] : dev.queues) {
      if (!plannedQueues[name].contains(major)) {
        diffs.push_back(fmt::format("{}: extra HTB qdisc {:x}:", name, major));
      }
    }
    for (const auto& [id, cls] : dev.classes) {
      if (!planned[name].contains(id) && plannedQueues[name].contains(cls.classid.major)) {
        diffs.push_back(fmt::format("{}: extra class {}", name, cls.classid.toString()));
      }
    }
  }
  return diffs;
}

Result<void> ModelOpRunner::reconcile(const plan::QueuePlan& p) {
  devices_.clear();
  for (const auto& iface : p.interfaces) {
    Device& dev = devices_[iface.ifname];
    dev.holder = p.holder;
    for (const auto& q : iface.queues) {
      plan::HtbQueuePlan header = queueHeader(q);
      dev.queues[q.major] = Queue{header};
      dev.qdiscMajors.insert(q.major);
      for (const auto& cls : q.classes) {
        dev.classes[cls.classid.raw()] = cls;
        if (cls.parent.minor != 0) {
          ++dev.children[cls.parent.raw()];
        }
        if (hasLeaf(cls)) {
          dev.qdiscMajors.insert(cls.leaf->handleMajor);
        }
        ++opsRun_;
      }
    }
  }
  return {};
}

Result<uint64_t> ModelOpRunner::backlogPackets(const std::string& ifname,
                                               const std::vector<plan::TcHandle>& classids) {
  auto devIt = devices_.find(ifname);
  if (devIt == devices_.end()) {
    return 0;
  }
  uint64_t n = 0;
  for (const auto& c : classids) {
    n += devIt->second.classes.contains(c.raw()) ? backlog_ : 0;
  }
  return n;
}

Result<uint32_t> ModelOpRunner::txQueueCount(const std::string& ifname) {
  if (txQueues_ == 0) {
    return OpRunner::txQueueCount(ifname);
  }
  return txQueues_;
}

Result<uint64_t> ModelOpRunner::htbBacklogPackets(const std::string& ifname, uint16_t major,
                                                  uint16_t skipMinor) {
  auto devIt = devices_.find(ifname);
  if (devIt == devices_.end()) {
    return 0;
  }
  uint64_t n = 0;
  for (const auto& [raw, cls] : devIt->second.classes) {
    if ((raw >> 16) == major && (raw & 0xFFFF) != skipMinor && cls.leaf) {
      n += backlog_;
    }
  }
  return n;
}

}  // namespace sluice::bakery
