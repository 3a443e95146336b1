#include "planner/PlanJson.h"

#include <nlohmann/json.hpp>

namespace sluice::plan {

namespace {

using Json = nlohmann::ordered_json;

const char* roleName(ClassRole role) {
  switch (role) {
    case ClassRole::Link:
      return "link";
    case ClassRole::Default:
      return "default";
    case ClassRole::Node:
      return "node";
    case ClassRole::Circuit:
      return "circuit";
  }
  return "circuit";
}

Json leafJson(const LeafSpec& leaf) {
  Json j;
  const TcHandle handle{leaf.handleMajor, 0};
  switch (leaf.kind) {
    case LeafKind::Cake: {
      const CakeParams& c = leaf.cake;
      j["kind"] = "cake";
      j["handle"] = handle.toString();
      j["bandwidthBitsPerSecond"] = c.bandwidthBitsPerSecond;
      j["diffserv"] = cakeDiffservName(c.diffserv);
      j["rttUs"] = c.rttUs;
      j["ackFilter"] = c.ackFilter;
      j["nat"] = c.nat;
      j["wash"] = c.wash;
      j["splitGso"] = c.splitGso;
      if (c.overheadBytes) {
        j["overheadBytes"] = *c.overheadBytes;
      }
      if (c.mpuBytes) {
        j["mpuBytes"] = *c.mpuBytes;
      }
      if (c.memlimitBytes) {
        j["memlimitBytes"] = *c.memlimitBytes;
      }
      break;
    }
    case LeafKind::FqCodel: {
      const FqCodelParams& f = leaf.fqCodel;
      j["kind"] = "fq_codel";
      j["handle"] = handle.toString();
      j["limitPackets"] = f.limitPackets;
      j["flows"] = f.flows;
      j["targetUs"] = f.targetUs;
      j["intervalUs"] = f.intervalUs;
      j["quantumBytes"] = f.quantumBytes;
      j["ecn"] = f.ecn;
      j["memoryLimitBytes"] = f.memoryLimitBytes;
      break;
    }
    case LeafKind::Pfifo:
    case LeafKind::Bfifo:
      j["kind"] = leaf.kind == LeafKind::Pfifo ? "pfifo" : "bfifo";
      j["handle"] = handle.toString();
      j["limit"] = leaf.fifoLimit;
      break;
    case LeafKind::None:
      return nullptr;
  }
  return j;
}

Json classJson(const HtbClassPlan& cls) {
  Json j;
  j["classid"] = cls.classid.toString();
  j["parent"] = cls.parent.toString();
  j["role"] = roleName(cls.role);
  if (cls.role == ClassRole::Node) {
    j["node"] = cls.modelIndex;
  } else if (cls.role == ClassRole::Circuit) {
    j["circuit"] = cls.modelIndex;
  }
  j["rateBitsPerSecond"] = cls.rateBitsPerSecond;
  j["ceilBitsPerSecond"] = cls.ceilBitsPerSecond;
  j["quantumBytes"] = cls.quantumBytes;
  j["prio"] = cls.prio;
  j["leaf"] = cls.leaf ? leafJson(*cls.leaf) : Json(nullptr);
  return j;
}

Json queueJson(const HtbQueuePlan& hq) {
  Json j;
  j["direction"] = hq.direction == Direction::Download ? "download" : "upload";
  j["txQueue"] = hq.txQueue;
  j["handle"] = TcHandle{hq.major, 0}.toString();
  j["parent"] = queueParentOf(hq).toString();
  j["holder"] = holderKindName(hq.holder);
  j["r2q"] = hq.r2q;
  j["defaultMinor"] = hq.defaultMinor;
  Json classes = Json::array();
  for (const HtbClassPlan& cls : hq.classes) {
    classes.push_back(classJson(cls));
  }
  j["classes"] = std::move(classes);
  return j;
}

Json classOrNull(TcHandle h) {
  return h.major == 0 ? Json(nullptr) : Json(h.toString());
}

}  // namespace

std::string renderPlanJson(const QueuePlan& plan) {
  Json root;
  root["format"] = "sluice-queue-plan";
  root["version"] = 1;
  root["queueCount"] = plan.queueCount;
  root["onAStick"] = plan.onAStick;
  root["holder"] = holderKindName(plan.holder);
  root["queueCpu"] = plan.queueCpu;
  Json interfaces = Json::array();
  for (const InterfacePlan& iface : plan.interfaces) {
    Json queues = Json::array();
    for (const HtbQueuePlan& hq : iface.queues) {
      queues.push_back(queueJson(hq));
    }
    interfaces.push_back(Json{{"ifname", iface.ifname}, {"queues", std::move(queues)}});
  }
  root["interfaces"] = std::move(interfaces);
  Json nodes = Json::array();
  for (const NodePlacement& n : plan.nodes) {
    nodes.push_back(Json{{"name", n.name},
                         {"generated", n.generated},
                         {"virtual", n.isVirtual},
                         {"queue", n.queue},
                         {"downClass", classOrNull(n.downClass)},
                         {"upClass", classOrNull(n.upClass)},
                         {"downloadMaxMbps", n.downloadMaxMbps},
                         {"uploadMaxMbps", n.uploadMaxMbps}});
  }
  root["nodes"] = std::move(nodes);
  Json circuits = Json::array();
  for (const CircuitPlacement& c : plan.circuits) {
    circuits.push_back(Json{{"id", c.circuitId},
                            {"parent", c.parentPlacement},
                            {"queue", c.queue},
                            {"downClass", c.downClass.toString()},
                            {"upClass", c.upClass.toString()},
                            {"downloadMinMbps", c.downloadMinMbps},
                            {"uploadMinMbps", c.uploadMinMbps},
                            {"downloadMaxMbps", c.downloadMaxMbps},
                            {"uploadMaxMbps", c.uploadMaxMbps}});
  }
  root["circuits"] = std::move(circuits);
  Json addresses = Json::array();
  for (const AddressMapping& a : plan.addresses) {
    addresses.push_back(Json{{"prefix", a.prefix.toString()},
                             {"circuit", a.circuit},
                             {"queue", a.queue},
                             {"cpu", a.cpu},
                             {"downClass", a.downClass.toString()},
                             {"upClass", a.upClass.toString()}});
  }
  root["addresses"] = std::move(addresses);
  std::string text = root.dump(1);
  text.push_back('\n');
  return text;
}

}  // namespace sluice::plan
