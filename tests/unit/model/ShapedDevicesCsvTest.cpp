#include "model/ShapedDevicesCsv.h"

#include <string>

#include <gtest/gtest.h>

#include "DiagMatchers.h"

namespace sluice::model {
namespace {

using test::dump;
using test::expectOneError;
using test::withCategory;

const std::string kHeader =
    "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min Mbps,"
    "Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment\n";
const std::string kHeaderSqm =
    "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min Mbps,"
    "Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment,sqm\n";

ShapedDevices parse(const std::string& text, Diagnostics& diags) {
  return parseShapedDevices(text, "ShapedDevices.csv", diags);
}

TEST(ShapedDevicesCsv, ReadsFixtureWithMultiDeviceCircuitCommentsAndQuotes) {
  Diagnostics diags;
  const std::string path = SLUICE_TEST_DATA_DIR "/model/ShapedDevices.csv";
  const auto shaped = loadShapedDevices(path, diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  ASSERT_EQ(shaped.circuits.size(), 3u);
  EXPECT_EQ(shaped.deviceCount(), 4u);
  EXPECT_EQ(shaped.addressCount(), 7u);

  const auto& c1 = shaped.circuits[0];
  EXPECT_EQ(c1.id, "c1");
  EXPECT_EQ(c1.name, "Smith, John");
  EXPECT_EQ(c1.parentNode, "AP_A");
  EXPECT_EQ(c1.where.toString(), path + ":3");
  EXPECT_DOUBLE_EQ(c1.downloadMinMbps, 25);
  EXPECT_DOUBLE_EQ(c1.uploadMinMbps, 5);
  EXPECT_DOUBLE_EQ(c1.downloadMaxMbps, 100);
  EXPECT_DOUBLE_EQ(c1.uploadMaxMbps, 20);
  ASSERT_EQ(c1.devices.size(), 2u);
  const auto& d1 = c1.devices[0];
  EXPECT_EQ(d1.mac, "00:11:22:33:44:55");
  ASSERT_EQ(d1.ipv4.size(), 2u);
  EXPECT_EQ(d1.ipv4[0].toString(), "100.64.0.1");
  EXPECT_EQ(d1.ipv4[1].toString(), "100.64.1.0/24");
  EXPECT_EQ(d1.addressWhere(false, 0).toString(), path + ":3:52");
  EXPECT_EQ(d1.addressWhere(false, 1).toString(), path + ":3:64");
  ASSERT_EQ(d1.ipv6.size(), 1u);
  EXPECT_EQ(d1.ipv6[0].toString(), "2001:db8::/64");
  EXPECT_EQ(d1.addressPositions.size(), 3u) << "IPv4's positions, then IPv6's";
  EXPECT_EQ(d1.addressWhere(true, 0).toString(), path + ":3:79");
  EXPECT_EQ(d1.addressWhere(true, 1).toString(), path + ":3") << "past the end: the row";
  EXPECT_EQ(c1.devices[1].name, "Phone");
  EXPECT_EQ(c1.devices[1].comment, "second device");
  EXPECT_EQ(c1.devices[1].where.line, 4u);

  const auto& c2 = shaped.circuits[1];
  EXPECT_EQ(c2.where.line, 6u);  // after a blank line
  EXPECT_DOUBLE_EQ(c2.downloadMinMbps, 10.5);
  EXPECT_DOUBLE_EQ(c2.downloadMaxMbps, 50.25);
  EXPECT_EQ(c2.devices[0].comment, "quoted \"comment\"");
  EXPECT_EQ(shaped.circuits[2].parentNode, "");
  EXPECT_EQ(shaped.byId.at("c3"), 2u);
}

TEST(ShapedDevicesCsv, MissingCircuitId) {
  Diagnostics diags;
  const auto shaped = parse(kHeader + ",N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n", diags);
  expectOneError(diags, "missing-circuit-id", 2, 1);
  EXPECT_TRUE(shaped.circuits.empty());
}

TEST(ShapedDevicesCsv, BadAddressInsideAQuotedList) {
  Diagnostics diags;
  const auto shaped =
      parse(kHeader + "c1,N,d1,D,AP,,\"10.0.0.1, 10.0.0.999\",,10,10,100,100,\n", diags);
  const auto d = expectOneError(diags, "bad-address", 2, 26);
  EXPECT_EQ(d.value, "10.0.0.999");
  ASSERT_EQ(shaped.circuits.size(), 1u);
  EXPECT_EQ(shaped.circuits[0].devices[0].ipv4.size(), 1u);
}

TEST(ShapedDevicesCsv, HostBitsSetInACidrIsABadAddress) {
  Diagnostics diags;
  parse(kHeader + "c1,N,d1,D,AP,,10.0.0.1/24,,10,10,100,100,\n", diags);
  const auto d = expectOneError(diags, "bad-address", 2, 15);
  EXPECT_NE(d.message.find("host bits"), std::string::npos) << d.message;
}

TEST(ShapedDevicesCsv, AddressInTheWrongColumn) {
  Diagnostics diags;
  parse(kHeader + "c1,N,d1,D,AP,,2001:db8::1,10.0.0.1,10,10,100,100,\n", diags);
  const auto found = withCategory(diags, "address-wrong-column");
  ASSERT_EQ(found.size(), 2u) << dump(diags);
  EXPECT_EQ(found[0].where.column, 15u);
  EXPECT_NE(found[0].message.find("IPv6 address in the IPv4 column"), std::string::npos);
  EXPECT_EQ(found[1].where.column, 27u);
  EXPECT_NE(found[1].message.find("IPv4 address in the IPv6 column"), std::string::npos);
}

TEST(ShapedDevicesCsv, BadRates) {
  Diagnostics diags;
  parse(kHeader + "c1,N,d1,D,AP,,10.0.0.1,,ten,0.001,100,100,\n", diags);
  const auto found = withCategory(diags, "bad-rate");
  ASSERT_EQ(found.size(), 2u) << dump(diags);
  EXPECT_EQ(found[0].where.line, 2u);
  EXPECT_EQ(found[0].where.column, 25u);
  EXPECT_EQ(found[0].value, "ten");
  EXPECT_EQ(found[1].where.column, 29u);
  EXPECT_EQ(found[1].value, "0.001");
}

TEST(ShapedDevicesCsv, MinGreaterThanMax) {
  Diagnostics diags;
  parse(kHeader + "c1,N,d1,D,AP,,10.0.0.1,,200,10,100,100,\n", diags);
  const auto d = expectOneError(diags, "min-greater-than-max", 2, 25);
  EXPECT_EQ(d.value, "200");
}

TEST(ShapedDevicesCsv, FieldCountNamesBothCountsAndNeverShifts) {
  Diagnostics diags;
  const auto shaped = parse(kHeader +
                                "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100\n"
                                "c2,N,d2,D,AP,,10.0.0.2,,10,10,100,100,\n",
                            diags);
  const auto d = expectOneError(diags, "field-count", 2, 0);
  EXPECT_NE(d.message.find("12"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("13"), std::string::npos) << d.message;
  EXPECT_EQ(diags.errorCount(), 1u) << dump(diags);
  ASSERT_EQ(shaped.circuits.size(), 1u);
  EXPECT_EQ(shaped.circuits[0].id, "c2");
  EXPECT_EQ(shaped.circuits[0].devices[0].ipv4.at(0).toString(), "10.0.0.2");
}

TEST(ShapedDevicesCsv, UnquotedCommaInACellIsAFieldCountErrorWithAHint) {
  // As in LibreQoS's own example file: a comment "Down=cake, Up=fq_codel" without quotes.
  Diagnostics diags;
  const auto shaped = parse(
      kHeaderSqm + "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,Down=cake, Up=fq_codel,cake/fq_codel\n",
      diags);
  const auto d = expectOneError(diags, "field-count", 2, 0);
  EXPECT_NE(d.message.find("15 fields but the header has 14"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("double quotes"), std::string::npos) << d.message;
  EXPECT_TRUE(shaped.circuits.empty());
}

TEST(ShapedDevicesCsv, UnknownSqmNamesTheToken) {
  Diagnostics diags;
  parse(kHeaderSqm + "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,,cake/foo\n", diags);
  const auto d = expectOneError(diags, "unknown-sqm", 2, 40);
  EXPECT_NE(d.message.find("'foo'"), std::string::npos) << d.message;
}

TEST(ShapedDevicesCsv, DirectionalSqm) {
  Diagnostics diags;
  const auto shaped = parse(kHeaderSqm +
                                "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,,cake/\n"
                                "c2,N,d2,D,AP,,10.0.0.2,,10,10,100,100,,/fq_codel\n"
                                "c3,N,d3,D,AP,,10.0.0.3,,10,10,100,100,,fq_codel\n"
                                "c4,N,d4,D,AP,,10.0.0.4,,10,10,100,100,, CAKE / None \n"
                                "c5,N,d5,D,AP,,10.0.0.5,,10,10,100,100,,\n",
                            diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  ASSERT_EQ(shaped.circuits.size(), 5u);
  auto sqm = [&](size_t i) {
    return std::pair(shaped.circuits[i].sqm.down, shaped.circuits[i].sqm.up);
  };
  EXPECT_EQ(sqm(0), std::pair(SqmKind::Cake, SqmKind::Default));
  EXPECT_EQ(sqm(1), std::pair(SqmKind::Default, SqmKind::FqCodel));
  EXPECT_EQ(sqm(2), std::pair(SqmKind::FqCodel, SqmKind::FqCodel));
  EXPECT_EQ(sqm(3), std::pair(SqmKind::Cake, SqmKind::None));
  EXPECT_EQ(sqm(4), std::pair(SqmKind::Default, SqmKind::Default));
}

TEST(ShapedDevicesCsv, ParentMismatchNamesTheFirstRow) {
  Diagnostics diags;
  parse(kHeader +
            "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n"
            "c1,N,d2,D,XY,,10.0.0.2,,10,10,100,100,\n",
        diags);
  const auto d = expectOneError(diags, "parent-mismatch", 3, 11);
  EXPECT_NE(d.message.find("ShapedDevices.csv:2"), std::string::npos) << d.message;
  EXPECT_EQ(d.value, "XY");
}

TEST(ShapedDevicesCsv, DifferentRatesInOneCircuitWarnAndKeepTheFirst) {
  Diagnostics diags;
  const auto shaped = parse(kHeader +
                                "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n"
                                "c1,N,d2,D,AP,,10.0.0.2,,20,10,100,100,\n",
                            diags);
  const auto found = withCategory(diags, "rate-mismatch");
  ASSERT_EQ(found.size(), 1u) << dump(diags);
  EXPECT_EQ(found[0].severity, Severity::Warning);
  EXPECT_EQ(found[0].where.line, 3u);
  EXPECT_FALSE(diags.hasErrors());
  ASSERT_EQ(shaped.circuits.size(), 1u);
  EXPECT_DOUBLE_EQ(shaped.circuits[0].downloadMinMbps, 10);
  EXPECT_EQ(shaped.circuits[0].devices.size(), 2u);
}

TEST(ShapedDevicesCsv, LegacyLayoutWithoutHeader) {
  Diagnostics diags;
  const auto shaped = loadShapedDevices(SLUICE_TEST_DATA_DIR "/model/legacy.csv", diags);
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
  ASSERT_EQ(shaped.circuits.size(), 2u);
  const auto& c1 = shaped.circuits[0];
  EXPECT_EQ(c1.name, "Legacy One");
  EXPECT_EQ(c1.parentNode, "AP_A");
  EXPECT_EQ(c1.devices[0].ipv4.at(0).toString(), "100.64.0.1");
  EXPECT_DOUBLE_EQ(c1.uploadMaxMbps, 10);
  EXPECT_EQ(c1.devices[0].comment, "no header");
  EXPECT_EQ(c1.where.line, 1u);
  const auto& c2 = shaped.circuits[1];
  EXPECT_EQ(c2.sqm.down, SqmKind::FqCodel);
  EXPECT_EQ(c2.sqm.up, SqmKind::Cake);
}

TEST(ShapedDevicesCsv, LegacyLayoutFieldCount) {
  Diagnostics diags;
  parse("c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100\n", diags);
  const auto d = expectOneError(diags, "field-count", 1, 0);
  EXPECT_NE(d.message.find("12"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("13"), std::string::npos) << d.message;
}

void expectEncodedFixture(const char* file, bool expectEncodingWarning) {
  SCOPED_TRACE(file);
  Diagnostics diags;
  const auto shaped = loadShapedDevices(std::string(SLUICE_TEST_DATA_DIR "/model/") + file, diags);
  ASSERT_EQ(shaped.circuits.size(), 2u) << dump(diags);
  EXPECT_EQ(shaped.circuits[0].name, "Caf\u00e9 \u00c9toile");
  EXPECT_EQ(shaped.circuits[1].name, "Zo\u00eb");
  EXPECT_TRUE(shaped.circuits[1].devices[0].ipv4.empty());
  // Columns count characters, so they do not depend on the encoding.
  const auto d = expectOneError(diags, "bad-address", 3, 21);
  EXPECT_EQ(d.value, "100.64.0.x");
  EXPECT_EQ(withCategory(diags, "encoding").size(), expectEncodingWarning ? 1u : 0u) << dump(diags);
}

TEST(ShapedDevicesCsv, Utf8WithBom) {
  expectEncodedFixture("utf8-bom.csv", false);
}
TEST(ShapedDevicesCsv, Utf16LittleEndian) {
  expectEncodedFixture("utf16le.csv", false);
}
TEST(ShapedDevicesCsv, Utf16BigEndian) {
  expectEncodedFixture("utf16be.csv", false);
}
TEST(ShapedDevicesCsv, Windows1252Fallback) {
  expectEncodedFixture("windows1252.csv", true);
}

TEST(ShapedDevicesCsv, CommentAndBlankLinesKeepLineNumbers) {
  Diagnostics diags;
  const auto shaped = parse("# exported by hand\n" + kHeader +
                                "\n"
                                "   \t\n"
                                "  # indented comment, with \"quotes\n"
                                "c1,N,d1,D,AP,,10.0.0.x,,10,10,100,100,\n",
                            diags);
  expectOneError(diags, "bad-address", 6, 15);
  EXPECT_EQ(shaped.circuits.size(), 1u);
}

TEST(ShapedDevicesCsv, QuotedCellWithLineBreakAndEscapedQuotes) {
  Diagnostics diags;
  const auto shaped =
      parse(kHeader + "c1,\"two\r\nlines \"\"q\"\"\",d1,D,AP,,10.0.0.x,,10,10,100,100,\r\n", diags);
  expectOneError(diags, "bad-address", 3, 23);
  ASSERT_EQ(shaped.circuits.size(), 1u);
  EXPECT_EQ(shaped.circuits[0].name, "two\r\nlines \"q\"");
  EXPECT_EQ(shaped.circuits[0].where.line, 2u);
}

TEST(ShapedDevicesCsv, UnterminatedQuoteIsASyntaxError) {
  Diagnostics diags;
  parse(kHeader + "c1,\"open,d1,D,AP,,10.0.0.1,,10,10,100,100,\n", diags);
  expectOneError(diags, "csv-syntax", 2, 4);
}

TEST(ShapedDevicesCsv, HeaderIsMatchedByNameIgnoringCaseAndSpaces) {
  Diagnostics diags;
  const auto shaped = parse(
      " ipv4 ,CIRCUIT ID,download min mbps,Upload_Min_Mbps,downloadmaxmbps,Upload Max Mbps,"
      "Parent Node,Parent Node ID,Anchor Node ID,Notes\n"
      "10.0.0.1,c1,1,2,3,4,AP,ap-7,anchor-9,ignored\n",
      diags);
  const auto unknown = withCategory(diags, "unknown-column");
  ASSERT_EQ(unknown.size(), 1u) << dump(diags);
  EXPECT_EQ(unknown[0].severity, Severity::Warning);
  EXPECT_EQ(unknown[0].where.column, 127u);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
  ASSERT_EQ(shaped.circuits.size(), 1u);
  const auto& c = shaped.circuits[0];
  EXPECT_EQ(c.id, "c1");
  EXPECT_EQ(c.devices[0].ipv4.at(0).toString(), "10.0.0.1");
  EXPECT_DOUBLE_EQ(c.downloadMinMbps, 1);
  EXPECT_DOUBLE_EQ(c.uploadMinMbps, 2);
  EXPECT_DOUBLE_EQ(c.downloadMaxMbps, 3);
  EXPECT_DOUBLE_EQ(c.uploadMaxMbps, 4);
  EXPECT_EQ(c.parentNodeId, "ap-7");
  EXPECT_EQ(c.anchorNodeId, "anchor-9");
}

TEST(ShapedDevicesCsv, HeaderMissingARequiredColumn) {
  Diagnostics diags;
  parse("Circuit ID,IPv4,Download Min Mbps,Upload Min Mbps,Upload Max Mbps\n", diags);
  const auto d = expectOneError(diags, "missing-column", 1, 0);
  EXPECT_NE(d.message.find("Download Max Mbps"), std::string::npos) << d.message;
}

TEST(ShapedDevicesCsv, HeaderWithoutCircuitIdReportsOnceNotPerRow) {
  Diagnostics diags;
  const auto shaped = parse(
      "Circuit,IPv4,Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps\n"
      "c1,10.0.0.1,1,1,2,2\nc2,10.0.0.2,1,1,2,2\n",
      diags);
  expectOneError(diags, "missing-column", 1, 0);
  EXPECT_EQ(diags.errorCount(), 1u) << dump(diags);
  EXPECT_TRUE(shaped.circuits.empty());
}

TEST(ShapedDevicesCsv, RowOfEmptyFieldsIsSkippedWithAWarning) {
  Diagnostics diags;
  const auto shaped =
      parse(kHeader + "c1,N,d1,D,AP,,10.0.0.1,,10,10,100,100,\n,,,,,, ,,,,,,\n", diags);
  const auto found = withCategory(diags, "empty-row");
  ASSERT_EQ(found.size(), 1u) << dump(diags);
  EXPECT_EQ(found[0].severity, Severity::Warning);
  EXPECT_EQ(found[0].where.line, 3u);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
  EXPECT_EQ(shaped.circuits.size(), 1u);
}

TEST(ShapedDevicesCsv, EmptyFileHasNoCircuits) {
  Diagnostics diags;
  EXPECT_TRUE(parse("", diags).circuits.empty());
  EXPECT_TRUE(parse(kHeader, diags).circuits.empty());
  EXPECT_TRUE(diags.all().empty()) << dump(diags);
}

// Memory (issue 5): the parsed model has no spare capacity, also when a circuit's rows are
// scattered over the file or a row is skipped, and every location of the file shares one copy of
// the path while still naming it.
TEST(ShapedDevicesCsv, CircuitsAndDevicesAreSizedExactlyAndShareTheFileName) {
  Diagnostics diags;
  const std::string path = "/var/lib/sluice/inputs/ShapedDevices.csv";  // beyond inline capacity
  const auto shaped = parseShapedDevices(
      kHeader +
          "1,One,1a,Router,,,10.0.0.1,,1,1,10,10,\n"
          "1,One,1b,TV,,,10.0.0.2,2001:db8::/64,1,1,10,10,\n"
          "2,Two,2a,Router,,,10.0.0.3,,1,1,10,10,\n"
          ",NoId,xa,Router,,,10.0.0.9,,1,1,10,10,\n"
          "1,One,1c,Phone,,,10.0.0.4,,1,1,10,10,\n"
          "3,Three,3a,Router,,,10.0.0.5,,1,1,10,10,\n",
      path, diags);
  EXPECT_EQ(diags.errorCount(), 1u) << dump(diags);  // the row without a Circuit ID
  ASSERT_EQ(shaped.circuits.size(), 3u);
  EXPECT_EQ(shaped.circuits.capacity(), 3u);
  const auto& one = shaped.circuits[0];
  ASSERT_EQ(one.devices.size(), 3u);
  EXPECT_EQ(one.devices.capacity(), 3u);
  EXPECT_EQ(shaped.circuits[1].devices.capacity(), 1u);
  EXPECT_EQ(one.devices[2].id, "1c");

  const auto& tv = one.devices[1];
  ASSERT_EQ(tv.ipv6.size(), 1u);
  EXPECT_EQ(tv.addressWhere(true, 0).toString(), path + ":3:24");
  EXPECT_EQ(tv.addressWhere(true, 0).file, path);
  EXPECT_EQ(tv.where.file, one.where.file);
  // One heap copy of the path for the whole file.
  EXPECT_EQ(tv.addressWhere(true, 0).file.c_str(), one.where.file.c_str());
  EXPECT_EQ(one.parentWhere.file.c_str(), shaped.circuits[2].where.file.c_str());
  EXPECT_EQ(diags.errors()[0].where.toString(), path + ":5:1");
}

TEST(SourceFile, ComparesAndPrintsAsItsPath) {
  const SourceFile empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.str(), "");
  EXPECT_TRUE(SourceFile(std::string()).empty());
  const SourceFile a("a.csv");
  const SourceFile copy = a;
  EXPECT_EQ(copy.c_str(), a.c_str());
  EXPECT_EQ(a, SourceFile(std::string("a.csv")));  // equal text, separate copies
  EXPECT_EQ(a, "a.csv");
  EXPECT_EQ(a, std::string("a.csv"));
  EXPECT_NE(a, "b.csv");
  EXPECT_NE(a, empty);
  const std::string& asString = a;
  EXPECT_EQ(asString, "a.csv");
  EXPECT_EQ((SourceLocation{"a.csv", 4, 2}.toString()), "a.csv:4:2");
  EXPECT_EQ((SourceLocation{"a.csv", 4, 0}.toString()), "a.csv:4");
  EXPECT_EQ((SourceLocation{"a.csv"}.toString()), "a.csv");
}

}  // namespace
}  // namespace sluice::model
