#include "PlannerTestUtil.h"

#include <stdexcept>

namespace sluice::plan::testing {

ModelBuilder& ModelBuilder::node(const std::string& name, double down, double up,
                                 const std::string& parent, bool isVirtual) {
  auto& net = model_.network;
  model::Node n;
  n.name = name;
  n.downloadMbps = down;
  n.uploadMbps = up;
  n.isVirtual = isVirtual;
  n.where = SourceLocation{"network.json", static_cast<uint32_t>(net.nodes.size() + 1), 1};
  const auto index = static_cast<int32_t>(net.nodes.size());
  if (!parent.empty()) {
    const int32_t p = net.find(parent);
    if (p < 0) {
      throw std::invalid_argument("parent must be added first: " + parent);
    }
    n.parent = p;
    n.depth = net.nodes[p].depth + 1;
    net.nodes[p].children.push_back(index);
  } else {
    net.roots.push_back(index);
  }
  net.byName[name] = index;
  net.nodes.push_back(std::move(n));
  return *this;
}

ModelBuilder& ModelBuilder::circuit(const std::string& id, const std::string& parent,
                                    double downMin, double upMin, double downMax, double upMax,
                                    std::vector<std::string> addresses, model::SqmOverride sqm) {
  auto& shaped = model_.shaped;
  model::Circuit c;
  c.id = id;
  c.name = id;
  c.parentNode = parent;
  c.downloadMinMbps = downMin;
  c.uploadMinMbps = upMin;
  c.downloadMaxMbps = downMax;
  c.uploadMaxMbps = upMax;
  c.sqm = sqm;
  c.where =
      SourceLocation{"ShapedDevices.csv", static_cast<uint32_t>(shaped.circuits.size() + 2), 1};
  model::Device d;
  d.id = id + "-dev";
  for (const auto& text : addresses) {
    const auto net = IpNet::parse(text);
    if (!net) {
      throw std::invalid_argument("bad address " + text);
    }
    (net->isV4 ? d.ipv4 : d.ipv6).push_back(*net);
  }
  c.devices.push_back(std::move(d));
  shaped.byId[id] = shaped.circuits.size();
  shaped.circuits.push_back(std::move(c));
  return *this;
}

config::Config bridgeConfig(double downlinkMbps, double uplinkMbps) {
  config::Config config;
  config.bridge = config::BridgeConfig{true, "wan0", "lan0"};
  config.queues.downlinkBandwidthMbps = downlinkMbps;
  config.queues.uplinkBandwidthMbps = uplinkMbps;
  config.defaultLeaf = LeafSpec{};  // cake diffserv4, CAKE defaults
  return config;
}

config::Config stickConfig(double downlinkMbps, double uplinkMbps) {
  config::Config config = bridgeConfig(downlinkMbps, uplinkMbps);
  config.bridge.reset();
  config.singleInterface = config::SingleInterfaceConfig{"stick0", 2, 3};
  return config;
}

std::optional<QueuePlan> plan(const config::Config& config, const model::Model& model,
                              uint32_t txQueues, uint32_t cpus, Diagnostics& diags) {
  return buildPlan(PlannerInput{config, model, txQueues, cpus}, diags);
}

const HtbClassPlan* findClass(const QueuePlan& plan, size_t iface, TcHandle classid) {
  for (const auto& hq : plan.interfaces.at(iface).queues) {
    for (const auto& cls : hq.classes) {
      if (cls.classid == classid) {
        return &cls;
      }
    }
  }
  return nullptr;
}

size_t countCategory(const Diagnostics& diags, const std::string& category) {
  size_t n = 0;
  for (const auto& d : diags.all()) {
    n += d.category == category ? 1 : 0;
  }
  return n;
}

}  // namespace sluice::plan::testing
