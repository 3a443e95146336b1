// [sluice] devices_overrides: parsing the overrides file, merging it over ShapedDevices.csv, and
// loadInputs with the config key set.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "DiagMatchers.h"
#include "model/Inputs.h"
#include "model/ShapedDevicesCsv.h"

namespace sluice::model {
namespace {

using test::dump;
using test::expectOneError;
using test::withCategory;

const std::string kDir = SLUICE_TEST_DATA_DIR "/model/";

constexpr const char* kBase =
    "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,"
    "Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment\n"
    "c1,One,d1,R,AP_A,,100.64.0.1,,10,2,100,20,\n"
    "c1,One,d2,P,AP_A,,100.64.0.2,,10,2,100,20,\n"
    "c2,Two,d3,R,AP_B,,100.64.2.1,,10,2,50,10,\n"
    "c3,Three,d4,R,AP_B,,100.64.3.1,,10,2,50,10,\n";

constexpr const char* kHeader =
    "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,"
    "Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment,Action\n";

ShapedDevices merged(const std::string& overrides, Diagnostics& diags) {
  auto base = parseShapedDevices(kBase, "ShapedDevices.csv", diags);
  return mergeDeviceOverrides(std::move(base),
                              parseDeviceOverrides(overrides, "overrides.csv", diags), diags);
}

TEST(DeviceOverrides, ReplacesWholeCircuitsInPlaceAddsNewOnesAndRemoves) {
  Diagnostics diags;
  const auto shaped = merged(std::string(kHeader) +
                                 "c4,Four,d9,R,AP_A,,100.64.4.1,,5,1,25,5,,\n"    // line 2: added
                                 "c1,One+,d1,R,AP_A,,100.64.0.1,,10,2,300,30,,\n"  // replaces c1
                                 "c2,,,,,,,,,,,,,remove\n",                        // drops c2
                             diags);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
  ASSERT_EQ(shaped.circuits.size(), 3u);
  EXPECT_EQ(shaped.circuits[0].id, "c1");  // keeps its place
  EXPECT_EQ(shaped.circuits[0].name, "One+");
  EXPECT_EQ(shaped.circuits[0].downloadMaxMbps, 300);
  ASSERT_EQ(shaped.circuits[0].devices.size(), 1u);  // d2 gone: the circuit is replaced whole
  EXPECT_EQ(shaped.circuits[0].where.file, "overrides.csv");
  EXPECT_EQ(shaped.circuits[0].where.line, 3u);
  EXPECT_EQ(shaped.circuits[1].id, "c3");
  EXPECT_EQ(shaped.circuits[1].where.file, "ShapedDevices.csv");
  EXPECT_EQ(shaped.circuits[2].id, "c4");
  EXPECT_EQ(shaped.byId.at("c4"), 2u);
  EXPECT_FALSE(shaped.byId.contains("c2"));
}

TEST(DeviceOverrides, RowErrorsNameTheOverridesFileLineAndValue) {
  Diagnostics diags;
  merged(std::string(kHeader) + "c1,One,d1,R,AP_A,,100.64.0.1,,10,2,abc,20,,\n"
                                "c2,,,,,,,,,,,,,delete\n"
                                ",,,,,,,,,,,,,remove\n",
         diags);
  const auto rate = expectOneError(diags, "bad-rate", 2, 36);
  EXPECT_EQ(rate.where.file, "overrides.csv");
  EXPECT_EQ(rate.value, "abc");
  const auto action = expectOneError(diags, "bad-action", 3, 16);
  EXPECT_EQ(action.where.file, "overrides.csv");
  EXPECT_EQ(action.value, "delete");
  expectOneError(diags, "missing-circuit-id", 4, 1);
  EXPECT_EQ(diags.errorCount(), 3u) << dump(diags);
}

TEST(DeviceOverrides, ConflictAndStaleRemoval) {
  Diagnostics diags;
  const auto shaped = merged(std::string(kHeader) + "c1,,,,,,,,,,,,,remove\n"
                                                    "c1,One,d1,R,AP_A,,100.64.0.1,,10,2,100,20,,\n"
                                                    "gone,,,,,,,,,,,,,Remove\n",
                             diags);
  const auto conflict = expectOneError(diags, "override-conflict", 2, 0);
  EXPECT_NE(conflict.message.find("overrides.csv:3"), std::string::npos) << conflict.message;
  const auto stale = withCategory(diags, "override-unknown-circuit");
  ASSERT_EQ(stale.size(), 1u) << dump(diags);
  EXPECT_EQ(stale[0].severity, Severity::Warning);
  EXPECT_EQ(stale[0].where.line, 4u);
  EXPECT_EQ(stale[0].value, "gone");
  EXPECT_EQ(shaped.circuits.size(), 3u);  // the conflicting removal is not applied
}

TEST(DeviceOverrides, ActionColumnIsOnlyKnownInOverridesFiles) {
  Diagnostics diags;
  parseShapedDevices(std::string(kHeader) + "c1,One,d1,R,AP_A,,100.64.0.1,,10,2,100,20,,remove\n",
                     "ShapedDevices.csv", diags);
  EXPECT_EQ(withCategory(diags, "unknown-column").size(), 1u) << dump(diags);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
}

class OverridesDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-overrides-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(kDir + "network.json", dir_ / "network.json");
    std::filesystem::copy_file(kDir + "ShapedDevices.csv", dir_ / "ShapedDevices.csv");
    std::ifstream in(kDir + "lqos.conf");
    std::string conf((std::istreambuf_iterator<char>(in)), {});
    conf.replace(conf.find("/nonexistent"), 12, dir_.string());
    conf += "\n[sluice]\ndevices_overrides = \"overrides.csv\"\n";
    write("lqos.conf", conf);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  Inputs load() { return loadInputs({(dir_ / "lqos.conf").string(), {}, {}}); }
  std::filesystem::path dir_;
};

TEST_F(OverridesDir, AMissingOverridesFileIsEmpty) {
  const auto in = load();
  EXPECT_TRUE(in.ok()) << dump(in.diagnostics);
  EXPECT_EQ(in.resolvedOverrides, (dir_ / "overrides.csv").string());
  EXPECT_EQ(in.model.shaped.circuits.size(), 3u);
}

TEST_F(OverridesDir, CrossCircuitChecksRunOnTheMergedSet) {
  // c9 takes an address c2 owns in ShapedDevices.csv, and names a parent that does not exist.
  write("overrides.csv", std::string(kHeader) +
                             "c9,Nine,d9,R,AP_Z,,100.64.2.1,,1,1,10,10,,\n"
                             "c3,,,,,,,,,,,,,remove\n");
  const auto in = load();
  EXPECT_FALSE(in.ok());
  const auto dup = expectOneError(in.diagnostics, "duplicate-address", 2, 20);
  EXPECT_EQ(dup.where.file, (dir_ / "overrides.csv").string());
  EXPECT_NE(dup.message.find("ShapedDevices.csv:6"), std::string::npos) << dup.message;
  const auto parent = expectOneError(in.diagnostics, "unknown-parent", 2, 14);
  EXPECT_EQ(parent.value, "AP_Z");
  EXPECT_FALSE(in.model.shaped.byId.contains("c3"));
  EXPECT_EQ(in.model.shaped.circuits.size(), 3u);
}

}  // namespace
}  // namespace sluice::model
