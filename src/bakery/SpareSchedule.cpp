// planSpareRebuild, relocateQueues, adoptPlacement: the pure part of a rebuild on spare tx queues
// (bakery/SpareRebuild.h).

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "bakery/SpareRebuild.h"

namespace sluice::bakery::detail {
namespace {

using plan::Direction;
using plan::QueuePlan;
using plan::TcHandle;

/// The tx queue of each queue position, the same on every interface, when every HTB major is
/// tx queue + 1 and every interface has the same number of queues; else the reason.
std::variant<std::vector<uint16_t>, std::string> placement(const QueuePlan& p, const char* which) {
  if (p.interfaces.empty()) {
    return fmt::format("the {} plan has no interface", which);
  }
  std::vector<uint16_t> slots;
  for (size_t i = 0; i < p.interfaces.size(); ++i) {
    const auto& queues = p.interfaces[i].queues;
    if (i == 0) {
      for (const auto& q : queues)
        slots.push_back(q.txQueue);
    } else if (queues.size() != slots.size()) {
      return fmt::format("{} has {} queues and {} has {} in the {} plan", p.interfaces[0].ifname,
                         slots.size(), p.interfaces[i].ifname, queues.size(), which);
    }
    for (size_t k = 0; k < queues.size(); ++k) {
      if (queues[k].major != queues[k].txQueue + 1 || queues[k].txQueue != slots[k]) {
        return fmt::format(
            "HTB qdisc {:x}: on {} sits on tx queue {} (the data plane needs "
            "major = tx queue + 1, the same on every interface)",
            queues[k].major, p.interfaces[i].ifname, queues[k].txQueue);
      }
    }
  }
  return slots;
}

/// Queue position of HTB major `major` per direction (the placement is the same on every
/// interface), or -1.
class PositionOf {
 public:
  explicit PositionOf(const QueuePlan& p) {
    for (const auto& iface : p.interfaces) {
      for (size_t k = 0; k < iface.queues.size(); ++k) {
        pos_[{iface.queues[k].direction, iface.queues[k].major}] = static_cast<int>(k);
      }
    }
  }
  int operator()(Direction d, TcHandle h) const {
    auto it = pos_.find({d, h.major});
    return it == pos_.end() ? -1 : it->second;
  }

 private:
  std::map<std::pair<Direction, uint16_t>, int> pos_;
};

}  // namespace

std::variant<SpareSchedule, std::string> planSpareRebuild(const QueuePlan& active,
                                                          const QueuePlan& desired,
                                                          uint32_t txQueues) {
  if (active.onAStick || desired.onAStick) {
    return std::string("on a stick (both directions share the tx queues of one interface)");
  }
  if (active.interfaces.size() != desired.interfaces.size()) {
    return std::string("the interfaces changed");
  }
  for (size_t i = 0; i < active.interfaces.size(); ++i) {
    if (active.interfaces[i].ifname != desired.interfaces[i].ifname) {
      return std::string("the interfaces changed");
    }
  }
  if (active.holder != desired.holder) {
    return std::string("the queue holder changed (the mq root is rebuilt with it)");
  }
  auto oldPlace = placement(active, "active");
  if (auto* why = std::get_if<std::string>(&oldPlace))
    return *why;
  auto newPlace = placement(desired, "new");
  if (auto* why = std::get_if<std::string>(&newPlace))
    return *why;
  const auto& oldSlots = std::get<std::vector<uint16_t>>(oldPlace);
  const auto& plannerSlots = std::get<std::vector<uint16_t>>(newPlace);
  const size_t q = plannerSlots.size();
  for (size_t k = 0; k < q; ++k) {
    if (plannerSlots[k] != k) {
      return fmt::format(
          "the new plan puts queue {} on tx queue {} (expected the planner's "
          "numbering)",
          k, plannerSlots[k]);
    }
  }
  const uint32_t slots = std::min<uint32_t>(txQueues, 0xFFFE);
  for (uint16_t s : oldSlots) {
    if (s >= slots) {
      return fmt::format("the active tree uses tx queue {} of {}", s, slots);
    }
  }
  if (q > slots) {
    return fmt::format("the new plan needs {} tx queues; the devices have {}", q, slots);
  }

  // Which new queues must have switched before the old HTB qdisc on tx queue s may go: those
  // that take over a prefix it classifies now. Prefixes that disappear leave the map before the
  // first step (Bakery::spareQueueRebuild) and hold nothing.
  const PositionOf oldPos(active);
  const PositionOf newPos(desired);
  std::map<IpNet, int> newQueueOf;
  for (const auto& a : desired.addresses) {
    const int d = a.downClass.major != 0 ? newPos(Direction::Download, a.downClass) : -1;
    const int u = a.upClass.major != 0 ? newPos(Direction::Upload, a.upClass) : -1;
    if (d >= 0 && u >= 0 && d != u) {
      return fmt::format("{} has its download on queue {} and its upload on queue {}",
                         a.prefix.toString(), d, u);
    }
    const int k = d >= 0 ? d : u;
    if (k < 0) {
      return fmt::format("{} maps to no queue of the new plan", a.prefix.toString());
    }
    newQueueOf[a.prefix] = k;
  }
  std::vector<std::set<int>> pending(slots);
  for (const auto& a : active.addresses) {
    auto it = newQueueOf.find(a.prefix);
    if (it == newQueueOf.end())
      continue;
    for (auto [d, h] :
         {std::pair{Direction::Download, a.downClass}, std::pair{Direction::Upload, a.upClass}}) {
      const int j = h.major != 0 ? oldPos(d, h) : -1;
      if (j >= 0)
        pending[oldSlots[j]].insert(it->second);
    }
  }

  enum class Occ : uint8_t { Free, Old, Interim, Final };
  std::vector<Occ> occ(slots, Occ::Free);
  for (uint16_t s : oldSlots)
    occ[s] = Occ::Old;
  // A free tx queue whose HTB major is an old leaf's handle is usable once that leaf's HTB
  // qdisc is gone (trees built before leaves avoided the spare majors).
  std::vector<std::vector<uint16_t>> blockedBy(slots);
  for (const auto& iface : active.interfaces) {
    for (size_t j = 0; j < iface.queues.size(); ++j) {
      for (const auto& cls : iface.queues[j].classes) {
        if (!cls.leaf || cls.leaf->kind == plan::LeafKind::None)
          continue;
        const uint32_t s = cls.leaf->handleMajor - 1u;
        if (cls.leaf->handleMajor != 0 && s < slots)
          blockedBy[s].push_back(oldSlots[j]);
      }
    }
  }
  const auto usable = [&](uint32_t s) {
    return std::none_of(blockedBy[s].begin(), blockedBy[s].end(),
                        [&](uint16_t holder) { return occ[holder] == Occ::Old; });
  };
  std::vector<bool> switched(q, false);
  std::vector<int> interimOf(slots, -1);  // slot -> position of the interim copy there
  std::vector<bool> finalBuilt(q, false);
  const auto deletable = [&](uint32_t s) {
    if (occ[s] == Occ::Old) {
      return std::all_of(pending[s].begin(), pending[s].end(), [&](int k) { return switched[k]; });
    }
    return occ[s] == Occ::Interim && finalBuilt[interimOf[s]];
  };
  // A free tx queue in [first, last), else one whose HTB qdisc may go; -1 when none.
  const auto pick = [&](uint32_t first, uint32_t last) -> int {
    for (uint32_t s = first; s < last; ++s) {
      if (occ[s] == Occ::Free && usable(s))
        return static_cast<int>(s);
    }
    for (uint32_t s = first; s < last; ++s) {
      if (deletable(s) && usable(s))
        return static_cast<int>(s);
    }
    return -1;
  };

  SpareSchedule out;
  out.finalSlot.assign(q, 0);
  const auto place = [&](size_t k, int s, bool final) {
    out.steps.push_back({k, static_cast<uint16_t>(s), final, occ[s] != Occ::Free});
    occ[s] = final ? Occ::Final : Occ::Interim;
    if (final) {
      out.finalSlot[k] = static_cast<uint16_t>(s);
      finalBuilt[k] = true;
    } else {
      interimOf[s] = static_cast<int>(k);
      ++out.interimCopies;
    }
    switched[k] = true;
  };
  // Newest old HTB qdisc first: the kernel keeps every HTB class's filter block in one global
  // list, newest first, that each class add scans whole and each class delete scans up to the
  // class (net/core/flow_offload.c find_indir_dev; devices without ndo_setup_tc such as veth), so
  // old classes near the head are cheap to delete. The queue processed first frees its old tx
  // queue first. A build (and a rebuild that ended on the identity placement) made tx queue Q-1
  // last; a rebuild that ended rotated (queue k on k+1, the first-processed queue on 0) made tx
  // queue 0 last.
  // But the queue processed first goes to a spare and is built twice unless an old queue is
  // empty: the smallest one (a loaded queue twice cost 25 % more at 2k circuits).
  std::vector<size_t> order(q);
  for (size_t k = 0; k < q; ++k)
    order[k] = k;
  if (oldSlots.size() == q) {
    bool identity = true;
    for (size_t k = 0; k < q; ++k)
      identity = identity && oldSlots[k] == k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return identity ? oldSlots[a] > oldSlots[b] : oldSlots[a] < oldSlots[b];
    });
  }
  // An old HTB qdisc that holds no mapped circuit (an empty queue) may go at once: its tx
  // queue takes a loaded queue as its final place, so no copy is needed; the queues that were
  // empty come last and take the tx queues the loaded ones left.
  const auto freeAtOnce = [&](size_t k) {
    return k < oldSlots.size() && pending[oldSlots[k]].empty();
  };
  bool roomAtStart = false;
  for (uint32_t s = 0; s < q; ++s) {
    roomAtStart = roomAtStart || occ[s] == Occ::Free || (occ[s] == Occ::Old && pending[s].empty());
  }
  if (roomAtStart) {
    std::stable_partition(order.begin(), order.end(), [&](size_t k) { return !freeAtOnce(k); });
  } else {
    std::vector<size_t> classes(q, 0);
    for (const auto& iface : desired.interfaces) {
      for (size_t k = 0; k < q; ++k)
        classes[k] += iface.queues[k].classes.size();
    }
    const auto smallest = std::min_element(
        order.begin(), order.end(), [&](size_t a, size_t b) { return classes[a] < classes[b]; });
    std::rotate(order.begin(), smallest, smallest + 1);
  }
  std::vector<size_t> moveLater;
  for (size_t k : order) {
    int s = pick(0, static_cast<uint32_t>(q));  // the new default-class range first
    bool final = s >= 0;
    if (s < 0)
      s = pick(static_cast<uint32_t>(q), slots);
    if (s < 0) {
      return fmt::format(
          "no free tx queue for queue {} ({} tx queues, the old tree on {} and "
          "the new one needs {}; one spare is enough when the circuits keep their "
          "queue and no old leaf handle is a spare tx queue's HTB major)",
          k, slots, oldSlots.size(), q);
    }
    place(k, s, final);
    if (!final)
      moveLater.push_back(k);
  }
  for (size_t k : moveLater) {
    const int s = pick(0, static_cast<uint32_t>(q));
    if (s < 0) {
      return fmt::format("queue {} cannot leave its interim tx queue", k);
    }
    place(k, s, true);
  }
  for (uint32_t s = 0; s < slots; ++s) {
    if (occ[s] == Occ::Old || occ[s] == Occ::Interim) {
      out.leftovers.push_back(static_cast<uint16_t>(s));
    }
  }
  return out;
}

void relocateQueues(QueuePlan& p, const std::vector<std::vector<uint16_t>>& slots) {
  std::map<std::pair<Direction, uint16_t>, uint16_t> majorOf;  // (direction, old) -> new
  for (size_t i = 0; i < p.interfaces.size() && i < slots.size(); ++i) {
    auto& queues = p.interfaces[i].queues;
    for (size_t k = 0; k < queues.size() && k < slots[i].size(); ++k) {
      auto& hq = queues[k];
      const uint16_t major = static_cast<uint16_t>(slots[i][k] + 1);
      majorOf[{hq.direction, hq.major}] = major;
      for (auto& cls : hq.classes) {
        if (cls.classid.major == hq.major)
          cls.classid.major = major;
        if (cls.parent.major == hq.major)
          cls.parent.major = major;
      }
      hq.txQueue = slots[i][k];
      hq.major = major;
    }
  }
  const auto fix = [&](Direction d, TcHandle& h) {
    if (h.major == 0)
      return;
    auto it = majorOf.find({d, h.major});
    if (it != majorOf.end())
      h.major = it->second;
  };
  for (auto& n : p.nodes) {
    fix(Direction::Download, n.downClass);
    fix(Direction::Upload, n.upClass);
  }
  for (auto& c : p.circuits) {
    fix(Direction::Download, c.downClass);
    fix(Direction::Upload, c.upClass);
  }
  for (auto& a : p.addresses) {
    const TcHandle before = a.downClass.major != 0 ? a.downClass : a.upClass;
    fix(Direction::Download, a.downClass);
    fix(Direction::Upload, a.upClass);
    // The CPU that serves tx queue t is queueCpu[t], also for unknown addresses hashed to t
    // (bpf/lookup.h): a queue moved to tx queue t is fed from that CPU, so that each tx queue's
    // qdisc lock stays one CPU's.
    const TcHandle after = a.downClass.major != 0 ? a.downClass : a.upClass;
    const uint32_t slot = after.major - 1u;
    if (after.major != before.major && after.major != 0 && slot < p.queueCpu.size()) {
      a.cpu = p.queueCpu[slot];
    }
  }
}

void adoptPlacement(QueuePlan& desired, const QueuePlan& active) {
  if (desired.onAStick || active.onAStick ||
      desired.interfaces.size() != active.interfaces.size()) {
    return;
  }
  auto oldPlace = placement(active, "active");
  auto newPlace = placement(desired, "new");
  if (!std::holds_alternative<std::vector<uint16_t>>(oldPlace) ||
      !std::holds_alternative<std::vector<uint16_t>>(newPlace)) {
    return;
  }
  const auto& oldSlots = std::get<std::vector<uint16_t>>(oldPlace);
  const auto& newSlots = std::get<std::vector<uint16_t>>(newPlace);
  std::vector<uint16_t> adopted = newSlots;
  for (size_t k = 0; k < adopted.size() && k < oldSlots.size(); ++k)
    adopted[k] = oldSlots[k];
  if (adopted == newSlots)
    return;
  std::vector<uint16_t> a = adopted, b = newSlots;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a != b)
    return;  // not a permutation of the tx queues the planner uses
  for (size_t i = 0; i < desired.interfaces.size(); ++i) {
    if (desired.interfaces[i].ifname != active.interfaces[i].ifname)
      return;
    const auto& dq = desired.interfaces[i].queues;
    const auto& aq = active.interfaces[i].queues;
    for (size_t k = 0; k < dq.size() && k < aq.size(); ++k) {
      if (dq[k].direction != aq[k].direction)
        return;
    }
  }
  relocateQueues(desired, std::vector<std::vector<uint16_t>>(desired.interfaces.size(), adopted));
}

bool freeSpareMajors(QueuePlan& p, const std::string& ifname, uint32_t txQueues) {
  bool changed = false;
  for (auto& iface : p.interfaces) {
    if (iface.ifname != ifname)
      continue;
    std::vector<bool> used(0x10000, false);
    std::vector<bool> htbMajor(0x10000, false);
    plan::markReservedMajors(used);
    for (const auto& hq : iface.queues) {
      used[hq.major] = htbMajor[hq.major] = true;
      for (const auto& cls : hq.classes) {
        if (cls.leaf && cls.leaf->kind != plan::LeafKind::None)
          used[cls.leaf->handleMajor] = true;
      }
    }
    uint32_t cursor = kHtbMajorsReserved + 1;
    for (auto& hq : iface.queues) {
      for (auto& cls : hq.classes) {
        if (!cls.leaf || cls.leaf->kind == plan::LeafKind::None)
          continue;
        const uint16_t h = cls.leaf->handleMajor;
        if (h == 0 || h > txQueues || htbMajor[h])
          continue;
        while (cursor < 0xFFFF && used[cursor])
          ++cursor;
        if (cursor >= 0xFFFF)
          return changed;  // full: the rebuild will say so
        used[cursor] = true;
        cls.leaf->handleMajor = static_cast<uint16_t>(cursor);
        changed = true;
      }
    }
  }
  return changed;
}

void interleaveQueues(std::vector<TcOp>& addPhase) {
  const auto rank = [](const TcOp& op) -> std::pair<int, uint32_t> {
    switch (op.kind) {
      case TcOp::Kind::AddRoot:
        return {0, 0};
      case TcOp::Kind::AddHtbQdisc:
        return {1, 0};
      case TcOp::Kind::AddClass:
        return {2, op.queue.txQueue};
      case TcOp::Kind::AddLeaf:
        return {3, op.queue.txQueue};
      default:
        return {4, 0};
    }
  };
  std::stable_sort(addPhase.begin(), addPhase.end(),
                   [&](const TcOp& a, const TcOp& b) { return rank(a) < rank(b); });
}

}  // namespace sluice::bakery::detail
