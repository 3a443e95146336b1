// The demo ISP under examples/ stays valid and keeps the cases the lab and the README rely on.

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "model/Inputs.h"
#include "planner/Planner.h"

namespace sluice::model {
namespace {

const std::string kDir = std::string(SLUICE_SOURCE_DIR) + "/examples/";

class DemoIsp : public ::testing::Test {
 protected:
  void SetUp() override {
    inputs_ = loadInputs(
        InputPaths{kDir + "lqos.conf", kDir + "network.json", kDir + "ShapedDevices.csv"});
  }
  const Circuit& circuit(const std::string& id) const {
    const auto it = inputs_.model.shaped.byId.find(id);
    EXPECT_NE(it, inputs_.model.shaped.byId.end()) << id;
    return inputs_.model.shaped.circuits.at(it->second);
  }
  Inputs inputs_;
};

TEST_F(DemoIsp, LoadsWithoutDiagnostics) {
  std::string all;
  for (const Diagnostic& d : inputs_.diagnostics.all()) {
    all += d.toString() + "\n";
  }
  EXPECT_TRUE(inputs_.diagnostics.all().empty()) << all;
  EXPECT_EQ(inputs_.model.shaped.circuits.size(), 50u);
  EXPECT_EQ(inputs_.model.network.nodes.size(), 11u);
  ASSERT_TRUE(inputs_.config.bridge.has_value());
  EXPECT_EQ(inputs_.config.bridge->toInternet, "shp-inet");
  EXPECT_EQ(inputs_.config.bridge->toNetwork, "shp-subs");
  EXPECT_EQ(inputs_.config.queues.defaultSqm, "cake diffserv4");
}

TEST_F(DemoIsp, PlansWithoutDiagnostics) {
  Diagnostics diags;
  const auto plan = plan::buildPlan(plan::PlannerInput{inputs_.config, inputs_.model, 2, 2}, diags);
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(diags.all().empty()) << diags.all().front().toString();
  EXPECT_EQ(plan->circuits.size(), 50u);
}

TEST_F(DemoIsp, HasTheDocumentedCases) {
  const double downs[] = {5, 10, 25, 50};
  const char* ids[] = {"1001", "1002", "1003", "1004"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(circuit(ids[i]).downloadMaxMbps, downs[i]) << ids[i];
  }
  // Two circuits directly under the 30 Mbit/s site Millbrook.
  const Node& millbrook = inputs_.model.network.nodes.at(inputs_.model.network.find("Millbrook"));
  EXPECT_EQ(millbrook.downloadMbps, 30);
  const auto under =
      std::count_if(inputs_.model.shaped.circuits.begin(), inputs_.model.shaped.circuits.end(),
                    [](const Circuit& c) { return c.parentNode == "Millbrook"; });
  EXPECT_EQ(under, 2);
  // IPv6-only circuit.
  const Circuit& v6only = circuit("1013");
  ASSERT_EQ(v6only.devices.size(), 1u);
  EXPECT_TRUE(v6only.devices[0].ipv4.empty());
  EXPECT_FALSE(v6only.devices[0].ipv6.empty());
  // Directional sqm override: CAKE down, fq_codel up.
  EXPECT_EQ(circuit("1008").sqm.down, SqmKind::Cake);
  EXPECT_EQ(circuit("1008").sqm.up, SqmKind::FqCodel);
  EXPECT_EQ(circuit("1008").devices.size(), 3u);
  // Lab-friendly ceilings.
  for (const Circuit& c : inputs_.model.shaped.circuits) {
    EXPECT_GE(c.downloadMaxMbps, 5) << c.id;
    EXPECT_LE(c.downloadMaxMbps, 100) << c.id;
  }
  for (const Node& n : inputs_.model.network.nodes) {
    EXPECT_LE(n.downloadMbps, 1000) << n.name;
  }
}

}  // namespace
}  // namespace sluice::model
