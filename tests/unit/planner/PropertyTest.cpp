// Properties of every plan, over synthetic ISPs (synth::generate with random options, read back
// through the real parsers) and over random deep trees with virtual nodes (ModelBuilder).

#include <map>
#include <set>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "PlannerTestUtil.h"
#include "model/Inputs.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"
#include "planner/HtbMath.h"
#include "planner/PlanJson.h"
#include "planner/TcBatch.h"
#include "synth/Synth.h"

namespace sluice::plan {
namespace {

/// Checks every invariant of a plan against its model; RC_ASSERTs on the first violation.
void checkInvariants(const QueuePlan& plan, const model::Model& model) {
  const auto& circuits = model.shaped.circuits;
  RC_ASSERT(plan.circuits.size() == circuits.size());
  RC_ASSERT(plan.queueCpu.size() == plan.queueCount);
  // Exactly one class per circuit and direction, and it is the placement's classid.
  std::vector<int> seen[2] = {std::vector<int>(circuits.size(), 0),
                              std::vector<int>(circuits.size(), 0)};
  for (const InterfacePlan& iface : plan.interfaces) {
    std::map<uint32_t, const HtbClassPlan*> byId;
    std::set<uint16_t> majors;
    for (const HtbQueuePlan& hq : iface.queues) {
      RC_ASSERT(majors.insert(hq.major).second);
      RC_ASSERT(hq.major == hq.txQueue + 1);
      for (const HtbClassPlan& cls : hq.classes) {
        RC_ASSERT(cls.classid.major == hq.major);
        RC_ASSERT(byId.emplace(cls.classid.raw(), &cls).second);  // unique per interface
        RC_ASSERT(cls.rateBitsPerSecond <= cls.ceilBitsPerSecond);
        RC_ASSERT(cls.rateBitsPerSecond > 0);
        RC_ASSERT(cls.quantumBytes >= kMinQuantumBytes);
        RC_ASSERT(cls.quantumBytes <= kMaxQuantumBytes);
        if (cls.role == ClassRole::Circuit) {
          const auto d = static_cast<int>(hq.direction);
          ++seen[d].at(cls.modelIndex);
          const CircuitPlacement& placed = plan.circuits[cls.modelIndex];
          RC_ASSERT(cls.classid == (d == 0 ? placed.downClass : placed.upClass));
        }
      }
    }
    // Parents exist, come first, never exceed the parent's ceil; depth ≤ 8.
    std::set<uint16_t> handles;
    for (const HtbQueuePlan& hq : iface.queues) {
      std::set<uint32_t> earlier;
      for (const HtbClassPlan& cls : hq.classes) {
        if (cls.role == ClassRole::Link) {
          RC_ASSERT(cls.parent == (TcHandle{hq.major, 0}));
        } else {
          RC_ASSERT(earlier.contains(cls.parent.raw()));
          RC_ASSERT(cls.ceilBitsPerSecond <= byId.at(cls.parent.raw())->ceilBitsPerSecond);
        }
        earlier.insert(cls.classid.raw());
        uint32_t depth = 1;
        for (TcHandle p = cls.parent; p.minor != 0; p = byId.at(p.raw())->parent) {
          ++depth;
        }
        RC_ASSERT(depth <= kHtbMaxDepth);
        if (cls.leaf) {
          const uint16_t h = cls.leaf->handleMajor;
          RC_ASSERT(handles.insert(h).second);
          RC_ASSERT(h != 0 && h != kMqMajor && h != 0xFFFF);
          RC_ASSERT(!majors.contains(h));
        }
      }
    }
  }
  for (int d = 0; d < 2; ++d) {
    for (size_t i = 0; i < circuits.size(); ++i) {
      RC_ASSERT(seen[d][i] == 1);
    }
  }
  // Every address maps to its circuit's classes and queue.
  std::map<std::pair<std::array<uint8_t, 16>, uint8_t>, const AddressMapping*> addresses;
  for (const AddressMapping& a : plan.addresses) {
    RC_ASSERT(addresses.emplace(std::make_pair(a.prefix.addr, a.prefix.prefixLen), &a).second);
  }
  size_t expected = 0;
  for (size_t i = 0; i < circuits.size(); ++i) {
    const CircuitPlacement& placed = plan.circuits[i];
    for (const model::Device& dev : circuits[i].devices) {
      for (const auto* list : {&dev.ipv4, &dev.ipv6}) {
        for (const IpNet& net : *list) {
          ++expected;
          const auto it = addresses.find({net.addr, net.prefixLen});
          RC_ASSERT(it != addresses.end());
          RC_ASSERT(it->second->circuit == static_cast<int32_t>(i));
          RC_ASSERT(it->second->downClass == placed.downClass);
          RC_ASSERT(it->second->upClass == placed.upClass);
          RC_ASSERT(it->second->queue == placed.queue);
          RC_ASSERT(it->second->cpu == plan.queueCpu[placed.queue]);
        }
      }
    }
  }
  RC_ASSERT(plan.addresses.size() == expected);
}

config::Config randomConfig() {
  const bool stick = *rc::gen::arbitrary<bool>();
  config::Config config = stick ? testing::stickConfig() : testing::bridgeConfig();
  config.queues.downlinkBandwidthMbps = *rc::gen::inRange(10, 20'000);
  config.queues.uplinkBandwidthMbps = *rc::gen::inRange(10, 20'000);
  config.queues.generatedPnDownloadMbps = *rc::gen::inRange(1, 5000);
  config.queues.generatedPnUploadMbps = *rc::gen::inRange(1, 5000);
  config.queues.useBinpacking = *rc::gen::arbitrary<bool>();
  config.defaultLeaf.kind =
      *rc::gen::element(LeafKind::Cake, LeafKind::FqCodel, LeafKind::None, LeafKind::Pfifo);
  if (*rc::gen::arbitrary<bool>()) {
    config.queues.fastQueuesFqCodel = *rc::gen::inRange(50, 1000);
  }
  if (*rc::gen::inRange(0, 4) == 0) {
    config.queues.overrideAvailableQueues = *rc::gen::inRange(1, 12);
  }
  return config;
}

model::Model parseSynth(const synth::SynthFiles& files, const config::Config& config) {
  Diagnostics diags;
  model::Model model;
  model.network = model::parseNetworkJson(files.networkJson, "network.json", diags);
  model.shaped = model::parseShapedDevices(files.shapedDevicesCsv, "ShapedDevices.csv", diags);
  model::validateModel(model, config, diags);
  for (const auto& d : diags.errors()) {
    RC_FAIL("synthetic ISP has an error: " + d.toString());
  }
  return model;
}

RC_GTEST_PROP(PlannerProperties, SyntheticIspPlansAreConsistent, ()) {
  synth::SynthOptions options;
  options.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  options.circuits = *rc::gen::inRange(0, 400);
  options.sites = *rc::gen::inRange(0, 6);
  options.popsPerSite = *rc::gen::inRange(0, 3);
  options.apsPerPop = *rc::gen::inRange(0, 4);
  options.unparentedShare = *rc::gen::element(0.0, 0.1, 0.5);
  options.sqmOverrideShare = *rc::gen::element(0.0, 0.2);
  options.fitGuarantees = *rc::gen::arbitrary<bool>();
  const config::Config config = randomConfig();
  const model::Model model = parseSynth(synth::generate(options), config);
  const uint32_t txQueues = *rc::gen::inRange(1, 17);
  const uint32_t cpus = *rc::gen::inRange(1, 17);

  Diagnostics diags;
  const auto plan = buildPlan(PlannerInput{config, model, txQueues, cpus}, diags);
  RC_ASSERT(plan.has_value());
  checkInvariants(*plan, model);
  // Determinism: planning again gives byte-identical JSON and tc batch text.
  Diagnostics again;
  const auto plan2 = buildPlan(PlannerInput{config, model, txQueues, cpus}, again);
  RC_ASSERT(plan2.has_value());
  RC_ASSERT(renderPlanJson(*plan) == renderPlanJson(*plan2));
  RC_ASSERT(renderTcBatch(*plan) == renderTcBatch(*plan2));
}

RC_GTEST_PROP(PlannerProperties, DeepTreesWithVirtualNodesStayWithinHtbLimits, ()) {
  testing::ModelBuilder b;
  const int nodes = *rc::gen::inRange(1, 40);
  std::vector<std::string> names;
  for (int i = 0; i < nodes; ++i) {
    const std::string name = "N" + std::to_string(i);
    // Parent: none, or a random earlier node (biased to the latest so trees get deep).
    std::string parent;
    if (i > 0 && *rc::gen::inRange(0, 5) != 0) {
      const int back = *rc::gen::inRange(1, std::min(i, 3) + 1);
      parent = names[i - back];
    }
    b.node(name, *rc::gen::element(0.0, 5.0, 100.0, 2000.0),
           *rc::gen::element(0.0, 5.0, 100.0, 2000.0), parent, *rc::gen::inRange(0, 4) == 0);
    names.push_back(name);
  }
  const int circuits = *rc::gen::inRange(0, 60);
  for (int i = 0; i < circuits; ++i) {
    const std::string parent = *rc::gen::inRange(0, 6) == 0 ? "" : *rc::gen::elementOf(names);
    const double downMax = *rc::gen::element(0.5, 3.0, 50.0, 900.0, 5000.0);
    const double upMax = *rc::gen::element(0.5, 3.0, 50.0, 900.0);
    b.circuit("c" + std::to_string(i), parent, downMax / *rc::gen::element(1.0, 2.0, 4.0),
              upMax / *rc::gen::element(1.0, 2.0), downMax, upMax,
              {"100.64." + std::to_string(i / 256) + "." + std::to_string(i % 256)},
              model::SqmOverride{*rc::gen::element(model::SqmKind::Default, model::SqmKind::Cake,
                                                   model::SqmKind::FqCodel, model::SqmKind::None),
                                 model::SqmKind::Default});
  }
  const config::Config config = randomConfig();
  Diagnostics diags;
  const auto plan = buildPlan(
      PlannerInput{config, b.model(), *rc::gen::inRange(1u, 9u), *rc::gen::inRange(1u, 9u)}, diags);
  RC_ASSERT(plan.has_value());
  checkInvariants(*plan, b.model());
}

}  // namespace
}  // namespace sluice::plan
