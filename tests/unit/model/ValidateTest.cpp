#include "model/Validate.h"

#include <ctime>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "DiagMatchers.h"
#include "model/Inputs.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"

namespace sluice::model {
namespace {

using test::dump;
using test::expectOneError;
using test::withCategory;

const std::string kHeader =
    "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min Mbps,"
    "Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment\n";

/// Parses both files and validates them; parse diagnostics are expected to be empty.
Diagnostics validate(const std::string& networkJson, const std::string& csv, Model* out = nullptr,
                     const config::Config& config = {}) {
  Diagnostics diags;
  Model model;
  model.network = parseNetworkJson(networkJson, "network.json", diags);
  model.shaped = parseShapedDevices(csv, "ShapedDevices.csv", diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  validateModel(model, config, diags);
  if (out) {
    *out = std::move(model);
  }
  return diags;
}

const std::string kNet = R"({"AP": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 50}})";

TEST(Validate, DuplicateIpv4AcrossCircuitsNamesBothRows) {
  const auto diags = validate(kNet, kHeader +
                                        "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n"
                                        "c2,N,d2,D,AP,,\"10.0.0.9,10.0.0.1\",,10,10,100,100,\n");
  const auto d = expectOneError(diags, "duplicate-address", 3, 25);
  EXPECT_NE(d.message.find("ShapedDevices.csv:2:15"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("'c1'"), std::string::npos) << d.message;
  EXPECT_EQ(d.value, "10.0.0.1");
}

TEST(Validate, DuplicateIpv6AcrossCircuits) {
  const auto diags = validate(kNet, kHeader +
                                        "c1,N,d1,D,AP,,,2001:db8::/64,10,10,100,100,\n"
                                        "c2,N,d2,D,AP,,,2001:db8::/64,10,10,100,100,\n");
  const auto d = expectOneError(diags, "duplicate-address", 3, 16);
  EXPECT_NE(d.message.find("ShapedDevices.csv:2:16"), std::string::npos) << d.message;
}

TEST(Validate, SameAddressTwiceInOneCircuitIsAWarning) {
  const auto diags = validate(kNet, kHeader +
                                        "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n"
                                        "c1,N,d2,D,AP,,10.0.0.1,,10,10,100,100,\n");
  const auto found = withCategory(diags, "duplicate-address");
  ASSERT_EQ(found.size(), 1u) << dump(diags);
  EXPECT_EQ(found[0].severity, Severity::Warning);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
}

TEST(Validate, OverlappingCidrAcrossCircuitsNamesBoth) {
  // The containing prefix comes second in the file, so it is the one reported.
  const auto diags = validate(kNet, kHeader +
                                        "c1,N,d1,D,AP,,10.0.0.5,,10,10,100,100,\n"
                                        "c2,N,d2,D,AP,,10.0.0.0/24,,10,10,100,100,\n"
                                        "c3,N,d3,D,AP,,10.0.1.0/24,,10,10,100,100,\n");
  const auto d = expectOneError(diags, "overlapping-cidr", 3, 15);
  EXPECT_NE(d.message.find("10.0.0.5"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("ShapedDevices.csv:2:15"), std::string::npos) << d.message;
  EXPECT_EQ(d.value, "10.0.0.0/24");
}

TEST(Validate, NestedPrefixesOfOneCircuitAreFine) {
  const auto diags =
      validate(kNet, kHeader + "c1,N,d1,D,AP,,\"10.0.0.0/16, 10.0.1.0/24, 10.0.1.7\",,1,1,9,9,\n");
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
}

TEST(Validate, OverlapIsFoundBelowASameCircuitPrefix) {
  // c2's host lies in c1's /24, which itself lies in c2's /16: both conflicts are reported.
  const auto diags = validate(kNet, kHeader +
                                        "c2,N,d1,D,AP,,10.0.0.0/16,,1,1,9,9,\n"
                                        "c1,N,d2,D,AP,,10.0.1.0/24,,1,1,9,9,\n"
                                        "c2,N,d3,D,AP,,10.0.1.1,,1,1,9,9,\n");
  const auto found = withCategory(diags, "overlapping-cidr");
  ASSERT_EQ(found.size(), 2u) << dump(diags);
  EXPECT_EQ(found[0].where.line, 3u);
  EXPECT_EQ(found[1].where.line, 4u);
}

TEST(Validate, UnknownParentAndEmptyParent) {
  const auto diags = validate(kNet, kHeader +
                                        "c1,N,d1,D,Nowhere,,10.0.0.1,,10,10,100,100,\n"
                                        "c2,N,d2,D,,,10.0.0.2,,10,10,100,100,\n");
  const auto d = expectOneError(diags, "unknown-parent", 2, 11);
  EXPECT_EQ(d.value, "Nowhere");
  EXPECT_EQ(diags.errorCount(), 1u) << dump(diags);
}

TEST(Validate, NoneMeansNoParent) {
  Model model;
  const auto diags = validate(kNet, kHeader + "c1,N,d1,D,None,,10.0.0.1,,10,10,100,100,\n", &model);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  EXPECT_EQ(model.shaped.circuits[0].parentNode, "");
}

TEST(Validate, FlatNetworkIgnoresParentsWithAWarning) {
  Model model;
  const auto diags = validate("{}", kHeader + "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n", &model);
  const auto found = withCategory(diags, "parent-ignored");
  ASSERT_EQ(found.size(), 1u) << dump(diags);
  EXPECT_EQ(found[0].severity, Severity::Warning);
  EXPECT_FALSE(diags.hasErrors());
  EXPECT_EQ(model.shaped.circuits[0].parentNode, "");
}

TEST(Validate, BrokenNetworkJsonSkipsTheParentCheck) {
  Diagnostics diags;
  Model model;
  model.network = parseNetworkJson("{\"AP\": ", "network.json", diags);
  model.shaped = parseShapedDevices(kHeader + "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n",
                                    "ShapedDevices.csv", diags);
  validateModel(model, {}, diags);
  EXPECT_EQ(withCategory(diags, "json-syntax").size(), 1u);
  EXPECT_EQ(withCategory(diags, "unknown-parent").size(), 0u) << dump(diags);
}

TEST(Validate, DepthsAndVirtualNodes) {
  Model model;
  const auto diags =
      validate(R"({"A": {"children": {"V": {"virtual": true, "children": {"B": {}}}}}})",
               kHeader + "c1,N,d1,D,B,,10.0.0.1,,10,10,100,100,\n", &model);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  const auto& net = model.network;
  ASSERT_EQ(net.nodes.size(), 3u);
  EXPECT_TRUE(net.nodes[1].isVirtual);
  EXPECT_EQ(net.nodes[0].depth, 0u);
  EXPECT_EQ(net.nodes[1].depth, 1u);
  EXPECT_EQ(net.nodes[2].depth, 2u);
}

TEST(Validate, BrokenNodeLinksInAProgrammaticModel) {
  Model model;
  model.network.nodes.resize(2);
  model.network.nodes[0].name = "a";
  model.network.nodes[1].name = "b";
  model.network.nodes[0].parent = 1;  // a cycle: a -> b -> a, no roots
  model.network.nodes[1].parent = 0;
  model.network.nodes[0].children = {1};
  model.network.nodes[1].children = {0};
  Diagnostics diags;
  validateModel(model, {}, diags);
  EXPECT_EQ(withCategory(diags, "bad-node-link").size(), 2u) << dump(diags);
}

TEST(Validate, IpRangesWarnLikeLibreQoSIntegrationsFilter) {
  config::Config config;
  config.ipRanges.allowSubnets = {"100.64.0.0/10"};
  config.ipRanges.ignoreSubnets = {"100.64.9.0/24"};
  const auto diags = validate(kNet,
                              kHeader +
                                  "c1,N,d1,D,AP,,100.64.0.1,2001:db8::/64,10,10,100,100,\n"
                                  "c2,N,d2,D,AP,,100.64.9.7,,10,10,100,100,\n"
                                  "c3,N,d3,D,AP,,192.0.2.1,,10,10,100,100,\n",
                              nullptr, config);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
  const auto ignored = withCategory(diags, "address-ignored");
  ASSERT_EQ(ignored.size(), 1u) << dump(diags);
  EXPECT_EQ(ignored[0].where.line, 3u);
  const auto notAllowed = withCategory(diags, "address-not-allowed");
  ASSERT_EQ(notAllowed.size(), 1u) << dump(diags);  // the IPv6 prefix is not checked
  EXPECT_EQ(notAllowed[0].where.line, 4u);
}

TEST(Validate, IpRangeWarningsAreCapped) {
  config::Config config;
  config.ipRanges.ignoreSubnets = {"10.0.0.0/8"};
  std::string csv = kHeader;
  for (int i = 0; i < 25; ++i) {
    csv += fmt::format("c{0},N,d{0},D,AP,,10.0.0.{0},,1,1,9,9,\n", i);
  }
  const auto diags = validate(kNet, csv, nullptr, config);
  EXPECT_EQ(withCategory(diags, "address-ignored").size(), kMaxIpRangeWarnings + 1);
}

TEST(Validate, HundredThousandCircuitsValidateQuickly) {
  constexpr int kCircuits = 100'000;
  std::string csv = kHeader;
  csv.reserve(kCircuits * 80);
  for (int i = 0; i < kCircuits; ++i) {
    csv += fmt::format(
        "c{0},Name {0},d{0},CPE,AP,,100.{1}.{2}.{3},2001:db8:{4:x}:{5:x}::/64,10,5,"
        "100,20,\n",
        i, 64 + i / 65536, (i / 256) % 256, i % 256, i >> 16, i & 0xFFFF);
  }
  // One duplicate at the very end, so the check must still find it.
  csv += "dup,N,dx,D,AP,,100.64.0.7,,1,1,9,9,\n";
  // Thread CPU time, not wall time: the test machine's cores are shared.
  auto cpuMs = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  };
  Diagnostics diags;
  Model model;
  const double t0 = cpuMs();
  model.network = parseNetworkJson(kNet, "network.json", diags);
  model.shaped = parseShapedDevices(csv, "ShapedDevices.csv", diags);
  const double t1 = cpuMs();
  validateModel(model, {}, diags);
  const double t2 = cpuMs();
  std::printf("100k circuits (CPU time): parse %.1f ms, validate %.1f ms\n", t1 - t0, t2 - t1);
  EXPECT_EQ(model.shaped.circuits.size(), kCircuits + 1u);
  EXPECT_EQ(model.shaped.addressCount(), 2u * kCircuits + 1);
  const auto d = expectOneError(diags, "duplicate-address", kCircuits + 2, 16);
  EXPECT_NE(d.message.find("ShapedDevices.csv:9:22"), std::string::npos) << d.message;
  EXPECT_LT(t2 - t1, 1000.0);
}

}  // namespace
}  // namespace sluice::model
