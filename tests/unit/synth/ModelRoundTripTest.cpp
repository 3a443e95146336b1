// Generated ISPs go through the real readers, validation and planner without a single error or
// warning, at several sizes and shapes.

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "config/ConfigLoader.h"
#include "model/Inputs.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"
#include "planner/Planner.h"
#include "synth/Synth.h"

namespace sluice::synth {
namespace {

std::string describe(const Diagnostics& diags) {
  std::string out;
  size_t shown = 0;
  for (const Diagnostic& d : diags.all()) {
    if (++shown > 10) {
      out += "...\n";
      break;
    }
    out += d.toString() + "\n";
  }
  return out;
}

struct Shape {
  const char* name;
  SynthOptions options;
};

class SynthRoundTrip : public ::testing::TestWithParam<Shape> {};

TEST_P(SynthRoundTrip, ParsesValidatesAndPlansCleanly) {
  const SynthOptions& o = GetParam().options;
  const SynthFiles files = generate(o);

  Diagnostics diags;
  const auto config = config::parseConfig(renderLqosConf(LqosConfOptions{}), "lqos.conf", diags);
  ASSERT_TRUE(config.has_value()) << describe(diags);
  model::Model model;
  model.network = model::parseNetworkJson(files.networkJson, "network.json", diags);
  model.shaped = model::parseShapedDevices(files.shapedDevicesCsv, "ShapedDevices.csv", diags);
  model::validateModel(model, *config, diags);
  EXPECT_EQ(diags.all().size(), 0u) << describe(diags);
  EXPECT_EQ(model.network.nodes.size(), files.stats.nodes);
  EXPECT_EQ(model.shaped.circuits.size(), o.circuits);
  EXPECT_EQ(model.shaped.deviceCount(), files.stats.devices);
  EXPECT_EQ(model.shaped.addressCount(), files.stats.ipv4Entries + files.stats.ipv6Entries);

  const auto plan = plan::buildPlan(
      plan::PlannerInput{*config, model, /*availableTxQueues=*/4, /*cpuCount=*/2}, diags);
  ASSERT_TRUE(plan.has_value()) << describe(diags);
  EXPECT_EQ(diags.errorCount(), 0u) << describe(diags);
  EXPECT_EQ(plan->circuits.size(), o.circuits);
  EXPECT_EQ(plan->addresses.size(), model.shaped.addressCount());
  if (o.unparentedShare == 0 && o.sites > 0) {
    // fitGuarantees keeps every node's guarantees within its rate: nothing to squash or cap.
    EXPECT_EQ(diags.warningCount(), 0u) << describe(diags);
  }
}

// One million circuits take about a minute and several GB here, so this runs only on request:
//   SLUICE_SYNTH_HUGE=1 build/tests/unit/synth/synth_roundtrip_test --gtest_filter='*Million*'
// 94% of the circuits have sqm "none" (an interface holds at most 65,534 leaf qdiscs) and 32
// queues keep each HTB qdisc under 65,535 classes.
TEST(SynthRoundTripHuge, MillionCircuitsParseValidateAndPlan) {
  if (std::getenv("SLUICE_SYNTH_HUGE") == nullptr) {
    GTEST_SKIP() << "set SLUICE_SYNTH_HUGE=1 to run (about a minute, several GB)";
  }
  SynthOptions o;
  o.circuits = 1'000'000;
  o.sites = 100;
  o.popsPerSite = 5;
  o.apsPerPop = 4;
  o.sqmNoneShare = 0.94;
  o.unparentedShare = 0.01;
  const SynthFiles files = generate(o);
  Diagnostics diags;
  const auto config = config::parseConfig(renderLqosConf(LqosConfOptions{}), "lqos.conf", diags);
  ASSERT_TRUE(config.has_value()) << describe(diags);
  model::Model model;
  model.network = model::parseNetworkJson(files.networkJson, "network.json", diags);
  model.shaped = model::parseShapedDevices(files.shapedDevicesCsv, "ShapedDevices.csv", diags);
  model::validateModel(model, *config, diags);
  EXPECT_EQ(diags.errorCount(), 0u) << describe(diags);
  EXPECT_EQ(model.shaped.circuits.size(), o.circuits);
  EXPECT_EQ(model.shaped.addressCount(), files.stats.ipv4Entries + files.stats.ipv6Entries);
  const auto plan = plan::buildPlan(plan::PlannerInput{*config, model, 32, 32}, diags);
  ASSERT_TRUE(plan.has_value()) << describe(diags);
  EXPECT_EQ(diags.errorCount(), 0u) << describe(diags);
}

SynthOptions shape(uint32_t circuits, uint32_t sites, uint64_t seed) {
  SynthOptions o;
  o.circuits = circuits;
  o.sites = sites;
  o.seed = seed;
  return o;
}

SynthOptions mixed() {
  SynthOptions o = shape(3000, 6, 11);
  o.unparentedShare = 0.1;
  o.ipv6OnlyShare = 0.05;
  o.cidrShare = 0.2;
  o.sqmOverrideShare = 0.3;
  return o;
}

SynthOptions flat() {
  SynthOptions o = shape(500, 0, 5);
  o.sqmOverrideShare = 0;
  return o;
}

SynthOptions noAps() {
  SynthOptions o = shape(800, 3, 9);
  o.apsPerPop = 0;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, SynthRoundTrip,
    ::testing::Values(Shape{"c100", shape(100, 4, 1)}, Shape{"c2000", shape(2000, 8, 2)},
                      Shape{"c30000", shape(30000, 20, 3)}, Shape{"mixed", mixed()},
                      Shape{"flat", flat()}, Shape{"noAps", noAps()}),
    [](const ::testing::TestParamInfo<Shape>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sluice::synth
