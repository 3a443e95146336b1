// buildView: the indices one plan needs for rollups and queries.

#include <algorithm>
#include <cctype>

#include "telemetry/CollectorImpl.h"

namespace sluice::telemetry {

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
  // Circuits keep the state they have (by circuit ID); the others get theirs when they need it.
  v.circuitSlot.assign(p.circuits.size(), kNoSlot);
  if (impl.circuitSlots.empty()) {
    return;
  }
  for (size_t c = 0; c < p.circuits.size(); ++c) {
    if (auto it = impl.circuitSlots.find(p.circuits[c].circuitId); it != impl.circuitSlots.end()) {
      v.circuitSlot[c] = it->second;
    }
  }
}

int32_t PlanView::findCircuit(std::string_view id) const {
  const auto& cs = plan->circuits;
  auto it = std::lower_bound(byId.begin(), byId.end(), id,
                             [&](uint32_t c, std::string_view want) {
                               return std::string_view(cs[c].circuitId) < want;
                             });
  return it != byId.end() && cs[*it].circuitId == id ? static_cast<int32_t>(*it) : -1;
}

std::optional<uint32_t> PlanView::findClass(uint64_t key) const {
  auto it = std::lower_bound(classToCircuit.begin(), classToCircuit.end(), key,
                             [](const auto& e, uint64_t k) { return e.first < k; });
  if (it == classToCircuit.end() || it->first != key) {
    return std::nullopt;
  }
  return it->second;
}

const plan::LeafSpec* PlanView::downLeaf(size_t c) const {
  if (plan->interfaces.empty()) {
    return nullptr;
  }
  const plan::LeafSpec* found = nullptr;  // the last such class, as before
  for (const plan::HtbQueuePlan& q : plan->interfaces[0].queues) {
    if (q.direction != plan::Direction::Download) {
      continue;
    }
    for (const plan::HtbClassPlan& cls : q.classes) {
      if (cls.role == plan::ClassRole::Circuit && cls.modelIndex >= 0 &&
          static_cast<size_t>(cls.modelIndex) == c && cls.leaf) {
        found = &*cls.leaf;
      }
    }
  }
  return found;
}

namespace {

// Whether `hay` contains the lowercase `needle`, ignoring the case of `hay`.
bool containsLower(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) {
    return false;
  }
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [](char h, char n) {
                          return std::tolower(static_cast<unsigned char>(h)) == n;
                        });
  return it != hay.end();
}

// Whether `needle` can occur in an address's text (hex digits, '.', ':', '/').
bool addressLike(std::string_view needle) {
  return std::all_of(needle.begin(), needle.end(), [](char ch) {
    return std::isxdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == ':' || ch == '/';
  });
}

}  // namespace

bool PlanView::matches(size_t c, std::string_view needle) const {
  if (needle.empty()) {
    return true;
  }
  const model::Circuit& mc = modelCircuit(c);
  const int32_t p = plan->circuits[c].parentPlacement;
  const std::string_view parent = p >= 0 && static_cast<size_t>(p) < plan->nodes.size()
                                      ? std::string_view(plan->nodes[static_cast<size_t>(p)].name)
                                      : std::string_view();
  if (containsLower(mc.id, needle) || containsLower(mc.name, needle) ||
      containsLower(parent, needle)) {
    return true;
  }
  const bool addresses = addressLike(needle);
  for (const model::Device& d : mc.devices) {
    if (containsLower(d.id, needle) || containsLower(d.name, needle) ||
        containsLower(d.mac, needle)) {
      return true;
    }
    if (!addresses) {
      continue;
    }
    for (const auto* list : {&d.ipv4, &d.ipv6}) {
      for (const IpNet& a : *list) {
        if (containsLower(a.toString(), needle)) {
          return true;
        }
      }
    }
  }
  return false;
}

std::shared_ptr<PlanView> buildView(std::shared_ptr<const model::Inputs> inputs,
                                    std::shared_ptr<const plan::QueuePlan> plan) {
  auto v = std::make_shared<PlanView>();
  v->inputs = std::move(inputs);
  v->plan = std::move(plan);
  const plan::QueuePlan& p = *v->plan;
  const model::Network& net = v->inputs->model.network;

  v->addresses.build(p.addresses);

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
  v->nodeCircuits.assign(nodeCount, 0);
  v->byId.resize(circuitCount);
  for (size_t c = 0; c < circuitCount; ++c) {
    v->byId[c] = static_cast<uint32_t>(c);
    for (int32_t n = p.circuits[c].parentPlacement; n >= 0 && static_cast<size_t>(n) < nodeCount;
         n = v->nodeParent[static_cast<size_t>(n)]) {
      ++v->nodeCircuits[static_cast<size_t>(n)];
    }
  }
  // Of equal IDs (not in a valid plan) the first counts, as lookups find the first.
  std::stable_sort(v->byId.begin(), v->byId.end(), [&](uint32_t a, uint32_t b) {
    return p.circuits[a].circuitId < p.circuits[b].circuitId;
  });

  // tc classes: the download tree is on interfaces[0]; upload on interfaces[1] (bridge) or on
  // the same interface with its own HTB majors (on a stick). Of equal keys the last counts.
  const uint64_t upIface = p.onAStick || p.interfaces.size() < 2 ? 0 : 1;
  size_t classes = 0;
  for (const plan::CircuitPlacement& cp : p.circuits) {
    classes += (cp.downClass.raw() != 0) + (cp.upClass.raw() != 0);
  }
  v->classToCircuit.reserve(classes);
  for (size_t c = 0; c < circuitCount; ++c) {
    const plan::CircuitPlacement& cp = p.circuits[c];
    if (cp.downClass.raw() != 0) {
      v->classToCircuit.emplace_back(cp.downClass.raw(),
                                     static_cast<uint32_t>(c << 1 | SLUICE_DIR_DOWN));
    }
    if (cp.upClass.raw() != 0) {
      v->classToCircuit.emplace_back(upIface << 32 | cp.upClass.raw(),
                                     static_cast<uint32_t>(c << 1 | SLUICE_DIR_UP));
    }
  }
  std::stable_sort(v->classToCircuit.begin(), v->classToCircuit.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Keep the last of equal keys (as the map's assignment did).
  auto& ctc = v->classToCircuit;
  size_t out = 0;
  for (size_t i = 0; i < ctc.size(); ++i) {
    if (i + 1 < ctc.size() && ctc[i + 1].first == ctc[i].first) {
      continue;
    }
    ctc[out++] = ctc[i];
  }
  ctc.resize(out);
  return v;
}

}  // namespace sluice::telemetry
