#include "model/Overlay.h"

#include <string>

#include <gtest/gtest.h>

#include "DiagMatchers.h"

namespace sluice::model {
namespace {

using test::dump;
using test::withCategory;

const std::string kDir = SLUICE_TEST_DATA_DIR "/model/";

Inputs fixture() {
  auto in = loadInputs({kDir + "lqos.conf", kDir + "network.json", kDir + "ShapedDevices.csv"});
  EXPECT_TRUE(in.ok()) << dump(in.diagnostics);
  return in;
}

Circuit dynamicCircuit(const std::string& id, const std::string& parent,
                       const std::string& address) {
  Circuit c;
  c.id = id;
  c.name = "radius " + id;
  c.parentNode = parent;
  c.downloadMinMbps = 1;
  c.uploadMinMbps = 1;
  c.downloadMaxMbps = 20;
  c.uploadMaxMbps = 5;
  Device d;
  d.id = id + "-dev";
  const auto net = IpNet::parse(address);
  EXPECT_TRUE(net.has_value()) << address;
  (net->isV4 ? d.ipv4 : d.ipv6).push_back(*net);
  c.devices.push_back(d);
  return c;
}

TEST(Overlay, AnEmptyOverlayChangesNothing) {
  auto in = fixture();
  const auto before = in.model.shaped.circuits.size();
  const auto report = applyOverlay({}, in);
  EXPECT_EQ(report.skipped, 0u);
  EXPECT_EQ(in.model.shaped.circuits.size(), before);
  EXPECT_EQ(in.diagnostics.warningCount(), fixture().diagnostics.warningCount());
}

TEST(Overlay, AddsDynamicCircuitsFindableById) {
  auto in = fixture();
  Overlay overlay;
  overlay.circuits["r1"] = dynamicCircuit("r1", "AP_A", "100.64.9.9");
  overlay.circuits["r2"] = dynamicCircuit("r2", "", "2001:db8:99::/64");
  const auto report = applyOverlay(overlay, in);
  EXPECT_EQ(report.circuitsAdded, 2u);
  EXPECT_EQ(report.skipped, 0u) << dump(in.diagnostics);
  ASSERT_TRUE(in.model.shaped.byId.contains("r1"));
  const Circuit& r1 = in.model.shaped.circuits[in.model.shaped.byId.at("r1")];
  EXPECT_EQ(r1.parentNode, "AP_A");
  EXPECT_EQ(r1.downloadMaxMbps, 20);
  EXPECT_TRUE(in.ok());
}

TEST(Overlay, TheOperatorsCircuitsWinOverDynamicOnes) {
  auto in = fixture();
  Overlay overlay;
  overlay.circuits["c1"] = dynamicCircuit("c1", "AP_A", "100.64.9.9");        // same ID
  overlay.circuits["same"] = dynamicCircuit("same", "AP_A", "100.64.2.1");    // same address
  overlay.circuits["inside"] = dynamicCircuit("inside", "AP_A", "100.64.1.7");  // in c1's /24
  overlay.circuits["wider"] = dynamicCircuit("wider", "AP_A", "100.64.0.0/16");  // holds c1's
  overlay.circuits["v6in"] = dynamicCircuit("v6in", "AP_A", "2001:db8:1:5::/64");  // in c2's /56
  overlay.circuits["ghost"] = dynamicCircuit("ghost", "Nowhere", "100.64.9.10");
  overlay.circuits["fine"] = dynamicCircuit("fine", "AP_B", "100.64.1.0/25");
  overlay.circuits["fine"].devices[0].ipv4[0] = *IpNet::parse("100.64.4.0/25");
  const auto report = applyOverlay(overlay, in);
  EXPECT_EQ(report.circuitsAdded, 1u) << dump(in.diagnostics);
  EXPECT_EQ(report.skipped, 6u);
  EXPECT_EQ(withCategory(in.diagnostics, "overlay-skipped").size(), 6u);
  EXPECT_TRUE(in.model.shaped.byId.contains("fine"));
  EXPECT_EQ(in.model.shaped.circuits[in.model.shaped.byId.at("c1")].name, "Smith, John");
  EXPECT_TRUE(in.ok()) << "a skip is a warning, never an error";
  const std::string text = dump(in.diagnostics);
  EXPECT_NE(text.find("overlaps 100.64.1.0/24"), std::string::npos) << text;
  EXPECT_NE(text.find("Nowhere"), std::string::npos) << text;
}

TEST(Overlay, AddedCircuitsConflictWithEachOtherToo) {
  auto in = fixture();
  Overlay overlay;
  overlay.circuits["a"] = dynamicCircuit("a", "AP_A", "100.64.50.1");
  overlay.circuits["b"] = dynamicCircuit("b", "AP_A", "100.64.50.1");
  const auto report = applyOverlay(overlay, in);
  EXPECT_EQ(report.circuitsAdded, 1u);
  EXPECT_EQ(report.skipped, 1u);
}

TEST(Overlay, SetsNodeRatesLeafKindsAndVirtualNodes) {
  auto in = fixture();
  Overlay overlay;
  overlay.nodeRates["AP_A"] = {150, 0};
  overlay.nodeRates["Nope"] = {10, 10};
  overlay.nodeRates["AP_B"] = {-1, 5};
  overlay.circuitSqm["c2"] = {SqmKind::FqCodel, SqmKind::Default};
  overlay.virtualNodes.insert("AP_B");
  const auto report = applyOverlay(overlay, in);
  EXPECT_EQ(report.nodeRatesSet, 1u);
  EXPECT_EQ(report.circuitSqmSet, 1u);
  EXPECT_EQ(report.nodesVirtualized, 1u);
  EXPECT_EQ(report.skipped, 2u);
  const auto& ap = in.model.network.nodes[static_cast<size_t>(in.model.network.find("AP_A"))];
  EXPECT_EQ(ap.downloadMbps, 150);
  EXPECT_EQ(ap.uploadMbps, 100) << "0 keeps the file's rate";
  const auto& c2 = in.model.shaped.circuits[in.model.shaped.byId.at("c2")];
  EXPECT_EQ(c2.sqm.down, SqmKind::FqCodel);
  EXPECT_EQ(c2.sqm.up, SqmKind::Default);
  EXPECT_TRUE(in.model.network.nodes[static_cast<size_t>(in.model.network.find("AP_B"))].isVirtual);
}

TEST(Overlay, ADynamicCircuitWithoutAddressIsSkipped) {
  auto in = fixture();
  Overlay overlay;
  Circuit c = dynamicCircuit("empty", "AP_A", "100.64.60.1");
  c.devices[0].ipv4.clear();
  overlay.circuits["empty"] = c;
  overlay.circuitSqm["empty"] = {SqmKind::Cake, SqmKind::Cake};
  const auto report = applyOverlay(overlay, in);
  EXPECT_EQ(report.circuitsAdded, 0u);
  EXPECT_EQ(report.skipped, 1u) << dump(in.diagnostics);
  EXPECT_FALSE(in.model.shaped.byId.contains("empty"));
}

}  // namespace
}  // namespace sluice::model
