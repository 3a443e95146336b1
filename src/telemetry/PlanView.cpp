// buildView: the indices one plan needs for rollups and queries.

#include <algorithm>
#include <cctype>

#include "telemetry/CollectorImpl.h"

namespace sluice::telemetry {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

const model::Circuit& PlanView::modelCircuit(size_t c) const {
  return inputs->model.shaped.circuits[static_cast<size_t>(plan->circuits[c].modelIndex)];
}

std::string PlanView::parentName(size_t c) const {
  int32_t p = plan->circuits[c].parentPlacement;
  return p >= 0 && static_cast<size_t>(p) < plan->nodes.size()
             ? plan->nodes[static_cast<size_t>(p)].name
             : std::string();
}

void assignSlots(Collector::Impl& impl, PlanView& v) {
  const plan::QueuePlan& p = *v.plan;
  v.nodeSlot.resize(p.nodes.size());
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    v.nodeSlot[i] = impl.nodeSlot(p.nodes[i].name);
  }
  v.circuitSlot.resize(p.circuits.size());
  for (size_t c = 0; c < p.circuits.size(); ++c) {
    v.circuitSlot[c] = impl.circuitSlot(p.circuits[c].circuitId);
  }
}

std::shared_ptr<PlanView> buildView(std::shared_ptr<const model::Inputs> inputs,
                                    std::shared_ptr<const plan::QueuePlan> plan) {
  auto v = std::make_shared<PlanView>();
  v->inputs = std::move(inputs);
  v->plan = std::move(plan);
  const plan::QueuePlan& p = *v->plan;
  const model::Network& net = v->inputs->model.network;

  // Address index.
  std::vector<IpNet> prefixes;
  std::vector<int32_t> owners;
  prefixes.reserve(p.addresses.size());
  owners.reserve(p.addresses.size());
  for (const auto& a : p.addresses) {
    if (a.circuit >= 0) {
      prefixes.push_back(a.prefix);
      owners.push_back(a.circuit);
    }
  }
  v->addresses.build(prefixes, owners);

  // Nodes: parent = the nearest ancestor in network.json that has a placement.
  const size_t nodeCount = p.nodes.size();
  std::vector<int32_t> placementOfModel(net.nodes.size(), -1);
  for (size_t i = 0; i < nodeCount; ++i) {
    int32_t mi = p.nodes[i].modelIndex;
    if (mi >= 0 && static_cast<size_t>(mi) < net.nodes.size()) {
      placementOfModel[static_cast<size_t>(mi)] = static_cast<int32_t>(i);
    }
  }
  v->nodeParent.assign(nodeCount, -1);
  v->nodeChildren.assign(nodeCount, {});
  std::vector<uint32_t> depth(nodeCount, 0);
  for (size_t i = 0; i < nodeCount; ++i) {
    int32_t mi = p.nodes[i].modelIndex;
    int32_t parent = -1;
    uint32_t d = 0;
    if (mi >= 0 && static_cast<size_t>(mi) < net.nodes.size()) {
      d = net.nodes[static_cast<size_t>(mi)].depth;
      for (int32_t up = net.nodes[static_cast<size_t>(mi)].parent; up >= 0 && parent < 0;
           up = net.nodes[static_cast<size_t>(up)].parent) {
        parent = placementOfModel[static_cast<size_t>(up)];
      }
    }
    depth[i] = d;
    v->nodeParent[i] = parent;
    if (parent >= 0) {
      v->nodeChildren[static_cast<size_t>(parent)].push_back(static_cast<int32_t>(i));
    } else {
      v->roots.push_back(static_cast<int32_t>(i));
    }
  }
  // Children before parents: deeper first (depth from network.json; generated nodes are top).
  v->nodeOrder.resize(nodeCount);
  for (size_t i = 0; i < nodeCount; ++i) {
    v->nodeOrder[i] = static_cast<int32_t>(i);
  }
  std::stable_sort(v->nodeOrder.begin(), v->nodeOrder.end(),
                   [&](int32_t a, int32_t b) { return depth[a] > depth[b]; });

  // Circuits.
  const size_t circuitCount = p.circuits.size();
  v->searchText.resize(circuitCount);
  v->downLeaf.assign(circuitCount, nullptr);
  v->nodeCircuits.assign(nodeCount, 0);
  v->circuitById.reserve(circuitCount);
  for (size_t c = 0; c < circuitCount; ++c) {
    const plan::CircuitPlacement& cp = p.circuits[c];
    v->circuitById.emplace(cp.circuitId, static_cast<int32_t>(c));
    const model::Circuit& mc = v->modelCircuit(c);
    std::string text = mc.id + '\n' + mc.name + '\n' + v->parentName(c);
    for (const model::Device& d : mc.devices) {
      text += '\n' + d.id + '\n' + d.name + '\n' + d.mac;
      for (const IpNet& a : d.ipv4) {
        text += '\n' + a.toString();
      }
      for (const IpNet& a : d.ipv6) {
        text += '\n' + a.toString();
      }
    }
    v->searchText[c] = lower(std::move(text));
    for (int32_t n = cp.parentPlacement; n >= 0 && static_cast<size_t>(n) < nodeCount;
         n = v->nodeParent[static_cast<size_t>(n)]) {
      ++v->nodeCircuits[static_cast<size_t>(n)];
    }
  }

  // tc classes: the download tree is on interfaces[0]; upload on interfaces[1] (bridge) or on
  // the same interface with its own HTB majors (on a stick).
  const uint64_t upIface = p.onAStick || p.interfaces.size() < 2 ? 0 : 1;
  for (size_t c = 0; c < circuitCount; ++c) {
    const plan::CircuitPlacement& cp = p.circuits[c];
    v->classToCircuit[cp.downClass.raw()] = static_cast<uint32_t>(c << 1 | SLUICE_DIR_DOWN);
    v->classToCircuit[upIface << 32 | cp.upClass.raw()] =
        static_cast<uint32_t>(c << 1 | SLUICE_DIR_UP);
  }
  if (!p.interfaces.empty()) {
    for (const plan::HtbQueuePlan& q : p.interfaces[0].queues) {
      if (q.direction != plan::Direction::Download) {
        continue;
      }
      for (const plan::HtbClassPlan& cls : q.classes) {
        if (cls.role == plan::ClassRole::Circuit && cls.modelIndex >= 0 &&
            static_cast<size_t>(cls.modelIndex) < circuitCount && cls.leaf) {
          v->downLeaf[static_cast<size_t>(cls.modelIndex)] = &*cls.leaf;
        }
      }
    }
  }
  return v;
}

}  // namespace sluice::telemetry
