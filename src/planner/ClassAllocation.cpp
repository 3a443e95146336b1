// Class minors, HTB classes, leaves and leaf handles (PlanTree.h: allocateClasses).

#include <algorithm>

#include <fmt/format.h>

#include "planner/HtbMath.h"
#include "planner/LeafSelection.h"
#include "planner/PlanTree.h"

namespace sluice::plan::detail {

namespace {

/// Largest class minor (and qdisc handle major) tc can express: they are 16-bit.
constexpr uint32_t kMaxMinor = 0xFFFF;
/// Priorities (LibreQoS: sites and circuits `prio 3`, the default class `prio 5`; the link class
/// is left at HTB's default 0).
constexpr uint32_t kLinkPrio = 0;
constexpr uint32_t kNodePrio = 3;
constexpr uint32_t kDefaultPrio = 5;

/// Smallest rate written (bits/s): HTB refuses a zero rate, so never emit one.
constexpr uint64_t kMinRateBits = 8;

uint16_t htbMajor(Direction dir, uint16_t queue, uint16_t queueCount, bool onAStick) {
  const uint32_t offset = (onAStick && dir == Direction::Upload) ? queueCount : 0;
  return static_cast<uint16_t>(queue + offset + 1);
}

/// Allocates minors per queue; false (with one error per overflowing queue) when a queue needs
/// more than 0xFFFF.
bool allocateMinors(const model::Model& model, PlanTree& tree, std::vector<uint32_t>& perQueue,
                    Diagnostics& diags) {
  std::vector<uint32_t> next(tree.queueCount, kFirstFreeMinor);
  auto take = [&](uint16_t queue) -> uint16_t {
    const uint32_t minor = next[queue]++;
    return minor <= kMaxMinor ? static_cast<uint16_t>(minor) : 0;
  };
  for (TreeNode& node : tree.nodes) {
    if (!node.isVirtual) {
      node.minor = take(node.queue);
    }
  }
  for (TreeCircuit& c : tree.circuits) {
    c.minor = take(c.queue);
  }
  bool ok = true;
  perQueue.assign(tree.queueCount, 0);
  for (uint16_t q = 0; q < tree.queueCount; ++q) {
    perQueue[q] = next[q] - kFirstFreeMinor;
    if (next[q] - 1 > kMaxMinor) {
      ok = false;
      diags.error(
          SourceLocation{model.shaped.circuits.empty()
                             ? std::string("network.json")
                             : model.shaped.circuits.front().where.file.str()},
          "planner-minor-overflow",
          fmt::format("queue {} needs {} HTB class minors (2 reserved, {} node and circuit "
                      "classes), more than tc's 16-bit limit of 65535; add queues "
                      "(queues.override_available_queues) or split the top-level nodes",
                      q, next[q] - 1, perQueue[q]),
          fmt::format("queue {}", q));
    }
  }
  return ok;
}

HtbClassPlan makeClass(uint16_t major, uint16_t minor, TcHandle parent, double rateMbps,
                       double ceilMbps, uint32_t r2q, uint32_t prio, ClassRole role,
                       int32_t index) {
  HtbClassPlan cls;
  cls.classid = TcHandle{major, minor};
  cls.parent = parent;
  cls.ceilBitsPerSecond = std::max(mbpsToBits(ceilMbps), kMinRateBits);
  cls.rateBitsPerSecond = std::clamp(mbpsToBits(rateMbps), kMinRateBits, cls.ceilBitsPerSecond);
  cls.quantumBytes = computeQuantum(cls.ceilBitsPerSecond, r2q);
  cls.prio = prio;
  cls.role = role;
  cls.modelIndex = index;
  return cls;
}

/// The HTB qdisc of one queue and direction, with its link and default classes. The default class
/// follows LibreQoS: ceil = link − 1 Mbps, rate = a quarter of that (it only carries traffic no
/// circuit claims, and must not take the whole link from the circuits).
HtbQueuePlan makeQueue(Direction dir, uint16_t queue, const PlanTree& tree, bool onAStick,
                       uint32_t r2q, uint32_t classes, const LeafRules& rules) {
  HtbQueuePlan hq;
  hq.direction = dir;
  hq.major = htbMajor(dir, queue, tree.queueCount, onAStick);
  hq.txQueue = static_cast<uint16_t>(hq.major - 1);
  hq.r2q = r2q;
  hq.defaultMinor = kDefaultMinor;
  hq.classes.reserve(classes + 2);
  const double link = dir == Direction::Download ? tree.linkDownMbps : tree.linkUpMbps;
  hq.classes.push_back(makeClass(hq.major, kLinkMinor, TcHandle{hq.major, 0}, link, link, r2q,
                                 kLinkPrio, ClassRole::Link, -1));
  const double defaultCeil = link > 1 ? link - 1 : link;
  HtbClassPlan def =
      makeClass(hq.major, kDefaultMinor, TcHandle{hq.major, kLinkMinor}, defaultCeil / 4,
                defaultCeil, r2q, kDefaultPrio, ClassRole::Default, -1);
  def.leaf = selectDefaultClassLeaf(rules);
  hq.classes.push_back(std::move(def));
  return hq;
}

/// Gives every leaf of the interface an explicit handle major: the first free major above the
/// interface's HTB majors, skipping reserved majors (isReservedMajor: the mq root, the holder
/// range below it and 0xFFFF, tc's TC_H_ROOT/ingress range). False with an error naming the
/// interface when the 16-bit space runs out, except with lazy queues (only active circuits'
/// leaves exist; src/lazy gives the ones left at 0 a free handle when they are materialized, and
/// the bakery's preflight refuses more than a device holds).
bool assignLeafHandles(InterfacePlan& iface, Diagnostics& diags, bool lazy) {
  uint32_t next = 1;
  size_t leaves = 0;
  for (const HtbQueuePlan& hq : iface.queues) {
    next = std::max<uint32_t>(next, hq.major + 1u);
    for (const HtbClassPlan& cls : hq.classes) {
      leaves += cls.leaf.has_value() ? 1 : 0;
    }
  }
  size_t available = 0;
  for (uint32_t m = next; m <= 0xFFFE; ++m) {
    available += isReservedMajor(m) ? 0 : 1;
  }
  if (leaves > available && !lazy) {
    diags.error(SourceLocation{}, "planner-leaf-handles-exhausted",
                fmt::format("interface {} needs {} leaf qdiscs but only {} qdisc handles are "
                            "free (a device has 65,534 at most); use fewer circuits per interface "
                            "or sqm 'none' for some",
                            iface.ifname, leaves, available),
                iface.ifname);
    return false;
  }
  for (HtbQueuePlan& hq : iface.queues) {
    for (HtbClassPlan& cls : hq.classes) {
      if (!cls.leaf) {
        continue;
      }
      while (next <= 0xFFFE && isReservedMajor(next)) {
        ++next;
      }
      if (next > 0xFFFE) {  // lazy queues only (see above): assigned when materialized
        cls.leaf->handleMajor = 0;
        continue;
      }
      cls.leaf->handleMajor = static_cast<uint16_t>(next++);
    }
  }
  return true;
}

}  // namespace

bool allocateClasses(const model::Model& model, const config::Config& config, PlanTree& tree,
                     QueuePlan& plan, Diagnostics& diags) {
  std::vector<uint32_t> classesPerQueue;
  if (!allocateMinors(model, tree, classesPerQueue, diags)) {
    return false;
  }
  const bool stick = config.onAStick();
  const LeafRules rules = LeafRules::fromConfig(config);
  const uint32_t r2q = computeR2q(std::max(tree.linkDownMbps, tree.linkUpMbps));
  const uint16_t q = tree.queueCount;

  std::vector<HtbQueuePlan> queues[2];
  for (int d = 0; d < 2; ++d) {
    const auto dir = d == 0 ? Direction::Download : Direction::Upload;
    queues[d].reserve(q);
    for (uint16_t i = 0; i < q; ++i) {
      queues[d].push_back(makeQueue(dir, i, tree, stick, r2q, classesPerQueue[i], rules));
    }
  }
  auto parentHandle = [&](int32_t classParent, uint16_t major) {
    return TcHandle{major, classParent == kUnderLink ? kLinkMinor : tree.nodes[classParent].minor};
  };
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const TreeNode& node = tree.nodes[i];
    if (node.isVirtual) {
      continue;
    }
    for (int d = 0; d < 2; ++d) {
      HtbQueuePlan& hq = queues[d][node.queue];
      hq.classes.push_back(makeClass(hq.major, node.minor, parentHandle(node.classParent, hq.major),
                                     d == 0 ? node.downRate : node.upRate,
                                     d == 0 ? node.downMax : node.upMax, r2q, kNodePrio,
                                     ClassRole::Node, static_cast<int32_t>(i)));
    }
  }
  const auto& circuits = model.shaped.circuits;
  for (size_t i = 0; i < circuits.size(); ++i) {
    const TreeCircuit& c = tree.circuits[i];
    for (int d = 0; d < 2; ++d) {
      HtbQueuePlan& hq = queues[d][c.queue];
      const double max = d == 0 ? c.downMax : c.upMax;
      HtbClassPlan cls = makeClass(hq.major, c.minor, parentHandle(c.classParent, hq.major),
                                   d == 0 ? c.downMin : c.upMin, max, r2q, kNodePrio,
                                   ClassRole::Circuit, static_cast<int32_t>(i));
      cls.leaf = selectCircuitLeaf(rules, d == 0 ? circuits[i].sqm.down : circuits[i].sqm.up, max);
      hq.classes.push_back(std::move(cls));
    }
  }

  plan.interfaces.clear();
  if (stick) {
    InterfacePlan iface{config.singleInterface->interface, std::move(queues[0])};
    iface.queues.insert(iface.queues.end(), std::make_move_iterator(queues[1].begin()),
                        std::make_move_iterator(queues[1].end()));
    plan.interfaces.push_back(std::move(iface));
  } else {
    const config::BridgeConfig bridge = config.bridge.value_or(config::BridgeConfig{});
    plan.interfaces.push_back(InterfacePlan{bridge.toNetwork, std::move(queues[0])});
    plan.interfaces.push_back(InterfacePlan{bridge.toInternet, std::move(queues[1])});
  }
  bool ok = true;
  for (InterfacePlan& iface : plan.interfaces) {
    ok = assignLeafHandles(iface, diags,
                           config.queues.lazyQueues != config::LazyQueues::No) &&
         ok;
  }
  return ok;
}

}  // namespace sluice::plan::detail
