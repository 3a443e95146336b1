// The lexical pre-pass that keeps input toml++ 3.3 mis-handles away from it (TomlPrecheck.h),
// exercised through parseConfig so the whole path is covered.

#include <gtest/gtest.h>

#include <string>

#include "ConfigTestUtil.h"

namespace sluice::config {
namespace {

using testing::expectOne;
using testing::parse;

TEST(TomlPrecheck, ControlCharacterIsSyntaxError) {
  Diagnostics diags;
  EXPECT_FALSE(parse("[bridge]\nto_internet = \"et\x01h0\"\n", diags));
  Diagnostic d = expectOne(diags, "toml-syntax", 2, 18);
  EXPECT_NE(d.message.find("U+0001"), std::string::npos) << d.message;
}

TEST(TomlPrecheck, LoneCarriageReturnIsSyntaxError) {
  Diagnostics diags;
  EXPECT_FALSE(parse("[bridge]\rto_internet = \"eth0\"\n", diags));
  expectOne(diags, "toml-syntax", 1, 9);
}

TEST(TomlPrecheck, CrLfLineEndingsAreFine) {
  Diagnostics diags;
  auto config = parse("[bridge]\r\nto_internet = \"eth7\"\r\n", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(config->bridge->toInternet, "eth7");
}

TEST(TomlPrecheck, InvalidUtf8IsSyntaxError) {
  Diagnostics diags;
  EXPECT_FALSE(parse("node_name = \"caf\xC3\"\n[bridge]\n", diags));
  Diagnostic d = expectOne(diags, "toml-syntax", 1, 17);
  EXPECT_NE(d.message.find("UTF-8"), std::string::npos);
}

TEST(TomlPrecheck, SurrogateEncodingIsInvalidUtf8) {
  Diagnostics diags;
  EXPECT_FALSE(parse("# \xED\xA0\x80\n[bridge]\n", diags));
  expectOne(diags, "toml-syntax", 1, 3);
}

TEST(TomlPrecheck, NonAsciiBareKeyIsSyntaxError) {
  Diagnostics diags;
  EXPECT_FALSE(parse("[bridge]\n\xC3\xA9t\xC3\xA9 = 1\n", diags));
  expectOne(diags, "toml-syntax", 2, 1);
}

TEST(TomlPrecheck, NonAsciiInHeaderIsSyntaxError) {
  Diagnostics diags;
  EXPECT_FALSE(parse("[\xC3\xA9]\n", diags));
  expectOne(diags, "toml-syntax", 1, 2);
}

TEST(TomlPrecheck, BadHeaderKeyStartIsSyntaxError) {
  Diagnostics diags;
  EXPECT_FALSE(parse("[bridge]\n[[ ?x]]\n", diags));
  Diagnostic d = expectOne(diags, "toml-syntax", 2, 4);
  EXPECT_NE(d.message.find("'?'"), std::string::npos) << d.message;
}

TEST(TomlPrecheck, NestedArraysAtLineStartAreNotHeaders) {
  Diagnostics diags;
  auto config = parse(
      "[bridge]\n[uisp_integration]\nexception_cpes = [\n"
      "[ ],\n{ cpe = \"a\", parent = \"b\" },\n]\n",
      diags);
  ASSERT_TRUE(config) << testing::dump(diags);
}

TEST(TomlPrecheck, NonAsciiInStringsAndCommentsIsFine) {
  Diagnostics diags;
  auto config = parse(
      "# caf\xC3\xA9 \xE2\x9C\x93\nnode_name = \"Z\xC3\xBCrich\"\n"
      "[bridge] # \xC2\xA7\n[influxdb]\norg = '''\xC3\xA9'''\n"
      "bucket = \"\"\"a\\\"\xC3\xA9\"\"\"\"\n",
      diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(config->nodeName, "Z\xC3\xBCrich");
  EXPECT_EQ(config->otherSections.at("influxdb").at("bucket"), "\"a\\\"\xC3\xA9\\\"\"");
}

TEST(TomlPrecheck, NonAsciiAfterLineEndingBackslashIsRefused) {
  Diagnostics diags;
  EXPECT_FALSE(parse("[bridge]\n[influxdb]\norg = \"\"\"\\\n   \xC2\xA7\"\"\"\n", diags));
  expectOne(diags, "toml-unsupported", 4, 4);
}

TEST(TomlPrecheck, AsciiAfterLineEndingBackslashIsFine) {
  Diagnostics diags;
  auto config = parse("[bridge]\n[influxdb]\norg = \"\"\"\\\n   ok \xC2\xA7\"\"\"\n", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(config->otherSections.at("influxdb").at("org"), "\"ok \xC2\xA7\"");
}

TEST(TomlPrecheck, NonAsciiInsideABareValueIsSyntaxError) {
  // toml++ scans a bare value up to a terminator, quotes included; the pre-pass does the same.
  Diagnostics diags;
  EXPECT_FALSE(parse("[bridge]\n[queues]\nlazy_expire_seconds = 24\"a\xCC\xA3\"\n", diags));
  expectOne(diags, "toml-syntax", 3, 27);
}

TEST(TomlPrecheck, DottedAndQuotedKeysAndInlineTablesAreFine) {
  Diagnostics diags;
  auto config = parse(
      "treeguard.cpu.\"mode\" = \"cpu_aware\"\n[bridge]\n[uisp_integration]\n"
      "exception_cpes = [{ cpe = \"\xC3\xA9\", parent = 'x' }, { \"cpe\" = \"y\", "
      "parent = \"\xC2\xA7\" }]\n",
      diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(diags.all().size(), 0u) << testing::dump(diags);
  EXPECT_EQ(config->otherSections.at("treeguard").at("cpu.mode"), "\"cpu_aware\"");
}

}  // namespace
}  // namespace sluice::config
