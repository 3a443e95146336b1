#include "model/CellParsers.h"

#include <gtest/gtest.h>

namespace sluice::model {
namespace {

TEST(CellParsers, Decimal) {
  EXPECT_EQ(parseDecimal("10"), 10.0);
  EXPECT_EQ(parseDecimal("2.5"), 2.5);
  EXPECT_EQ(parseDecimal("1e3"), 1000.0);
  EXPECT_FALSE(parseDecimal(""));
  EXPECT_FALSE(parseDecimal("10 Mbps"));
  EXPECT_FALSE(parseDecimal("nan"));
  EXPECT_FALSE(parseDecimal("inf"));
  EXPECT_FALSE(parseDecimal("1,5"));
}

TEST(CellParsers, SqmCell) {
  auto kinds = [](std::string_view cell) {
    const auto s = parseSqmCell(cell);
    EXPECT_TRUE(s.value) << cell;
    return s.value ? std::pair(s.value->down, s.value->up)
                   : std::pair(SqmKind::Default, SqmKind::Default);
  };
  EXPECT_EQ(kinds(""), std::pair(SqmKind::Default, SqmKind::Default));
  EXPECT_EQ(kinds("Fq_Codel"), std::pair(SqmKind::FqCodel, SqmKind::FqCodel));
  EXPECT_EQ(kinds("none/cake"), std::pair(SqmKind::None, SqmKind::Cake));
  EXPECT_EQ(kinds(" / none"), std::pair(SqmKind::Default, SqmKind::None));
  EXPECT_EQ(parseSqmCell("cake diffserv4").badToken, "cake diffserv4");
  EXPECT_EQ(parseSqmCell("fq_codel/pie").badToken, "pie");
  EXPECT_EQ(parseSqmCell("cake/cake/cake").badToken, "cake/cake");
}

TEST(CellParsers, BadAddressDiagnosis) {
  auto category = [](std::string_view token, bool wantV4) {
    return std::string(diagnoseBadAddress(token, wantV4).category);
  };
  EXPECT_EQ(category("10.0.0.1/24", true), "bad-address");
  EXPECT_NE(diagnoseBadAddress("10.0.0.1/24", true).message.find("host bits"), std::string::npos);
  EXPECT_NE(diagnoseBadAddress("10.0.0.0/33", true).message.find("0..32"), std::string::npos);
  EXPECT_EQ(category("2001:db8::1/32", false), "bad-address");
  EXPECT_EQ(category("2001:db8::1", true), "address-wrong-column");
  EXPECT_EQ(category("10.0.0.1/32", false), "address-wrong-column");
  EXPECT_EQ(category("::ffff:10.0.0.1", false), "address-wrong-column");
  EXPECT_EQ(category("10.0.0", true), "bad-address");
  EXPECT_EQ(category("hello", false), "bad-address");
}

TEST(CellParsers, TrimAndLower) {
  EXPECT_EQ(trimBlanks(" \ta b\t "), "a b");
  EXPECT_EQ(trimBlanks("  "), "");
  EXPECT_EQ(lowerAscii("AbC\xC3\x89"), "abc\xC3\x89");
}

}  // namespace
}  // namespace sluice::model
