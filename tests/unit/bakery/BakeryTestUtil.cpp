#include "BakeryTestUtil.h"

#include <unistd.h>

#include <atomic>
#include <stdexcept>

#include <fmt/format.h>

namespace sluice::bakery::testing {

model::Model smallIsp(int circuits) {
  plan::testing::ModelBuilder b;
  b.node("SiteA", 1000, 1000).node("SiteB", 1000, 1000);
  b.node("AP-A1", 500, 500, "SiteA").node("AP-A2", 500, 500, "SiteA");
  b.node("AP-B1", 500, 500, "SiteB").node("AP-B2", 500, 500, "SiteB");
  const char* aps[] = {"AP-A1", "AP-A2", "AP-B1", "AP-B2"};
  for (int i = 0; i < circuits; ++i) {
    b.circuit(fmt::format("c{}", i), aps[i % 4], 5, 1, 50 + i, 10 + i,
              {fmt::format("100.64.{}.{}", i / 250, 1 + i % 250)});
  }
  return b.model();
}

plan::QueuePlan planOf(const model::Model& model, double linkMbps) {
  Diagnostics diags;
  auto p = plan::testing::plan(plan::testing::bridgeConfig(linkMbps, linkMbps), model, 2, 2, diags);
  if (!p) {
    std::string why;
    for (const auto& d : diags.errors()) why += d.toString() + "\n";
    throw std::runtime_error("planner failed: " + why);
  }
  return *p;
}

namespace {
void reindex(model::Model& m) {
  m.shaped.byId.clear();
  for (size_t i = 0; i < m.shaped.circuits.size(); ++i) {
    m.shaped.byId[m.shaped.circuits[i].id] = i;
  }
}
}  // namespace

void insertCircuit(model::Model& m, size_t index, const std::string& id, const std::string& parent,
                   double downMax, double upMax, const std::string& address) {
  plan::testing::ModelBuilder b;
  b.circuit(id, parent, 1, 1, downMax, upMax, {address});
  auto c = b.model().shaped.circuits.front();
  index = std::min(index, m.shaped.circuits.size());
  m.shaped.circuits.insert(m.shaped.circuits.begin() + static_cast<ptrdiff_t>(index), c);
  reindex(m);
}

void eraseCircuit(model::Model& m, const std::string& id) {
  auto& cs = m.shaped.circuits;
  cs.erase(std::remove_if(cs.begin(), cs.end(), [&](const auto& c) { return c.id == id; }),
           cs.end());
  reindex(m);
}

TempDir::TempDir() {
  static std::atomic<int> n{0};
  path_ = fmt::format("{}/sluice-bakery-test-{}-{}",
                      std::filesystem::temp_directory_path().string(), ::getpid(), n++);
  std::filesystem::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string danglingMapping(const dataplane::RecordingMapWriter& writer,
                            const ModelOpRunner& runner) {
  for (const auto& [prefix, m] : writer.table()) {
    if (!runner.hasClass(plan::Direction::Download, m.downClass)) {
      return prefix.toString() + " -> missing download class " + m.downClass.toString();
    }
    if (!runner.hasClass(plan::Direction::Upload, m.upClass)) {
      return prefix.toString() + " -> missing upload class " + m.upClass.toString();
    }
  }
  return "";
}

std::string planDifference(const plan::QueuePlan& a, const plan::QueuePlan& b) {
  if (a.queueCount != b.queueCount || a.queueCpu != b.queueCpu || a.onAStick != b.onAStick ||
      a.holder != b.holder) {
    return "queue count, queue CPUs, on-a-stick or holder";
  }
  if (a.interfaces.size() != b.interfaces.size()) return "interface count";
  for (size_t i = 0; i < a.interfaces.size(); ++i) {
    const auto& ia = a.interfaces[i];
    const auto& ib = b.interfaces[i];
    if (ia.ifname != ib.ifname || ia.queues.size() != ib.queues.size()) {
      return "interface " + ia.ifname;
    }
    for (size_t k = 0; k < ia.queues.size(); ++k) {
      const auto& qa = ia.queues[k];
      const auto& qb = ib.queues[k];
      if (qa.direction != qb.direction || qa.txQueue != qb.txQueue || qa.major != qb.major ||
          qa.r2q != qb.r2q || qa.defaultMinor != qb.defaultMinor || qa.holder != qb.holder ||
          qa.classes.size() != qb.classes.size()) {
        return fmt::format("queue {} of {}", k, ia.ifname);
      }
      for (size_t c = 0; c < qa.classes.size(); ++c) {
        if (qa.classes[c] != qb.classes[c]) {
          return fmt::format("class {} / {} of queue {:x}:", qa.classes[c].classid.toString(),
                             qb.classes[c].classid.toString(), qa.major);
        }
      }
    }
  }
  if (a.nodes.size() != b.nodes.size()) return "node count";
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const auto& x = a.nodes[i];
    const auto& y = b.nodes[i];
    if (x.name != y.name || x.modelIndex != y.modelIndex || x.generated != y.generated ||
        x.isVirtual != y.isVirtual || x.queue != y.queue || x.downClass != y.downClass ||
        x.upClass != y.upClass || x.downloadMaxMbps != y.downloadMaxMbps ||
        x.uploadMaxMbps != y.uploadMaxMbps) {
      return "node " + x.name + " / " + y.name;
    }
  }
  if (a.circuits.size() != b.circuits.size()) return "circuit count";
  for (size_t i = 0; i < a.circuits.size(); ++i) {
    const auto& x = a.circuits[i];
    const auto& y = b.circuits[i];
    if (x.circuitId != y.circuitId || x.modelIndex != y.modelIndex ||
        x.parentPlacement != y.parentPlacement || x.queue != y.queue ||
        x.downClass != y.downClass || x.upClass != y.upClass ||
        x.downloadMinMbps != y.downloadMinMbps || x.uploadMinMbps != y.uploadMinMbps ||
        x.downloadMaxMbps != y.downloadMaxMbps || x.uploadMaxMbps != y.uploadMaxMbps) {
      return fmt::format("circuit {}: {} / {}", i, x.circuitId, y.circuitId);
    }
  }
  if (a.addresses != b.addresses) return "addresses";
  return "";
}

}  // namespace sluice::bakery::testing
