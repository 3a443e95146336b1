// The fast path of Bakery::apply: when the planner's new plan has the same structure as the last
// one (same classes in the same places, same circuits and nodes), only class parameters and
// address mappings can differ. Then the stabilized plan and the ChangeSet come from one linear
// walk over the two planner plans and the active plan in parallel (positions correspond:
// stabilization renumbers but never reorders classes), without the maps of stabilizeHandles and
// diff: what keeps speed and address changes at a few milliseconds in a 30k-circuit tree.
//
// The walk produces a patch (detail::PlanPatch: only the entries that differ), not a new plan:
// Bakery::apply patches its active plan in place, so the latency path never copies the tree.
// Comparisons are of integer fields first; the only strings compared are circuit IDs (once per
// circuit, input against last and active: the check that positions still correspond) and node
// names.

#include <algorithm>
#include <set>
#include <unordered_map>

#include "bakery/Bakery.h"
#include "bakery/FastPatch.h"

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

/// Same leaf parameters (the handle is the active plan's and not compared).
bool sameLeafParams(const plan::LeafSpec& a, const plan::LeafSpec& b) {
  return a.kind == b.kind && a.fifoLimit == b.fifoLimit && a.cake == b.cake &&
         a.fqCodel == b.fqCodel;
}

/// `active` with the non-class fields of `input` (what the stabilized placement is).
bool samePlacement(const plan::CircuitPlacement& active, const plan::CircuitPlacement& input) {
  return active.modelIndex == input.modelIndex && active.parentPlacement == input.parentPlacement &&
         active.queue == input.queue && active.downloadMinMbps == input.downloadMinMbps &&
         active.uploadMinMbps == input.uploadMinMbps &&
         active.downloadMaxMbps == input.downloadMaxMbps &&
         active.uploadMaxMbps == input.uploadMaxMbps;
}

bool samePlacement(const plan::NodePlacement& active, const plan::NodePlacement& input) {
  return active.modelIndex == input.modelIndex && active.generated == input.generated &&
         active.isVirtual == input.isVirtual && active.queue == input.queue &&
         active.downloadMaxMbps == input.downloadMaxMbps &&
         active.uploadMaxMbps == input.uploadMaxMbps;
}

bool prefixLess(const plan::AddressMapping& m, const IpNet& p) { return m.prefix < p; }

}  // namespace

namespace detail {

void applyPatch(plan::QueuePlan& plan, const PlanPatch& patch) {
  for (const auto& c : patch.classes) {
    plan.interfaces[c.iface].queues[c.queue].classes[c.index] = c.cls;
  }
  for (const auto& [i, c] : patch.circuits) {
    plan.circuits[i] = c;
  }
  for (const auto& [i, n] : patch.nodes) {
    plan.nodes[i] = n;
  }
  if (patch.queueCpu) {
    plan.queueCpu = *patch.queueCpu;
  }
  auto& v = plan.addresses;
  if (patch.removals.size() + patch.upserts.size() <= 64) {
    // A few: binary search, erase/insert in place (a memmove of the tail each).
    for (const auto& r : patch.removals) {
      auto it = std::lower_bound(v.begin(), v.end(), r, prefixLess);
      if (it != v.end() && it->prefix == r) v.erase(it);
    }
    for (const auto& u : patch.upserts) {
      auto it = std::lower_bound(v.begin(), v.end(), u.prefix, prefixLess);
      if (it != v.end() && it->prefix == u.prefix) {
        *it = u;
      } else {
        v.insert(it, u);
      }
    }
    return;
  }
  // Many: one merge of the three sorted lists.
  std::vector<plan::AddressMapping> out;
  out.reserve(v.size() + patch.upserts.size());
  size_t r = 0;
  size_t u = 0;
  for (size_t a = 0; a <= v.size(); ++a) {
    const bool end = a == v.size();
    while (u < patch.upserts.size() && (end || patch.upserts[u].prefix < v[a].prefix)) {
      out.push_back(patch.upserts[u++]);
    }
    if (end) break;
    while (r < patch.removals.size() && patch.removals[r] < v[a].prefix) ++r;
    if (r < patch.removals.size() && patch.removals[r] == v[a].prefix) {
      continue;
    }
    if (u < patch.upserts.size() && patch.upserts[u].prefix == v[a].prefix) {
      out.push_back(patch.upserts[u++]);
    } else {
      out.push_back(v[a]);
    }
  }
  v = std::move(out);
}

std::optional<std::vector<int32_t>> correspondence(const plan::QueuePlan& last,
                                                   const plan::QueuePlan& active) {
  if (last.queueCount != active.queueCount || last.onAStick != active.onAStick ||
      last.interfaces.size() != active.interfaces.size() ||
      last.circuits.size() != active.circuits.size() || last.nodes.size() != active.nodes.size() ||
      last.addresses.size() != active.addresses.size()) {
    return std::nullopt;
  }
  std::vector<int32_t> circuitMap(last.circuits.size(), -1);
  for (size_t i = 0; i < last.interfaces.size(); ++i) {
    const auto& li = last.interfaces[i];
    const auto& ai = active.interfaces[i];
    if (li.ifname != ai.ifname || li.queues.size() != ai.queues.size()) {
      return std::nullopt;
    }
    for (size_t k = 0; k < li.queues.size(); ++k) {
      const auto& lq = li.queues[k];
      const auto& aq = ai.queues[k];
      // txQueue may differ: after a rebuild on spare tx queues the active queue k can sit on
      // another tx queue than the planner's k (stabilization keeps it there: adoptPlacement).
      if (lq.direction != aq.direction || lq.classes.size() != aq.classes.size()) {
        return std::nullopt;
      }
      for (size_t c = 0; c < lq.classes.size(); ++c) {
        const auto& lc = lq.classes[c];
        const auto& ac = aq.classes[c];
        if (lc.role != ac.role || hasLeaf(lc) != hasLeaf(ac) ||
            (hasLeaf(lc) && !sameLeafParams(*lc.leaf, *ac.leaf)) ||
            lc.rateBitsPerSecond != ac.rateBitsPerSecond ||
            lc.ceilBitsPerSecond != ac.ceilBitsPerSecond) {
          return std::nullopt;
        }
        const bool inner = lc.role == plan::ClassRole::Node || lc.role == plan::ClassRole::Link;
        if (!inner && (lc.quantumBytes != ac.quantumBytes || lc.prio != ac.prio)) {
          return std::nullopt;
        }
        if (lc.role == plan::ClassRole::Circuit) {
          if (lc.modelIndex < 0 || static_cast<size_t>(lc.modelIndex) >= last.circuits.size() ||
              ac.modelIndex < 0 || static_cast<size_t>(ac.modelIndex) >= active.circuits.size() ||
              (circuitMap[lc.modelIndex] >= 0 && circuitMap[lc.modelIndex] != ac.modelIndex) ||
              last.circuits[lc.modelIndex].circuitId != active.circuits[ac.modelIndex].circuitId) {
            return std::nullopt;
          }
          circuitMap[lc.modelIndex] = ac.modelIndex;
        } else if (lc.role == plan::ClassRole::Node) {
          if (lc.modelIndex != ac.modelIndex || lc.modelIndex < 0 ||
              static_cast<size_t>(lc.modelIndex) >= last.nodes.size()) {
            return std::nullopt;
          }
        }
      }
    }
  }
  for (size_t i = 0; i < last.circuits.size(); ++i) {
    const int32_t to = circuitMap[i];
    if (to < 0 || !samePlacement(active.circuits[to], last.circuits[i])) {
      return std::nullopt;
    }
  }
  for (size_t i = 0; i < last.nodes.size(); ++i) {
    if (last.nodes[i].name != active.nodes[i].name ||
        !samePlacement(active.nodes[i], last.nodes[i])) {
      return std::nullopt;
    }
  }
  for (size_t a = 0; a < last.addresses.size(); ++a) {
    if (last.addresses[a].prefix != active.addresses[a].prefix) {
      return std::nullopt;
    }
  }
  return circuitMap;
}

std::optional<FastPatch> fastPatch(const plan::QueuePlan& last, const plan::QueuePlan& active,
                                   const std::vector<int32_t>& circuitMap,
                                   const plan::QueuePlan& input) {
  // What correspondence() established about last and active is not checked again: only input
  // is compared with last, and active is read where something changed.
  if (last.queueCount != input.queueCount || last.onAStick != input.onAStick ||
      last.holder != input.holder ||
      last.interfaces.size() != input.interfaces.size() ||
      last.circuits.size() != input.circuits.size() || last.nodes.size() != input.nodes.size() ||
      circuitMap.size() != input.circuits.size()) {
    return std::nullopt;
  }
  FastPatch out;
  PlanPatch& patch = out.patch;
  ChangeSet& cs = out.changes;
  if (active.queueCpu != input.queueCpu) {
    patch.queueCpu = input.queueCpu;
  }
  // Who changed, as diff() counts it: a circuit or node by its model index (>= 0), a link or
  // default class by its classid (< 0).
  std::set<int64_t> speedChanged, nodeSpeedChanged, sqmChanged;
  const auto whoChanged = [](const plan::HtbClassPlan& input, const plan::HtbClassPlan& live) {
    const bool placed = input.role == plan::ClassRole::Circuit || input.role == plan::ClassRole::Node;
    return placed ? int64_t{input.modelIndex} : -1 - int64_t{live.classid.raw()};
  };
  for (size_t i = 0; i < input.interfaces.size(); ++i) {
    const auto& li = last.interfaces[i];
    const auto& ii = input.interfaces[i];
    if (li.ifname != ii.ifname || li.queues.size() != ii.queues.size()) {
      return std::nullopt;
    }
    for (size_t k = 0; k < ii.queues.size(); ++k) {
      const auto& lq = li.queues[k];
      const auto& iq = ii.queues[k];
      // r2q may differ when it is inert: the patched active plan keeps the live value, as
      // stabilization does.
      if (lq.direction != iq.direction || lq.txQueue != iq.txQueue || lq.major != iq.major ||
          lq.defaultMinor != iq.defaultMinor || lq.holder != iq.holder ||
          lq.classes.size() != iq.classes.size() ||
          plan::r2qDiffersInEffect(lq.r2q, iq)) {
        return std::nullopt;
      }
      for (size_t c = 0; c < iq.classes.size(); ++c) {
        const auto& lc = lq.classes[c];
        const auto& ic = iq.classes[c];
        if (!sameClassShape(lc, ic)) {
          return std::nullopt;
        }
        if (ic.role == plan::ClassRole::Circuit &&
            (ic.modelIndex < 0 || static_cast<size_t>(ic.modelIndex) >= circuitMap.size())) {
          return std::nullopt;
        }
        if (ic.role == plan::ClassRole::Node &&
            (ic.modelIndex < 0 || static_cast<size_t>(ic.modelIndex) >= input.nodes.size())) {
          return std::nullopt;
        }
        const bool inner = ic.role == plan::ClassRole::Node || ic.role == plan::ClassRole::Link;
        // Against last first (the active class has last's values under other numbers; inner
        // classes keep their own quantum/prio, which the fast path never changes).
        if (lc.rateBitsPerSecond == ic.rateBitsPerSecond &&
            lc.ceilBitsPerSecond == ic.ceilBitsPerSecond &&
            (inner || (lc.quantumBytes == ic.quantumBytes && lc.prio == ic.prio)) &&
            (!hasLeaf(ic) || sameLeafParams(*ic.leaf, *lc.leaf))) {
          continue;
        }
        const auto& nq = active.interfaces[i].queues[k];
        const auto& nc = nq.classes[c];
        const bool changed =
            nc.rateBitsPerSecond != ic.rateBitsPerSecond ||
            nc.ceilBitsPerSecond != ic.ceilBitsPerSecond ||
            (!inner && (nc.quantumBytes != ic.quantumBytes || nc.prio != ic.prio));
        const bool leafChanged = hasLeaf(ic) && !sameLeafParams(*ic.leaf, *nc.leaf);
        if (!changed && !leafChanged) {
          continue;
        }
        plan::HtbClassPlan n = nc;
        if (changed) {
          n.rateBitsPerSecond = ic.rateBitsPerSecond;
          n.ceilBitsPerSecond = ic.ceilBitsPerSecond;
          if (!inner) {  // inner classes keep theirs (see stabilizeHandles)
            n.quantumBytes = ic.quantumBytes;
            n.prio = ic.prio;
          }
          cs.addPhase.push_back(classOp(TcOp::Kind::ChangeClass, ii.ifname, nq, n));
          // Counted per circuit / node (both directions are one change), as diff() does.
          (ic.role == plan::ClassRole::Circuit ? speedChanged : nodeSpeedChanged)
              .insert(whoChanged(ic, nc));
        }
        if (leafChanged) {
          n.leaf = *ic.leaf;
          n.leaf->handleMajor = nc.leaf->handleMajor;
          cs.addPhase.push_back(classOp(TcOp::Kind::ChangeLeaf, ii.ifname, nq, n));
          sqmChanged.insert(whoChanged(ic, nc));
        }
        patch.classes.push_back(PlanPatch::Class{static_cast<uint32_t>(i),
                                                 static_cast<uint32_t>(k),
                                                 static_cast<uint32_t>(c), std::move(n)});
      }
    }
  }
  // Placements: same circuits and nodes in the same places; their classes are the active ones.
  for (size_t i = 0; i < input.circuits.size(); ++i) {
    const auto& lc = last.circuits[i];
    const auto& ic = input.circuits[i];
    if (lc.parentPlacement != ic.parentPlacement || lc.queue != ic.queue ||
        lc.downClass != ic.downClass || lc.upClass != ic.upClass ||
        lc.circuitId != ic.circuitId) {
      return std::nullopt;
    }
    if (!samePlacement(lc, ic)) {
      const int32_t to = circuitMap[i];
      const auto& ac = active.circuits[to];
      plan::CircuitPlacement c = ic;
      c.downClass = ac.downClass;
      c.upClass = ac.upClass;
      patch.circuits.emplace_back(static_cast<uint32_t>(to), std::move(c));
    }
  }
  for (size_t i = 0; i < input.nodes.size(); ++i) {
    const auto& ln = last.nodes[i];
    const auto& in = input.nodes[i];
    if (ln.queue != in.queue || ln.downClass != in.downClass || ln.upClass != in.upClass ||
        ln.name != in.name) {
      return std::nullopt;
    }
    if (!samePlacement(ln, in)) {
      const auto& an = active.nodes[i];
      plan::NodePlacement n = in;
      n.downClass = an.downClass;
      n.upClass = an.upClass;
      patch.nodes.emplace_back(static_cast<uint32_t>(i), std::move(n));
    }
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
      ++cs.counts[ChangeKind::AddressAdded];
      ++b;
    } else {
      if (!(la[a] == ia[b])) {
        auto t = translate(ia[b]);
        if (!t) return std::nullopt;
        cs.upserts.push_back(*t);
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
  patch.removals = cs.removals;
  patch.upserts = cs.upserts;
  return out;
}

}  // namespace detail

std::optional<FastDiff> fastDiff(const plan::QueuePlan& last, const plan::QueuePlan& active,
                                 const plan::QueuePlan& input) {
  const auto map = detail::correspondence(last, active);
  if (!map) {
    return std::nullopt;
  }
  auto fast = detail::fastPatch(last, active, *map, input);
  if (!fast) {
    return std::nullopt;
  }
  FastDiff out;
  out.stabilized = active;
  detail::applyPatch(out.stabilized, fast->patch);
  out.changes = std::move(fast->changes);
  return out;
}

}  // namespace sluice::bakery
