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

plan::QueuePlan planOf(const model::Model& model) {
  Diagnostics diags;
  auto p = plan::testing::plan(plan::testing::bridgeConfig(), model, 2, 2, diags);
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

}  // namespace sluice::bakery::testing
