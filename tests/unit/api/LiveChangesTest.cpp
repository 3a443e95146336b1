// Live circuit changes: planned against the demo ISP's files, validated like the file itself,
// errors mapped back to request fields, nothing written on refusal.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "api/LiveChanges.h"
#include "common/AtomicFile.h"
#include "model/ShapedDevicesCsv.h"
#include "ApiTestSupport.h"

namespace sluice::api {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class LiveChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path examples = fs::path(SLUICE_SOURCE_DIR) / "examples";
    for (const char* f : {"lqos.conf", "network.json", "ShapedDevices.csv"}) {
      fs::copy_file(examples / f, fs::path(dir_.path()) / f);
    }
    paths_.config = dir_.path() + "/lqos.conf";
    original_ = readFile(csv());
  }
  fs::path csv() const { return fs::path(dir_.path()) / "ShapedDevices.csv"; }

  static json newCircuit() {
    return json{{"id", "9001"},
                {"name", "Live, \"quoted\" name"},
                {"parent", "Riverbend Water Tower AP1-N"},
                {"min_down_mbps", 5},
                {"min_up_mbps", 1},
                {"max_down_mbps", 50},
                {"max_up_mbps", 10},
                {"sqm", "fq_codel"},
                {"devices",
                 json::array({{{"id", "9001-1"},
                               {"name", "router"},
                               {"mac", "24:5A:4C:10:90:01"},
                               {"ipv4", json::array({"100.64.9.1", "100.64.9.2"})},
                               {"ipv6", json::array({"2001:db8:900::/64"})},
                               {"comment", "added live"}}})}};
  }

  /// The field names of a refusal's errors.
  static std::vector<std::string> fields(const PlannedChange& p) {
    std::vector<std::string> out;
    for (const json& e : p.error["errors"]) {
      out.push_back(e["field"].get<std::string>());
    }
    return out;
  }
  static bool hasError(const PlannedChange& p, const std::string& field,
                       const std::string& category) {
    for (const json& e : p.error["errors"]) {
      if (e["field"] == field && e["category"] == category) {
        return true;
      }
    }
    return false;
  }

  test::TempDir dir_;
  model::InputPaths paths_;
  std::string original_;
};

TEST_F(LiveChangesTest, RenderingTheFileReadsBackToTheSameCircuits) {
  model::Inputs in = model::loadInputs(paths_);
  ASSERT_TRUE(in.ok());
  Diagnostics diags;
  model::ShapedDevices back =
      model::parseShapedDevices(renderShapedDevices(in.model.shaped), "x.csv", diags);
  EXPECT_FALSE(diags.hasErrors());
  ASSERT_EQ(back.circuits.size(), in.model.shaped.circuits.size());
  EXPECT_EQ(back.deviceCount(), in.model.shaped.deviceCount());
  EXPECT_EQ(back.addressCount(), in.model.shaped.addressCount());
  for (size_t i = 0; i < back.circuits.size(); ++i) {
    const auto& a = back.circuits[i];
    const auto& b = in.model.shaped.circuits[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.parentNode, b.parentNode);
    EXPECT_EQ(a.downloadMaxMbps, b.downloadMaxMbps);
    EXPECT_EQ(a.uploadMinMbps, b.uploadMinMbps);
    EXPECT_EQ(a.sqm.down, b.sqm.down);
  }
}

TEST_F(LiveChangesTest, ValidAddAppendsTheCircuitAndKeepsTheOthers) {
  PlannedChange p = planCircuitChange(paths_, ChangeKind::Add, "", newCircuit());
  ASSERT_TRUE(p.ok()) << p.error.dump();
  EXPECT_EQ(p.path, csv().string());
  Diagnostics diags;
  model::ShapedDevices back = model::parseShapedDevices(p.text, "x.csv", diags);
  EXPECT_FALSE(diags.hasErrors());
  ASSERT_TRUE(back.byId.contains("9001"));
  const model::Circuit& c = back.circuits.back();
  EXPECT_EQ(c.id, "9001");
  EXPECT_EQ(c.name, "Live, \"quoted\" name");
  EXPECT_EQ(c.downloadMaxMbps, 50);
  EXPECT_EQ(c.sqm.down, model::SqmKind::FqCodel);
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].ipv4.size(), 2u);
  EXPECT_EQ(p.circuits, back.circuits.size());
  EXPECT_EQ(readFile(csv()), original_) << "planning must not write";
}

TEST_F(LiveChangesTest, BadValuesAreRefusedWithTheirFields) {
  json c = newCircuit();
  c["max_down_mbps"] = "fast";
  c["min_up_mbps"] = 20;  // above max_up_mbps = 10
  c["devices"][0]["ipv4"] = json::array({"100.64.9.1", "300.1.1.1"});
  c["sqm"] = "pie";
  PlannedChange p = planCircuitChange(paths_, ChangeKind::Add, "", c);
  ASSERT_EQ(p.status, 422) << p.error.dump();
  EXPECT_TRUE(hasError(p, "max_down_mbps", "bad-rate")) << p.error.dump();
  EXPECT_TRUE(hasError(p, "devices[0].ipv4", "bad-address")) << p.error.dump();
  EXPECT_TRUE(hasError(p, "sqm", "unknown-sqm")) << p.error.dump();
  EXPECT_TRUE(p.text.empty());
}

TEST_F(LiveChangesTest, CrossCircuitProblemsLandOnTheChangedCircuit) {
  json c = newCircuit();
  c["parent"] = "No Such AP";
  c["devices"][0]["ipv4"] = json::array({"100.64.1.5"});  // circuit 1001's address
  PlannedChange p = planCircuitChange(paths_, ChangeKind::Add, "", c);
  ASSERT_EQ(p.status, 422) << p.error.dump();
  EXPECT_TRUE(hasError(p, "parent", "unknown-parent")) << p.error.dump();
  EXPECT_TRUE(hasError(p, "devices[0].ipv4", "duplicate-address")) << p.error.dump();
}

TEST_F(LiveChangesTest, ShapeErrorsAreFieldErrorsToo) {
  json c = newCircuit();
  c["name"] = json::array({1});
  c["devices"][0]["ipv6"] = json::array({7});
  c["devices"][0]["comment"] = "two\nlines";
  PlannedChange p = planCircuitChange(paths_, ChangeKind::Add, "", c);
  ASSERT_EQ(p.status, 422);
  EXPECT_EQ(fields(p),
            (std::vector<std::string>{"name", "devices[0].ipv6", "devices[0].comment"}));
  json noDevices = newCircuit();
  noDevices["devices"] = json::array();
  EXPECT_EQ(fields(planCircuitChange(paths_, ChangeKind::Add, "", noDevices)),
            std::vector<std::string>{"devices"});
  json noId = newCircuit();
  noId.erase("id");
  EXPECT_EQ(fields(planCircuitChange(paths_, ChangeKind::Add, "", noId)),
            std::vector<std::string>{"id"});
}

TEST_F(LiveChangesTest, AddingAnExistingIdIs409) {
  json c = newCircuit();
  c["id"] = "1001";
  EXPECT_EQ(planCircuitChange(paths_, ChangeKind::Add, "", c).status, 409);
}

TEST_F(LiveChangesTest, PatchChangesOnlyTheGivenFieldsInPlace) {
  PlannedChange p =
      planCircuitChange(paths_, ChangeKind::Patch, "1002", json{{"max_down_mbps", 12.5}});
  ASSERT_TRUE(p.ok()) << p.error.dump();
  Diagnostics diags;
  model::ShapedDevices back = model::parseShapedDevices(p.text, "x.csv", diags);
  ASSERT_TRUE(back.byId.contains("1002"));
  EXPECT_EQ(back.byId.at("1002"), 1u) << "a patched circuit keeps its place";
  const model::Circuit& c = back.circuits[1];
  EXPECT_EQ(c.downloadMaxMbps, 12.5);
  EXPECT_EQ(c.uploadMaxMbps, 2);
  EXPECT_EQ(c.name, "Lab 10M - 14 Oak St");
  EXPECT_EQ(c.devices.at(0).ipv4.at(0).toString(), "100.64.1.10");
}

TEST_F(LiveChangesTest, PatchBelowTheMinimumIsRefused) {
  PlannedChange p =
      planCircuitChange(paths_, ChangeKind::Patch, "1002", json{{"max_down_mbps", 1}});
  ASSERT_EQ(p.status, 422) << p.error.dump();
  ASSERT_FALSE(p.error["errors"].empty());
  EXPECT_EQ(p.error["errors"][0]["category"], "min-greater-than-max") << p.error.dump();
  EXPECT_EQ(p.error["errors"][0]["field"], "max_down_mbps") << "the field the request changed";
}

TEST_F(LiveChangesTest, UnknownCircuitIs404AndDeleteRemovesIt) {
  EXPECT_EQ(planCircuitChange(paths_, ChangeKind::Patch, "nope", json::object()).status, 404);
  EXPECT_EQ(planCircuitChange(paths_, ChangeKind::Remove, "nope", json()).status, 404);
  PlannedChange p = planCircuitChange(paths_, ChangeKind::Remove, "1003", json());
  ASSERT_TRUE(p.ok()) << p.error.dump();
  Diagnostics diags;
  model::ShapedDevices back = model::parseShapedDevices(p.text, "x.csv", diags);
  EXPECT_FALSE(back.byId.contains("1003"));
  EXPECT_TRUE(back.byId.contains("1004"));
}

TEST_F(LiveChangesTest, AFileWithErrorsIsNotChangedLive) {
  std::ofstream(csv(), std::ios::app) << "1001,Other,x,y,Riverbend Water Tower AP1-N,,"
                                         "100.64.250.1,,1,1,oops,1,,\n";
  PlannedChange p = planCircuitChange(paths_, ChangeKind::Add, "", newCircuit());
  EXPECT_EQ(p.status, 409) << p.error.dump();
  EXPECT_FALSE(p.error["errors"].empty());
}

/// `[sluice] devices_overrides` set: changes go to the overrides file, ShapedDevices.csv is kept.
class LiveChangesOverridesTest : public LiveChangesTest {
 protected:
  void SetUp() override {
    LiveChangesTest::SetUp();
    std::string conf = readFile(fs::path(dir_.path()) / "lqos.conf");
    const auto at = conf.find("\n[sluice]\n");
    const std::string line = "devices_overrides = \"overrides.csv\"\n";
    if (at == std::string::npos) {
      conf += "\n[sluice]\n" + line;
    } else {
      conf.insert(at + 10, line);
    }
    std::ofstream(fs::path(dir_.path()) / "lqos.conf") << conf;
  }
  fs::path overrides() const { return fs::path(dir_.path()) / "overrides.csv"; }
  /// Persists `p` as the daemon does and checks the merged inputs are valid.
  model::Inputs persist(const PlannedChange& p) {
    EXPECT_TRUE(writeFileAtomically(p.path, p.text, {.keepExistingMode = true}));
    model::Inputs in = model::loadInputs(paths_);
    EXPECT_TRUE(in.ok()) << in.diagnostics.errors().front().toString();
    return in;
  }
};

TEST_F(LiveChangesOverridesTest, ChangesLandInTheOverridesFileOnly) {
  PlannedChange add = planCircuitChange(paths_, ChangeKind::Add, "", newCircuit());
  ASSERT_TRUE(add.ok()) << add.error.dump();
  EXPECT_EQ(add.path, overrides().string());
  persist(add);
  PlannedChange patch =
      planCircuitChange(paths_, ChangeKind::Patch, "1002", json{{"max_down_mbps", 12.5}});
  ASSERT_TRUE(patch.ok()) << patch.error.dump();
  persist(patch);
  PlannedChange remove = planCircuitChange(paths_, ChangeKind::Remove, "1003", json());
  ASSERT_TRUE(remove.ok()) << remove.error.dump();
  model::Inputs in = persist(remove);
  EXPECT_EQ(readFile(csv()), original_) << "ShapedDevices.csv is the integration's";

  EXPECT_TRUE(in.model.shaped.byId.contains("9001"));
  EXPECT_FALSE(in.model.shaped.byId.contains("1003"));
  ASSERT_TRUE(in.model.shaped.byId.contains("1002"));
  EXPECT_EQ(in.model.shaped.byId.at("1002"), 1u) << "a patched circuit keeps its place";
  EXPECT_EQ(in.model.shaped.circuits[1].downloadMaxMbps, 12.5);

  Diagnostics diags;
  const model::DeviceOverrides file = model::parseDeviceOverrides(
      readFile(overrides()), overrides().string(), diags);
  EXPECT_FALSE(diags.hasErrors());
  ASSERT_EQ(file.circuits.circuits.size(), 2u);  // 9001 added, 1002 replaced
  ASSERT_EQ(file.removals.size(), 1u);
  EXPECT_EQ(file.removals[0].circuitId, "1003");

  // Deleting a circuit that only the overrides add drops its rows instead of adding a removal.
  PlannedChange undo = planCircuitChange(paths_, ChangeKind::Remove, "9001", json());
  ASSERT_TRUE(undo.ok()) << undo.error.dump();
  in = persist(undo);
  EXPECT_FALSE(in.model.shaped.byId.contains("9001"));
  const model::DeviceOverrides after = model::parseDeviceOverrides(
      readFile(overrides()), overrides().string(), diags);
  EXPECT_EQ(after.circuits.circuits.size(), 1u);
  EXPECT_EQ(after.removals.size(), 1u);
}

TEST_F(LiveChangesOverridesTest, InvalidChangesAreRefusedAndNothingIsPlanned) {
  json c = newCircuit();
  c["devices"][0]["ipv4"] = json::array({"100.64.1.5"});  // circuit 1001's address
  PlannedChange p = planCircuitChange(paths_, ChangeKind::Add, "", c);
  EXPECT_EQ(p.status, 422);
  EXPECT_TRUE(hasError(p, "devices[0].ipv4", "duplicate-address")) << p.error.dump();
  EXPECT_TRUE(p.text.empty());
  EXPECT_FALSE(fs::exists(overrides()));
}

}  // namespace
}  // namespace sluice::api
