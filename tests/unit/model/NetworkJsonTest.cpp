#include "model/NetworkJson.h"

#include <string>

#include <gtest/gtest.h>

#include "DiagMatchers.h"

namespace sluice::model {
namespace {

using test::dump;
using test::expectOneError;
using test::withCategory;

Network parse(const std::string& text, Diagnostics& diags) {
  return parseNetworkJson(text, "network.json", diags);
}

TEST(NetworkJson, ReadsNestedNodesWithPositions) {
  Diagnostics diags;
  const auto net = loadNetworkJson(SLUICE_TEST_DATA_DIR "/model/network.json", diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  ASSERT_EQ(net.nodes.size(), 5u);
  EXPECT_TRUE(net.complete);
  // Pre-order, file order.
  EXPECT_EQ(net.nodes[0].name, "Site_1");
  EXPECT_EQ(net.nodes[1].name, "AP_A");
  EXPECT_EQ(net.nodes[2].name, "Cabinet");
  EXPECT_EQ(net.nodes[3].name, "AP_B");
  EXPECT_EQ(net.nodes[4].name, "Site_2");
  EXPECT_EQ(net.roots, (std::vector<int32_t>{0, 4}));
  EXPECT_EQ(net.nodes[0].children, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(net.nodes[3].parent, 2);
  EXPECT_EQ(net.nodes[3].depth, 2u);

  const auto& site = net.nodes[0];
  EXPECT_DOUBLE_EQ(site.downloadMbps, 1000);
  EXPECT_DOUBLE_EQ(site.uploadMbps, 500.5);
  EXPECT_EQ(site.type, "site");
  EXPECT_EQ(site.id, "site-1");
  EXPECT_EQ(net.byId.at("site-1"), 0);
  ASSERT_TRUE(site.latitude && site.longitude);
  EXPECT_DOUBLE_EQ(*site.latitude, 45.5);
  EXPECT_DOUBLE_EQ(*site.longitude, -73.25);
  EXPECT_EQ(site.where.toString(), SLUICE_TEST_DATA_DIR "/model/network.json:2:3");

  const auto& cabinet = net.nodes[2];
  EXPECT_TRUE(cabinet.isVirtual);
  EXPECT_EQ(cabinet.downloadMbps, 0);  // missing: inherit
  EXPECT_EQ(cabinet.where.line, 15u);
  EXPECT_EQ(cabinet.where.column, 7u);
  EXPECT_EQ(net.nodes[3].where.line, 18u);
  EXPECT_EQ(net.nodes[3].where.column, 11u);
  EXPECT_EQ(net.nodes[4].downloadMbps, 0);  // explicit 0: inherit
  EXPECT_EQ(net.find("AP_B"), 3);
  EXPECT_EQ(net.find("nope"), kNoNode);
}

TEST(NetworkJson, EmptyObjectIsAFlatNetwork) {
  Diagnostics diags;
  const auto net = parse(" {}\n", diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  EXPECT_TRUE(net.nodes.empty());
  EXPECT_TRUE(net.complete);
}

TEST(NetworkJson, SyntaxErrorHasLineAndColumn) {
  Diagnostics diags;
  const auto net = parse("{\n  \"A\": {\n    \"downloadBandwidthMbps\": 10,\n  }\n}\n", diags);
  const auto d = expectOneError(diags, "json-syntax", 4, 3);
  EXPECT_NE(d.message.find("invalid JSON"), std::string::npos) << d.message;
  EXPECT_FALSE(net.complete);
}

TEST(NetworkJson, TruncatedFileIsASyntaxError) {
  Diagnostics diags;
  parse("{\"A\": {\"children\": {", diags);
  EXPECT_EQ(withCategory(diags, "json-syntax").size(), 1u) << dump(diags);
  Diagnostics empty;
  parse("", empty);
  expectOneError(empty, "json-syntax", 1, 1);
}

TEST(NetworkJson, DuplicateNodeNameAnywhereNamesBothLocations) {
  Diagnostics diags;
  const auto net = parse(R"({
  "Tower": {
    "children": {
      "AP": {}
    }
  },
  "Other": {
    "children": { "AP": {} }
  }
})",
                         diags);
  const auto d = expectOneError(diags, "duplicate-node-name", 8, 19);
  EXPECT_NE(d.message.find("network.json:4:7"), std::string::npos) << d.message;
  EXPECT_EQ(d.value, "AP");
  EXPECT_EQ(net.find("AP"), 1);  // the first one keeps the name
  EXPECT_EQ(net.nodes.size(), 4u);
}

TEST(NetworkJson, BadRatesAreReportedAtTheValue) {
  Diagnostics diags;
  parse(R"({
  "A": { "downloadBandwidthMbps": -5, "uploadBandwidthMbps": 10 },
  "B": { "downloadBandwidthMbps": 10, "uploadBandwidthMbps": "fast" }
})",
        diags);
  const auto bad = withCategory(diags, "bad-node-rate");
  ASSERT_EQ(bad.size(), 2u) << dump(diags);
  EXPECT_EQ(bad[0].where.line, 2u);
  EXPECT_EQ(bad[0].where.column, 35u);
  EXPECT_EQ(bad[0].value, "-5");
  EXPECT_EQ(bad[1].where.line, 3u);
  EXPECT_EQ(bad[1].where.column, 62u);
  EXPECT_EQ(bad[1].value, "fast");
}

TEST(NetworkJson, FractionalAndIntegerRatesAreKept) {
  Diagnostics diags;
  const auto net =
      parse(R"({"A": {"downloadBandwidthMbps": 0.5, "uploadBandwidthMbps": 7}})", diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  ASSERT_EQ(net.nodes.size(), 1u);
  EXPECT_DOUBLE_EQ(net.nodes[0].downloadMbps, 0.5);
  EXPECT_DOUBLE_EQ(net.nodes[0].uploadMbps, 7);
}

TEST(NetworkJson, UnknownKeyIsAWarning) {
  Diagnostics diags;
  const auto net =
      parse("{\"A\": {\"colour\": {\"nested\": [1, {\"x\": 2}]}, \"type\": \"ap\"}}", diags);
  const auto found = withCategory(diags, "unknown-key");
  ASSERT_EQ(found.size(), 1u) << dump(diags);
  EXPECT_EQ(found[0].severity, Severity::Warning);
  EXPECT_EQ(found[0].where.column, 8u);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
  ASSERT_EQ(net.nodes.size(), 1u);
  EXPECT_EQ(net.nodes[0].type, "ap");  // keys after the skipped value still count
}

TEST(NetworkJson, KeysWrittenByLibreQoSIntegrationsAreQuietlyIgnored) {
  Diagnostics diags;
  const auto net = parse(
      R"({"T": {"name": "T", "uisp_site": "abc", "uisp_device": "def", "type": "site"}})", diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  EXPECT_EQ(net.nodes.at(0).type, "site");
}

TEST(NetworkJson, WrongTypesAreErrors) {
  Diagnostics diags;
  parse(R"({
  "A": { "virtual": "yes" },
  "B": 42,
  "C": { "children": [] },
  "D": { "type": 3 }
})",
        diags);
  const auto found = withCategory(diags, "wrong-type");
  ASSERT_EQ(found.size(), 4u) << dump(diags);
  EXPECT_EQ(found[0].where.line, 2u);
  EXPECT_EQ(found[0].where.column, 21u);
  EXPECT_EQ(found[1].where.line, 3u);
  EXPECT_EQ(found[1].where.column, 3u);
  EXPECT_EQ(found[2].where.line, 4u);
  EXPECT_EQ(found[3].where.line, 5u);
}

TEST(NetworkJson, RootMustBeAnObject) {
  Diagnostics diags;
  parse("[]", diags);
  expectOneError(diags, "wrong-type", 1, 1);
}

TEST(NetworkJson, NumericIdIsAcceptedAsText) {
  Diagnostics diags;
  const auto net = parse(R"({"A": {"id": 17}})", diags);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
  EXPECT_EQ(net.nodes.at(0).id, "17");
}

TEST(NetworkJson, DepthIsBounded) {
  std::string text;
  constexpr int kLevels = 200;
  for (int i = 0; i < kLevels; ++i) {
    text += "{\"n" + std::to_string(i) + "\": {\"children\": ";
  }
  text += "{}";
  for (int i = 0; i < kLevels; ++i) {
    text += "}}";
  }
  Diagnostics diags;
  const auto net = parse(text, diags);
  EXPECT_EQ(withCategory(diags, "too-deep").size(), 1u) << dump(diags);
  EXPECT_EQ(net.nodes.size(), 64u);
  EXPECT_EQ(withCategory(diags, "json-syntax").size(), 0u);
}

TEST(NetworkJson, ColumnsCountCharactersAndSkipEscapedQuotes) {
  Diagnostics diags;
  const auto net = parse("{\"\u00e9t\u00e9\": {}, \"a\\\"b\": {}, \"x\": {}, \"x\": {}}", diags);
  ASSERT_EQ(net.nodes.size(), 4u);
  EXPECT_EQ(net.nodes[0].name, "\u00e9t\u00e9");
  EXPECT_EQ(net.nodes[1].name, "a\"b");
  EXPECT_EQ(net.nodes[1].where.column, 13u);
  expectOneError(diags, "duplicate-node-name", 1, 34);
}

TEST(NetworkJson, Utf8BomIsSkipped) {
  Diagnostics diags;
  const auto net = parse("\xEF\xBB\xBF{\"A\": {}}", diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  ASSERT_EQ(net.nodes.size(), 1u);
  EXPECT_EQ(net.nodes[0].where.column, 2u);
}

TEST(NetworkJson, UnreadableFileNamesThePath) {
  Diagnostics diags;
  const auto net = loadNetworkJson("/nonexistent/network.json", diags);
  const auto found = withCategory(diags, "unreadable-file");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].where.file, "/nonexistent/network.json");
  EXPECT_FALSE(net.complete);
}

}  // namespace
}  // namespace sluice::model
