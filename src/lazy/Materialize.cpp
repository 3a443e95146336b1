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

bool isInactiveCircuit(const HtbClassPlan& cls, const std::vector<char>& on) {
  return cls.role == ClassRole::Circuit && cls.modelIndex >= 0 &&
         static_cast<size_t>(cls.modelIndex) < on.size() && on[cls.modelIndex] == 0;
}

/// Leaves with handle major 0 get the lowest major that no qdisc of their device uses.
void fillLeafHandles(QueuePlan& p) {
  std::map<std::string, std::vector<bool>> taken;
  for (const auto& iface : p.interfaces) {
    auto& t = taken.try_emplace(iface.ifname, std::vector<bool>(0x10000, false)).first->second;
    t[0] = t[plan::kMqMajor] = t[0xFFFF] = true;
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

QueuePlan materialize(const QueuePlan& full, const ActiveCircuits& active,
                      config::LazyQueues mode) {
  if (mode == config::LazyQueues::No) {
    return full;
  }
  const std::vector<char> on = activeByIndex(full, active);
  QueuePlan out;
  out.queueCount = full.queueCount;
  out.queueCpu = full.queueCpu;
  out.onAStick = full.onAStick;
  out.nodes = full.nodes;
  out.circuits = full.circuits;
  out.addresses = full.addresses;
  out.interfaces.reserve(full.interfaces.size());
  // (direction, HTB major) -> that queue's default class.
  std::map<std::pair<Direction, uint16_t>, TcHandle> defaultClass;
  for (const auto& iface : full.interfaces) {
    auto& oi = out.interfaces.emplace_back();
    oi.ifname = iface.ifname;
    oi.queues.reserve(iface.queues.size());
    for (const auto& q : iface.queues) {
      defaultClass[{q.direction, q.major}] = TcHandle{q.major, q.defaultMinor};
      auto& oq = oi.queues.emplace_back();
      oq.direction = q.direction;
      oq.txQueue = q.txQueue;
      oq.major = q.major;
      oq.r2q = q.r2q;
      oq.defaultMinor = q.defaultMinor;
      oq.classes.reserve(mode == config::LazyQueues::Full ? q.classes.size() / 4 + 4
                                                          : q.classes.size());
      for (const auto& cls : q.classes) {
        if (!isInactiveCircuit(cls, on)) {
          oq.classes.push_back(cls);
        } else if (mode == config::LazyQueues::Htb) {
          oq.classes.push_back(cls);
          oq.classes.back().leaf.reset();
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
