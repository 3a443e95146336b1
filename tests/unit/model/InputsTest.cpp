#include "model/Inputs.h"

#include <string>

#include <gtest/gtest.h>

#include "DiagMatchers.h"

namespace sluice::model {
namespace {

using test::dump;
using test::expectOneError;
using test::withCategory;

const std::string kDir = SLUICE_TEST_DATA_DIR "/model/";

TEST(Inputs, LoadsAndValidatesTheFixtureSet) {
  const auto in =
      loadInputs({kDir + "lqos.conf", kDir + "network.json", kDir + "ShapedDevices.csv"});
  EXPECT_TRUE(in.ok()) << dump(in.diagnostics);
  EXPECT_EQ(in.config.nodeId, "model-test");
  EXPECT_EQ(in.model.network.nodes.size(), 5u);
  EXPECT_EQ(in.model.shaped.circuits.size(), 3u);
  EXPECT_EQ(in.model.network.nodes[3].depth, 2u);
  EXPECT_EQ(withCategory(in.diagnostics, "address-not-allowed").size(), 0u);
}

TEST(Inputs, ReportsEveryProblemOfTheDevicesFileInOneRun) {
  const auto in = loadInputs({kDir + "lqos.conf", kDir + "network.json", kDir + "Broken.csv"});
  EXPECT_FALSE(in.ok());
  const auto& diags = in.diagnostics;
  const auto dup = expectOneError(diags, "duplicate-address", 3, 24);
  EXPECT_NE(dup.message.find(kDir + "Broken.csv:2:21"), std::string::npos) << dup.message;
  expectOneError(diags, "unknown-parent", 3, 15);
  expectOneError(diags, "missing-circuit-id", 4, 1);
  expectOneError(diags, "bad-rate", 5, 34);
  EXPECT_EQ(diags.errorCount(), 4u) << dump(diags);
}

TEST(Inputs, WithoutAConfigTheDefaultsApply) {
  const auto in = loadInputs({"", kDir + "network.json", kDir + "ShapedDevices.csv"});
  EXPECT_TRUE(in.ok()) << dump(in.diagnostics);
  EXPECT_EQ(in.model.shaped.circuits.size(), 3u);
}

TEST(Inputs, MissingFilesAreReportedByPath) {
  // lqos_directory in the fixture config does not exist, so both default paths are unreadable.
  const auto in = loadInputs({kDir + "lqos.conf", "", ""});
  const auto unreadable = withCategory(in.diagnostics, "unreadable-file");
  ASSERT_EQ(unreadable.size(), 2u) << dump(in.diagnostics);
  EXPECT_EQ(unreadable[0].where.file, "/nonexistent/network.json");
  EXPECT_EQ(unreadable[1].where.file, "/nonexistent/ShapedDevices.csv");
  EXPECT_EQ(withCategory(in.diagnostics, "unknown-parent").size(), 0u);
}

}  // namespace
}  // namespace sluice::model
