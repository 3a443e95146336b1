#include "lazy/Materialize.h"

#include <map>
#include <utility>

namespace sluice::lazy {
namespace {

using plan::ClassRole;
using plan::Direction;
using plan::HtbClassPlan;
using plan::QueuePlan;
using plan::TcHandle;

/// Per circuit index of `p`: 1 when its ID is in `active`.
std::vector<char> activeByIndex(const QueuePlan& p, const ActiveCircuits& active) {
  std::vector<char> on(p.circuits.size(), 0);
  if (active.empty()) {
    return on;
  }
  for (size_t i = 0; i < p.circuits.size(); ++i) {
    on[i] = active.contains(p.circuits[i].circuitId) ? 1 : 0;
  }
  return on;
}

/// Leaves with handle major 0 get the lowest major that no qdisc of their device uses.
void fillLeafHandles(QueuePlan& p) {
  std::map<std::string, std::vector<bool>> taken;
  for (const auto& iface : p.interfaces) {
    auto& t = taken.try_emplace(iface.ifname, std::vector<bool>(0x10000, false)).first->second;
    plan::markReservedMajors(t);
    for (const auto& q : iface.queues) {
      t[q.major] = true;
      for (const auto& cls : q.classes) {
        if (cls.leaf && cls.leaf->kind != plan::LeafKind::None) {
          t[cls.leaf->handleMajor] = true;
        }
      }
    }
  }
  std::map<std::string, uint32_t> cursor;
  for (auto& iface : p.interfaces) {
    auto& t = taken[iface.ifname];
    uint32_t& next = cursor.try_emplace(iface.ifname, 1).first->second;
    for (auto& q : iface.queues) {
      for (auto& cls : q.classes) {
        if (!cls.leaf || cls.leaf->kind == plan::LeafKind::None || cls.leaf->handleMajor != 0) {
          continue;
        }
        while (next < 0xFFFF && t[next]) {
          ++next;
        }
        // No handle left: stays 0 and the bakery's preflight refuses the plan with the count.
        if (next < 0xFFFF) {
          t[next] = true;
          cls.leaf->handleMajor = static_cast<uint16_t>(next);
        }
      }
    }
  }
}

}  // namespace

const char* lazyModeName(config::LazyQueues mode) {
  switch (mode) {
    case config::LazyQueues::No:
      return "No";
    case config::LazyQueues::Htb:
      return "Htb";
    case config::LazyQueues::Full:
      return "Full";
  }
  return "?";
}

FullPlan::FullPlan(plan::QueuePlan full) {
  std::map<plan::LeafSpec, uint32_t> leafIndex;  // distinct specs with handle major 0
  classes_.resize(full.interfaces.size());
  for (size_t i = 0; i < full.interfaces.size(); ++i) {
    auto& queues = classes_[i];
    queues.resize(full.interfaces[i].queues.size());
    for (size_t q = 0; q < queues.size(); ++q) {
      std::vector<HtbClassPlan>& in = full.interfaces[i].queues[q].classes;
      std::vector<Class>& out = queues[q];
      out.reserve(in.size());
      for (const HtbClassPlan& c : in) {
        Class k{c.classid,        c.parent,     c.rateBitsPerSecond, c.ceilBitsPerSecond,
                c.quantumBytes,   c.prio,       c.modelIndex,        kNoLeaf,
                0,                c.role};
        if (c.leaf) {
          plan::LeafSpec spec = *c.leaf;
          k.leafHandleMajor = spec.handleMajor;
          spec.handleMajor = 0;
          const auto [it, added] =
              leafIndex.try_emplace(std::move(spec), static_cast<uint32_t>(leaves_.size()));
          if (added) {
            leaves_.push_back(it->first);
          }
          k.leaf = it->second;
        }
        out.push_back(k);
      }
      classCount_ += out.size();
      std::vector<HtbClassPlan>().swap(in);  // freed now: the next queue reuses the memory
    }
  }
  leaves_.shrink_to_fit();
  skeleton_ = std::move(full);
}

HtbClassPlan FullPlan::classPlan(const Class& c, bool withLeaf) const {
  HtbClassPlan out;
  out.classid = c.classid;
  out.parent = c.parent;
  out.rateBitsPerSecond = c.rateBitsPerSecond;
  out.ceilBitsPerSecond = c.ceilBitsPerSecond;
  out.quantumBytes = c.quantumBytes;
  out.prio = c.prio;
  out.role = c.role;
  out.modelIndex = c.modelIndex;
  if (withLeaf && c.leaf != kNoLeaf) {
    out.leaf = leaves_[c.leaf];
    out.leaf->handleMajor = c.leafHandleMajor;
  }
  return out;
}

QueuePlan FullPlan::expand() const {
  QueuePlan out = skeleton_;
  for (size_t i = 0; i < classes_.size(); ++i) {
    for (size_t q = 0; q < classes_[i].size(); ++q) {
      auto& classes = out.interfaces[i].queues[q].classes;
      classes.reserve(classes_[i][q].size());
      for (const Class& c : classes_[i][q]) {
        classes.push_back(classPlan(c, true));
      }
    }
  }
  return out;
}

size_t FullPlan::heapBytes() const {
  size_t n = leaves_.capacity() * sizeof(plan::LeafSpec) +
             skeleton_.nodes.capacity() * sizeof(plan::NodePlacement) +
             skeleton_.circuits.capacity() * sizeof(plan::CircuitPlacement) +
             skeleton_.addresses.capacity() * sizeof(plan::AddressMapping);
  for (const auto& queues : classes_) {
    for (const auto& classes : queues) {
      n += classes.capacity() * sizeof(Class);
    }
  }
  return n;
}

QueuePlan materialize(const FullPlan& fullPlan, const ActiveCircuits& active,
                      config::LazyQueues mode) {
  if (mode == config::LazyQueues::No) {
    return fullPlan.expand();
  }
  const QueuePlan& full = fullPlan.skeleton();
  const std::vector<char> on = activeByIndex(full, active);
  const auto inactiveCircuit = [&](const FullPlan::Class& cls) {
    return cls.role == ClassRole::Circuit && cls.modelIndex >= 0 &&
           static_cast<size_t>(cls.modelIndex) < on.size() && on[cls.modelIndex] == 0;
  };
  QueuePlan out;
  out.queueCount = full.queueCount;
  out.queueCpu = full.queueCpu;
  out.onAStick = full.onAStick;
  out.holder = full.holder;
  out.nodes = full.nodes;
  out.circuits = full.circuits;
  out.addresses = full.addresses;
  out.interfaces.reserve(full.interfaces.size());
  // (direction, HTB major) -> that queue's default class.
  std::map<std::pair<Direction, uint16_t>, TcHandle> defaultClass;
  for (size_t i = 0; i < full.interfaces.size(); ++i) {
    const auto& iface = full.interfaces[i];
    auto& oi = out.interfaces.emplace_back();
    oi.ifname = iface.ifname;
    oi.holder = iface.holder;
    oi.queues.reserve(iface.queues.size());
    for (size_t qi = 0; qi < iface.queues.size(); ++qi) {
      const auto& q = iface.queues[qi];
      const auto& classes = fullPlan.classes_[i][qi];
      defaultClass[{q.direction, q.major}] = TcHandle{q.major, q.defaultMinor};
      auto& oq = oi.queues.emplace_back();
      oq.direction = q.direction;
      oq.txQueue = q.txQueue;
      oq.major = q.major;
      oq.r2q = q.r2q;
      oq.defaultMinor = q.defaultMinor;
      oq.holder = q.holder;
      oq.classes.reserve(mode == config::LazyQueues::Full ? classes.size() / 4 + 4
                                                          : classes.size());
      for (const auto& cls : classes) {
        if (!inactiveCircuit(cls)) {
          oq.classes.push_back(fullPlan.classPlan(cls, true));
        } else if (mode == config::LazyQueues::Htb) {
          oq.classes.push_back(fullPlan.classPlan(cls, false));
        }
      }
      oq.classes.shrink_to_fit();
    }
  }
  if (mode == config::LazyQueues::Full) {
    for (size_t i = 0; i < out.circuits.size(); ++i) {
      if (on[i] == 0) {
        out.circuits[i].downClass = TcHandle{};
        out.circuits[i].upClass = TcHandle{};
      }
    }
    const auto toDefault = [&](Direction d, TcHandle& h) {
      auto it = defaultClass.find({d, h.major});
      if (it != defaultClass.end()) {
        h = it->second;
      }
    };
    for (auto& a : out.addresses) {
      if (a.circuit >= 0 && static_cast<size_t>(a.circuit) < on.size() && on[a.circuit] == 0) {
        toDefault(Direction::Download, a.downClass);
        toDefault(Direction::Upload, a.upClass);
      }
    }
  }
  fillLeafHandles(out);
  return out;
}

ActiveCircuits activeIn(const QueuePlan& materialized, config::LazyQueues mode) {
  ActiveCircuits out;
  const auto& circuits = materialized.circuits;
  if (mode == config::LazyQueues::No) {
    for (const auto& c : circuits) {
      out.insert(c.circuitId);
    }
    return out;
  }
  for (const auto& iface : materialized.interfaces) {
    for (const auto& q : iface.queues) {
      for (const auto& cls : q.classes) {
        if (cls.role != ClassRole::Circuit || cls.modelIndex < 0 ||
            static_cast<size_t>(cls.modelIndex) >= circuits.size()) {
          continue;
        }
        const bool has = mode == config::LazyQueues::Full ||
                         (cls.leaf && cls.leaf->kind != plan::LeafKind::None);
        if (has) {
          out.insert(circuits[cls.modelIndex].circuitId);
        }
      }
    }
  }
  return out;
}

}  // namespace sluice::lazy
