// The fast path of Bakery::apply: when the planner's new plan has the same structure as the last
// one (same classes in the same places, same circuits and nodes), only class parameters and
// address mappings can differ. Then the stabilized plan and the ChangeSet come from one linear
// walk over the two planner plans and the active plan in parallel (positions correspond:
// stabilization renumbers but never reorders classes), without the maps of stabilizeHandles and
// diff: what keeps speed and address changes at a few milliseconds in a 30k-circuit tree.

#include <set>
#include <unordered_map>

#include "bakery/Bakery.h"

namespace sluice::bakery {
namespace {

bool hasLeaf(const plan::HtbClassPlan& c) {
  return c.leaf.has_value() && c.leaf->kind != plan::LeafKind::None;
}

bool sameClassShape(const plan::HtbClassPlan& a, const plan::HtbClassPlan& b) {
  if (a.classid != b.classid || a.parent != b.parent || a.role != b.role ||
      a.modelIndex != b.modelIndex || hasLeaf(a) != hasLeaf(b)) {
    return false;
  }
  if (!hasLeaf(a)) {
    return true;
  }
  return a.leaf->kind == b.leaf->kind && a.leaf->handleMajor == b.leaf->handleMajor &&
         (a.leaf->kind != plan::LeafKind::FqCodel ||
          a.leaf->fqCodel.flows == b.leaf->fqCodel.flows);
}

}  // namespace

std::optional<FastDiff> fastDiff(const plan::QueuePlan& last, const plan::QueuePlan& active,
                                 const plan::QueuePlan& input) {
  if (last.queueCount != input.queueCount || last.onAStick != input.onAStick ||
      last.interfaces.size() != input.interfaces.size() ||
      active.interfaces.size() != input.interfaces.size() ||
      last.circuits.size() != input.circuits.size() ||
      active.circuits.size() != input.circuits.size() || last.nodes.size() != input.nodes.size() ||
      active.nodes.size() != input.nodes.size() ||
      last.addresses.size() != active.addresses.size()) {
    return std::nullopt;
  }
  FastDiff out;
  plan::QueuePlan& next = out.stabilized;
  ChangeSet& cs = out.changes;
  next.queueCount = input.queueCount;
  next.queueCpu = input.queueCpu;
  next.onAStick = input.onAStick;
  next.interfaces = active.interfaces;
  // input circuit index -> active circuit index, from the circuit classes' positions.
  std::vector<int32_t> circuitMap(input.circuits.size(), -1);
  std::set<int32_t> speedChanged, nodeSpeedChanged, sqmChanged;
  for (size_t i = 0; i < input.interfaces.size(); ++i) {
    const auto& li = last.interfaces[i];
    const auto& ii = input.interfaces[i];
    auto& ni = next.interfaces[i];
    if (li.ifname != ii.ifname || ni.ifname != ii.ifname || li.queues.size() != ii.queues.size() ||
        ni.queues.size() != ii.queues.size()) {
      return std::nullopt;
    }
    for (size_t k = 0; k < ii.queues.size(); ++k) {
      const auto& lq = li.queues[k];
      const auto& iq = ii.queues[k];
      auto& nq = ni.queues[k];
      if (lq.direction != iq.direction || lq.txQueue != iq.txQueue || lq.major != iq.major ||
          lq.r2q != iq.r2q || lq.defaultMinor != iq.defaultMinor ||
          lq.classes.size() != iq.classes.size() || nq.classes.size() != iq.classes.size()) {
        return std::nullopt;
      }
      for (size_t c = 0; c < iq.classes.size(); ++c) {
        const auto& lc = lq.classes[c];
        const auto& ic = iq.classes[c];
        auto& nc = nq.classes[c];
        if (!sameClassShape(lc, ic) || nc.role != ic.role || hasLeaf(nc) != hasLeaf(ic)) {
          return std::nullopt;
        }
        // Positions must correspond: the active class stands for the same circuit / node.
        if (ic.role == plan::ClassRole::Circuit) {
          if (ic.modelIndex < 0 || static_cast<size_t>(ic.modelIndex) >= circuitMap.size() ||
              nc.modelIndex < 0 || static_cast<size_t>(nc.modelIndex) >= active.circuits.size() ||
              active.circuits[nc.modelIndex].circuitId != input.circuits[ic.modelIndex].circuitId) {
            return std::nullopt;
          }
          circuitMap[ic.modelIndex] = nc.modelIndex;
        } else if (ic.role == plan::ClassRole::Node) {
          if (ic.modelIndex < 0 || static_cast<size_t>(ic.modelIndex) >= input.nodes.size() ||
              nc.modelIndex != ic.modelIndex ||
              active.nodes[nc.modelIndex].name != input.nodes[ic.modelIndex].name) {
            return std::nullopt;
          }
        }
        const bool inner = ic.role == plan::ClassRole::Node || ic.role == plan::ClassRole::Link;
        const bool changed =
            nc.rateBitsPerSecond != ic.rateBitsPerSecond ||
            nc.ceilBitsPerSecond != ic.ceilBitsPerSecond ||
            (!inner && (nc.quantumBytes != ic.quantumBytes || nc.prio != ic.prio));
        if (changed) {
          nc.rateBitsPerSecond = ic.rateBitsPerSecond;
          nc.ceilBitsPerSecond = ic.ceilBitsPerSecond;
          if (!inner) {  // inner classes keep theirs (see stabilizeHandles)
            nc.quantumBytes = ic.quantumBytes;
            nc.prio = ic.prio;
          }
          cs.addPhase.push_back(classOp(TcOp::Kind::ChangeClass, ii.ifname, nq, nc));
          // Counted per circuit / node (both directions are one change), as diff() does.
          (ic.role == plan::ClassRole::Circuit ? speedChanged : nodeSpeedChanged)
              .insert(ic.modelIndex);
        }
        if (hasLeaf(ic)) {
          plan::LeafSpec leaf = *ic.leaf;
          leaf.handleMajor = nc.leaf->handleMajor;
          if (leaf != *nc.leaf) {
            nc.leaf = leaf;
            cs.addPhase.push_back(classOp(TcOp::Kind::ChangeLeaf, ii.ifname, nq, nc));
            sqmChanged.insert(ic.modelIndex);
          }
        }
      }
    }
  }
  // Placements: same circuits and nodes in the same places; their classes are the active ones.
  next.circuits.resize(input.circuits.size());
  for (size_t i = 0; i < input.circuits.size(); ++i) {
    const auto& lc = last.circuits[i];
    const auto& ic = input.circuits[i];
    const int32_t to = circuitMap[i];
    if (to < 0 || lc.circuitId != ic.circuitId || lc.parentPlacement != ic.parentPlacement ||
        lc.queue != ic.queue || lc.downClass != ic.downClass || lc.upClass != ic.upClass ||
        active.circuits[to].circuitId != ic.circuitId) {
      return std::nullopt;
    }
    plan::CircuitPlacement c = ic;
    c.downClass = active.circuits[to].downClass;
    c.upClass = active.circuits[to].upClass;
    next.circuits[to] = std::move(c);
  }
  next.nodes = input.nodes;
  for (size_t i = 0; i < input.nodes.size(); ++i) {
    const auto& ln = last.nodes[i];
    const auto& in = input.nodes[i];
    if (ln.name != in.name || ln.queue != in.queue || ln.downClass != in.downClass ||
        ln.upClass != in.upClass || active.nodes[i].name != in.name) {
      return std::nullopt;
    }
    next.nodes[i].downClass = active.nodes[i].downClass;
    next.nodes[i].upClass = active.nodes[i].upClass;
  }

  // Addresses: a merge of the two sorted planner lists; unchanged entries are the active ones.
  std::unordered_map<uint64_t, plan::TcHandle> classMap;  // built on first need
  size_t lookups = 0;
  const auto translateClass = [&](plan::Direction d, plan::TcHandle h) -> std::optional<plan::TcHandle> {
    if (classMap.empty() && ++lookups <= 64) {
      // A few changed addresses: scan the one queue the class is in (no map to build).
      for (size_t i = 0; i < last.interfaces.size(); ++i) {
        for (size_t k = 0; k < last.interfaces[i].queues.size(); ++k) {
          const auto& lq = last.interfaces[i].queues[k];
          if (lq.major != h.major || lq.direction != d) continue;
          for (size_t c = 0; c < lq.classes.size(); ++c) {
            if (lq.classes[c].classid == h) {
              return active.interfaces[i].queues[k].classes[c].classid;
            }
          }
        }
      }
      return std::nullopt;
    }
    if (classMap.empty()) {
      classMap.reserve(2 * input.circuits.size() + 64);
      for (size_t i = 0; i < last.interfaces.size(); ++i) {
        for (size_t k = 0; k < last.interfaces[i].queues.size(); ++k) {
          const auto& lq = last.interfaces[i].queues[k];
          const auto& aq = active.interfaces[i].queues[k];
          for (size_t c = 0; c < lq.classes.size(); ++c) {
            classMap.emplace(static_cast<uint64_t>(lq.direction) << 32 | lq.classes[c].classid.raw(),
                             aq.classes[c].classid);
          }
        }
      }
    }
    auto it = classMap.find(static_cast<uint64_t>(d) << 32 | h.raw());
    if (it == classMap.end()) {
      return std::nullopt;
    }
    return it->second;
  };
  const auto translate = [&](const plan::AddressMapping& m) -> std::optional<plan::AddressMapping> {
    plan::AddressMapping t = m;
    if (m.circuit >= 0) {
      if (static_cast<size_t>(m.circuit) >= circuitMap.size()) return std::nullopt;
      t.circuit = circuitMap[m.circuit];
    }
    auto down = translateClass(plan::Direction::Download, m.downClass);
    auto up = translateClass(plan::Direction::Upload, m.upClass);
    if (!down || !up) return std::nullopt;
    t.downClass = *down;
    t.upClass = *up;
    return t;
  };
  next.addresses.reserve(input.addresses.size());
  size_t a = 0;
  size_t b = 0;
  const auto& la = last.addresses;
  const auto& ia = input.addresses;
  while (a < la.size() || b < ia.size()) {
    if (b > 0 && b < ia.size() && !(ia[b - 1].prefix < ia[b].prefix)) {
      return std::nullopt;  // not sorted: let the general path handle it
    }
    if (b >= ia.size() || (a < la.size() && la[a].prefix < ia[b].prefix)) {
      cs.removals.push_back(la[a].prefix);
      ++cs.counts[ChangeKind::AddressRemoved];
      ++a;
    } else if (a >= la.size() || ia[b].prefix < la[a].prefix) {
      auto t = translate(ia[b]);
      if (!t) return std::nullopt;
      cs.upserts.push_back(*t);
      next.addresses.push_back(*t);
      ++cs.counts[ChangeKind::AddressAdded];
      ++b;
    } else {
      if (active.addresses[a].prefix != la[a].prefix) {
        return std::nullopt;
      }
      if (la[a] == ia[b]) {
        next.addresses.push_back(active.addresses[a]);
      } else {
        auto t = translate(ia[b]);
        if (!t) return std::nullopt;
        cs.upserts.push_back(*t);
        next.addresses.push_back(*t);
        if (la[a].downClass != ia[b].downClass || la[a].upClass != ia[b].upClass ||
            la[a].queue != ia[b].queue || la[a].circuit != ia[b].circuit) {
          ++cs.counts[ChangeKind::AddressMoved];
        }
      }
      ++a;
      ++b;
    }
  }
  cs.bumpEpoch = !cs.upserts.empty() || !cs.removals.empty();
  if (!speedChanged.empty()) cs.counts[ChangeKind::SpeedChange] = speedChanged.size();
  if (!nodeSpeedChanged.empty()) cs.counts[ChangeKind::NodeSpeedChange] = nodeSpeedChanged.size();
  if (!sqmChanged.empty()) cs.counts[ChangeKind::SqmChange] = sqmChanged.size();
  return out;
}

}  // namespace sluice::bakery
