// stabilizeHandles / stabilizeForRebuild: desired classids, leaf handles and circuit indices are
// made to match the active plan's for the same circuits (by ID) and nodes (by name).

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "bakery/Bakery.h"
#include "bakery/SpareRebuild.h"

namespace sluice::bakery {
namespace {

using plan::ClassRole;
using plan::Direction;
using plan::HtbClassPlan;
using plan::QueuePlan;
using plan::TcHandle;

constexpr uint32_t kMaxMinor = 0xFFFE;   // FFFF is never a class minor
constexpr uint32_t kMaxMajor = 0xFFFE;   // FFFF: is TC_H_ROOT's / ingress's range

/// Who a class is, independent of its numbers: link, default, node by name, circuit by ID;
/// classes without a placement (synthetic plans) are known by their classid. `name` points into
/// the plan (no string is built per class: that cost ~10 ms per 30k circuits).
struct Identity {
  enum Kind : uint8_t { Link, Default, Node, Circuit, Classid } kind = Classid;
  std::string_view name;
  uint32_t classid = 0;
  bool operator==(const Identity&) const = default;
};

struct IdentityHash {
  size_t operator()(const Identity& id) const {
    return std::hash<std::string_view>{}(id.name) ^ (static_cast<size_t>(id.kind) << 40) ^
           id.classid;
  }
};

Identity identity(const QueuePlan& p, const HtbClassPlan& cls) {
  switch (cls.role) {
    case ClassRole::Link:
      return {Identity::Link, {}, 0};
    case ClassRole::Default:
      return {Identity::Default, {}, 0};
    case ClassRole::Node:
      if (cls.modelIndex >= 0 && static_cast<size_t>(cls.modelIndex) < p.nodes.size()) {
        return {Identity::Node, p.nodes[cls.modelIndex].name, 0};
      }
      break;
    case ClassRole::Circuit:
      if (cls.modelIndex >= 0 && static_cast<size_t>(cls.modelIndex) < p.circuits.size()) {
        return {Identity::Circuit, p.circuits[cls.modelIndex].circuitId, 0};
      }
      break;
  }
  return {Identity::Classid, {}, cls.classid.raw()};
}

/// "L" link, "D" default, "N:name", "C:id", "#1:5" (error messages).
std::string identityText(const Identity& id) {
  switch (id.kind) {
    case Identity::Link:
      return "L";
    case Identity::Default:
      return "D";
    case Identity::Node:
      return "N:" + std::string(id.name);
    case Identity::Circuit:
      return "C:" + std::string(id.name);
    case Identity::Classid:
      break;
  }
  return "#" + TcHandle::fromRaw(id.classid).toString();
}

struct QueueKey {
  std::string ifname;
  uint16_t major = 0;
  auto operator<=>(const QueueKey&) const = default;
};

/// A 16-bit number space with a rising cursor for "lowest free" allocation.
class NumberSpace {
 public:
  NumberSpace() : taken_(0x10000, false) {}
  void take(uint32_t n) { taken_[n & 0xFFFF] = true; }
  bool taken(uint32_t n) const { return taken_[n & 0xFFFF]; }
  /// Lowest free number ≥ `first` and ≤ `last` (taken on return); 0 when none is left.
  uint32_t allocate(uint32_t first, uint32_t last) {
    cursor_ = std::max(cursor_, first);
    while (cursor_ <= last && taken_[cursor_]) {
      ++cursor_;
    }
    if (cursor_ > last) {
      return 0;
    }
    taken_[cursor_] = true;
    return cursor_;
  }

 private:
  std::vector<bool> taken_;
  uint32_t cursor_ = 0;
};

/// Keeps each surviving circuit at its active index when it can, so that the data plane's
/// per-circuit index (the LPM value's `circuit`) changes only for circuits that have to move.
/// Returns new (stabilized) index → index of the active circuit with the same ID, or -1 (the one
/// hash lookup by circuit ID per circuit; classes are matched through it).
std::vector<int32_t> stabilizeCircuitOrder(QueuePlan& desired, const QueuePlan& active) {
  const size_t n = desired.circuits.size();
  std::unordered_map<std::string_view, size_t> activeIndex;
  activeIndex.reserve(active.circuits.size());
  for (size_t i = 0; i < active.circuits.size(); ++i) {
    activeIndex.emplace(active.circuits[i].circuitId, i);
  }
  std::vector<int32_t> newIndex(n, -1);
  std::vector<int32_t> activeOf(n, -1);  // desired index -> active index of the same ID
  std::vector<bool> slotTaken(n, false);
  for (size_t i = 0; i < n; ++i) {
    auto it = activeIndex.find(desired.circuits[i].circuitId);
    if (it != activeIndex.end()) {
      activeOf[i] = static_cast<int32_t>(it->second);
    }
    if (it != activeIndex.end() && it->second < n && !slotTaken[it->second]) {
      newIndex[i] = static_cast<int32_t>(it->second);
      slotTaken[it->second] = true;
    }
  }
  size_t nextFree = 0;
  for (size_t i = 0; i < n; ++i) {
    if (newIndex[i] >= 0) {
      continue;
    }
    while (slotTaken[nextFree]) {
      ++nextFree;
    }
    newIndex[i] = static_cast<int32_t>(nextFree);
    slotTaken[nextFree] = true;
  }
  std::vector<plan::CircuitPlacement> reordered(n);
  for (size_t i = 0; i < n; ++i) {
    reordered[newIndex[i]] = std::move(desired.circuits[i]);
  }
  desired.circuits = std::move(reordered);
  const auto remap = [&](int32_t index) {
    return index >= 0 && static_cast<size_t>(index) < n ? newIndex[index] : index;
  };
  for (auto& iface : desired.interfaces) {
    for (auto& hq : iface.queues) {
      for (auto& cls : hq.classes) {
        if (cls.role == ClassRole::Circuit) {
          cls.modelIndex = remap(cls.modelIndex);
        }
      }
    }
  }
  for (auto& a : desired.addresses) {
    a.circuit = remap(a.circuit);
  }
  std::vector<int32_t> activeOfNew(n, -1);
  for (size_t i = 0; i < n; ++i) {
    activeOfNew[newIndex[i]] = activeOf[i];
  }
  return activeOfNew;
}

/// (direction, planner classid) -> stabilized classid: one 64k table per (direction, major)
/// instead of a hash node per class (200k classes at 100k circuits).
class ClassRemap {
 public:
  void set(Direction d, TcHandle from, TcHandle to) { table(d, from.major)[from.minor] = to.raw() + 1; }
  std::optional<TcHandle> find(Direction d, TcHandle from) {
    auto& t = table(d, from.major);
    const uint32_t v = t[from.minor];
    if (v == 0) return std::nullopt;
    return TcHandle::fromRaw(v - 1);
  }

 private:
  std::vector<uint32_t>& table(Direction d, uint16_t major) {
    const uint32_t key = static_cast<uint32_t>(d) << 16 | major;
    if (key == lastKey_ && last_ != nullptr) return *last_;
    auto& t = tables_[key];
    if (t.empty()) t.assign(0x10000, 0);
    lastKey_ = key;
    last_ = &t;
    return t;
  }
  std::unordered_map<uint32_t, std::vector<uint32_t>> tables_;  // raw + 1; 0 = none (FFFF:FFFF
  uint32_t lastKey_ = 0;                                         // is never a class)
  std::vector<uint32_t>* last_ = nullptr;
};

/// A queue whose r2q alone differs from the active one's keeps the active value when it is inert
/// (plan::r2qIsInert): a link-rate change (which moves the planner's r2q) then changes classes
/// instead of rebuilding every HTB qdisc.
void keepInertR2q(QueuePlan& desired, const QueuePlan& active) {
  for (auto& iface : desired.interfaces) {
    const auto ai = std::find_if(active.interfaces.begin(), active.interfaces.end(),
                                 [&](const auto& a) { return a.ifname == iface.ifname; });
    if (ai == active.interfaces.end()) {
      continue;
    }
    for (auto& hq : iface.queues) {
      const auto aq = std::find_if(ai->queues.begin(), ai->queues.end(), [&](const auto& a) {
        return a.major == hq.major && a.txQueue == hq.txQueue && a.direction == hq.direction &&
               a.defaultMinor == hq.defaultMinor;
      });
      if (aq != ai->queues.end() && !plan::r2qDiffersInEffect(aq->r2q, hq)) {
        hq.r2q = aq->r2q;
      }
    }
  }
}

Result<void> stabilize(QueuePlan& desired, const QueuePlan& active, bool rebuild,
                       uint32_t reservedMajors = detail::kHtbMajorsReserved) {
  // After a rebuild on spare tx queues the active queues may sit on a permutation of the tx
  // queues: queue k keeps its tx queue, so that it is matched with itself below.
  detail::adoptPlacement(desired, active);
  keepInertR2q(desired, active);
  const std::vector<int32_t> activeOfNew = stabilizeCircuitOrder(desired, active);

  // The active tree, by queue and identity, and the numbers it occupies. Circuit classes are
  // found through the circuit's active index (two per circuit: one per direction's queue);
  // everything else by identity in a per-queue hash map.
  std::map<QueueKey, std::unordered_map<Identity, const HtbClassPlan*, IdentityHash>>
      activeByIdentity;
  std::map<QueueKey, uint32_t> queueIds;
  struct CircuitClass {
    uint32_t queueId = UINT32_MAX;
    const HtbClassPlan* cls = nullptr;
  };
  std::vector<std::array<CircuitClass, 2>> activeCircuitClasses(active.circuits.size());
  const auto queueId = [&](const QueueKey& qk) {
    return queueIds.try_emplace(qk, static_cast<uint32_t>(queueIds.size())).first->second;
  };
  std::map<QueueKey, NumberSpace> minors;        // taken minors per HTB qdisc
  std::map<std::string, NumberSpace> handles;    // taken qdisc handle majors per device
  const auto deviceSpace = [&](const std::string& ifname) -> NumberSpace& {
    auto [it, fresh] = handles.try_emplace(ifname);
    if (fresh) {
      for (uint32_t m = 0; m <= 0xFFFF; ++m) {
        if (plan::isReservedMajor(m)) {
          it->second.take(m);
        }
      }
      for (uint32_t m = 1; m <= reservedMajors && m < 0xFFFF; ++m) {
        it->second.take(m);  // HTB majors of tx queues (spare ones too): never new leaves
      }
    }
    return it->second;
  };
  for (const QueuePlan* p : {&active, static_cast<const QueuePlan*>(&desired)}) {
    for (const auto& iface : p->interfaces) {
      for (const auto& hq : iface.queues) {
        deviceSpace(iface.ifname).take(hq.major);  // HTB majors of either plan are never leaves
      }
    }
  }
  for (const auto& iface : active.interfaces) {
    for (const auto& hq : iface.queues) {
      const QueueKey qk{iface.ifname, hq.major};
      NumberSpace& m = minors[qk];
      m.take(0);
      m.take(0xFFFF);
      auto& byIdentity = activeByIdentity[qk];
      const uint32_t qid = queueId(qk);
      for (const auto& cls : hq.classes) {
        const Identity id = identity(active, cls);
        if (id.kind == Identity::Circuit) {
          auto& slots = activeCircuitClasses[cls.modelIndex];
          bool placed = false;
          for (auto& slot : slots) {
            if (slot.queueId == qid) {  // first one wins, as with emplace
              placed = true;
              break;
            }
            if (slot.cls == nullptr) {
              slot = {qid, &cls};
              placed = true;
              break;
            }
          }
          if (!placed) {
            byIdentity.emplace(id, &cls);  // a third class of one circuit (hand-made plans)
          }
        } else {
          byIdentity.emplace(id, &cls);
        }
        m.take(cls.classid.minor);
        if (cls.leaf && cls.leaf->kind != plan::LeafKind::None) {
          deviceSpace(iface.ifname).take(cls.leaf->handleMajor);
        }
      }
    }
  }

  // (direction, planner classid) → stabilized classid, for parents and placements.
  ClassRemap remap;
  std::map<QueueKey, std::vector<bool>> keptMinor;  // active minors claimed by a desired class
  for (auto& iface : desired.interfaces) {
    NumberSpace& leafSpace = deviceSpace(iface.ifname);
    for (auto& hq : iface.queues) {
      const QueueKey qk{iface.ifname, hq.major};
      NumberSpace& m = minors[qk];
      m.take(0);
      m.take(0xFFFF);
      m.take(plan::kLinkMinor);
      m.take(hq.defaultMinor);
      auto& kept = keptMinor.try_emplace(qk, std::vector<bool>(0x10000, false)).first->second;
      const auto activeQueue = activeByIdentity.find(qk);
      for (auto& cls : hq.classes) {
        const Identity id = identity(desired, cls);
        TcHandle parent = cls.parent;
        if (parent.minor != 0) {
          if (auto to = remap.find(hq.direction, parent)) {
            parent = *to;
          }
        }
        const bool fixed = cls.role == ClassRole::Link || cls.role == ClassRole::Default;
        const HtbClassPlan* old = nullptr;
        if ((!rebuild || fixed) && activeQueue != activeByIdentity.end()) {
          const int32_t ac = id.kind == Identity::Circuit ? activeOfNew[cls.modelIndex] : -1;
          if (ac >= 0) {
            const uint32_t qid = queueIds.at(qk);
            for (const auto& slot : activeCircuitClasses[ac]) {
              if (slot.cls != nullptr && slot.queueId == qid) {
                old = slot.cls;
                break;
              }
            }
          }
          if (old == nullptr && (id.kind != Identity::Circuit || ac >= 0)) {
            auto it = activeQueue->second.find(id);
            old = it == activeQueue->second.end() ? nullptr : it->second;
          }
        }
        uint16_t minor = 0;
        bool keptClass = false;
        if (fixed) {
          minor = cls.classid.minor;
          keptClass = old != nullptr && old->classid.minor == minor && old->parent == parent;
        } else if (old != nullptr && old->parent == parent && !kept[old->classid.minor]) {
          minor = old->classid.minor;
          keptClass = true;
        } else {
          const uint32_t got = m.allocate(plan::kFirstFreeMinor, kMaxMinor);
          if (got == 0) {
            return makeError(ENOSPC,
                             fmt::format("stabilize handles: HTB qdisc {:x}: on {} (tx queue {}) "
                                         "has no free minor left for {} ({} classes planned "
                                         "there, active classes keep theirs until deleted; "
                                         "limit {} minors)",
                                         hq.major, iface.ifname, hq.txQueue, identityText(id),
                                         hq.classes.size(), kMaxMinor - 2));
          }
          minor = static_cast<uint16_t>(got);
        }
        kept[minor] = true;
        if (keptClass && (cls.role == ClassRole::Node || cls.role == ClassRole::Link)) {
          // The kernel sets an HTB class's quantum and prio only while it is a leaf
          // (sch_htb.c htb_change_class: `if (!cl->level)`); an inner class keeps what it was
          // created with, and scheduling uses only the leaves' values. Keep the active ones so
          // that plan and kernel agree (found on 6.18: a node's rate change left its quantum).
          cls.quantumBytes = old->quantumBytes;
          cls.prio = old->prio;
        }
        const TcHandle stable{hq.major, minor};
        remap.set(hq.direction, cls.classid, stable);
        cls.classid = stable;
        cls.parent = parent;

        if (!cls.leaf || cls.leaf->kind == plan::LeafKind::None) {
          continue;
        }
        // A handle in the reserved range (a state file from before the holder range existed)
        // is not kept: a holder may need it.
        const bool sameLeaf =
            keptClass && old->leaf && old->leaf->kind == cls.leaf->kind &&
            !plan::isReservedMajor(old->leaf->handleMajor) &&
            (cls.leaf->kind != plan::LeafKind::FqCodel ||
             old->leaf->fqCodel.flows == cls.leaf->fqCodel.flows);  // flows: fixed at creation
        if (sameLeaf) {
          cls.leaf->handleMajor = old->leaf->handleMajor;
          continue;
        }
        const uint32_t got = leafSpace.allocate(1, kMaxMajor);
        if (got == 0) {
          return makeError(ENOSPC,
                           fmt::format("stabilize handles: device {} has no free qdisc handle "
                                       "left for the leaf of {} (a device holds {} qdiscs; the "
                                       "active tree keeps its handles until its leaves are "
                                       "deleted)",
                                       iface.ifname, identityText(id), kMaxMajor - 1));
        }
        cls.leaf->handleMajor = static_cast<uint16_t>(got);
      }
    }
  }

  const auto fix = [&](Direction d, TcHandle& h) {
    if (h.major == 0) {
      return;
    }
    if (auto to = remap.find(d, h)) {
      h = *to;
    }
  };
  for (auto& n : desired.nodes) {
    fix(Direction::Download, n.downClass);
    fix(Direction::Upload, n.upClass);
  }
  for (auto& c : desired.circuits) {
    fix(Direction::Download, c.downClass);
    fix(Direction::Upload, c.upClass);
  }
  for (auto& a : desired.addresses) {
    fix(Direction::Download, a.downClass);
    fix(Direction::Upload, a.upClass);
  }
  return {};
}

}  // namespace

Result<void> stabilizeHandles(QueuePlan& desired, const QueuePlan& active) {
  return stabilize(desired, active, false);
}

Result<void> stabilizeForRebuild(QueuePlan& desired, const QueuePlan& active) {
  return stabilize(desired, active, true);
}

Result<void> detail::stabilizeForSpareRebuild(QueuePlan& desired, const QueuePlan& active,
                                              uint32_t reservedMajors) {
  return stabilize(desired, active, true, std::max(reservedMajors, detail::kHtbMajorsReserved));
}

}  // namespace sluice::bakery
