// Golden plans: the small ISP of tests/data/planner/ through the real loaders, the plan rendered
// as JSON and tc batch text, compared byte for byte with the committed files. Regenerate after an
// intended change with SLUICE_UPDATE_GOLDEN=1 (then review the diff).

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "model/Inputs.h"
#include "planner/PlanJson.h"
#include "planner/Planner.h"
#include "planner/TcBatch.h"

namespace sluice::plan {
namespace {

const std::string kDir = std::string(SLUICE_TEST_DATA_DIR) + "/planner/";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void compareOrUpdate(const std::string& path, const std::string& actual) {
  if (std::getenv("SLUICE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "updated " << path;
  }
  const std::string expected = readFile(path);
  ASSERT_FALSE(expected.empty()) << path << " is missing; run with SLUICE_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, expected) << "plan differs from " << path;
}

QueuePlan planFixture(const std::string& configDir, Diagnostics& diags) {
  model::InputPaths paths{kDir + configDir + "/lqos.conf", kDir + "small/network.json",
                          kDir + "small/ShapedDevices.csv"};
  model::Inputs inputs = model::loadInputs(paths);
  for (const auto& d : inputs.diagnostics.errors()) {
    ADD_FAILURE() << d.toString();
  }
  auto plan = buildPlan(PlannerInput{inputs.config, inputs.model, 8, 8}, diags);
  EXPECT_TRUE(plan.has_value());
  return plan.value_or(QueuePlan{});
}

TEST(Golden, BridgeTcBatch) {
  Diagnostics diags;
  compareOrUpdate(kDir + "small/plan.tc", renderTcBatch(planFixture("small", diags)));
}

TEST(Golden, BridgeJson) {
  Diagnostics diags;
  compareOrUpdate(kDir + "small/plan.json", renderPlanJson(planFixture("small", diags)));
}

TEST(Golden, BridgeWarnings) {
  Diagnostics diags;
  planFixture("small", diags);
  std::string text;
  for (const auto& d : diags.all()) {
    text += d.toString() + "\n";
  }
  // Paths in messages are absolute; keep only what follows the data directory.
  for (size_t at; (at = text.find(kDir)) != std::string::npos;) {
    text.erase(at, kDir.size());
  }
  compareOrUpdate(kDir + "small/warnings.txt", text);
}

TEST(Golden, StickTcBatch) {
  Diagnostics diags;
  compareOrUpdate(kDir + "stick/plan.tc", renderTcBatch(planFixture("stick", diags)));
}

TEST(Golden, HolderTcBatch) {
  Diagnostics diags;
  compareOrUpdate(kDir + "holder/plan.tc", renderTcBatch(planFixture("holder", diags)));
}

TEST(Golden, StickJson) {
  Diagnostics diags;
  compareOrUpdate(kDir + "stick/plan.json", renderPlanJson(planFixture("stick", diags)));
}

}  // namespace
}  // namespace sluice::plan
