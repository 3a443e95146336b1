#include "model/CsvReader.h"

#include <gtest/gtest.h>

namespace sluice::model {
namespace {

std::vector<std::string> values(const CsvRecord& r) {
  std::vector<std::string> out;
  for (const auto& f : r.fields) {
    out.push_back(f.value);
  }
  return out;
}

TEST(CsvReader, LineEndingsAndEmptyFields) {
  const auto doc = readCsv("a,b\r\nc,\rd,,e\n,\n");
  ASSERT_EQ(doc.records.size(), 4u);
  EXPECT_EQ(values(doc.records[0]), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(values(doc.records[1]), (std::vector<std::string>{"c", ""}));
  EXPECT_EQ(values(doc.records[2]), (std::vector<std::string>{"d", "", "e"}));
  EXPECT_EQ(values(doc.records[3]), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(doc.records[2].offset, 8u);
  EXPECT_TRUE(doc.problems.empty());
}

TEST(CsvReader, QuotedFieldsKeepCommasQuotesAndLineBreaks) {
  const std::string text = "x, \"a,\"\"b\"\"\nc\" ,y\n";
  const auto doc = readCsv(text);
  ASSERT_EQ(doc.records.size(), 1u);
  const auto& f = doc.records[0].fields[1];
  EXPECT_EQ(f.value, "a,\"b\"\nc");
  EXPECT_TRUE(f.quoted);
  EXPECT_EQ(f.offset, 4u);
  // 'c' is value byte 6 and sits at text offset 12 (two escaped quotes add one byte each).
  EXPECT_EQ(text[f.sourceOffset(6)], 'c');
  EXPECT_EQ(f.sourceOffset(6), 12u);
  EXPECT_EQ(doc.records[0].fields[2].value, "y");
  EXPECT_TRUE(doc.problems.empty());
}

TEST(CsvReader, SkipsCommentAndBlankLines) {
  const auto doc = readCsv("#c,d\n\n  \n a,b\n  #x\n");
  ASSERT_EQ(doc.records.size(), 1u);
  EXPECT_EQ(values(doc.records[0]), (std::vector<std::string>{" a", "b"}));
}

TEST(CsvReader, ReportsUnterminatedQuoteAndTrailingText) {
  const auto doc = readCsv("\"ab\"cd,e\n\"open");
  ASSERT_EQ(doc.problems.size(), 2u);
  EXPECT_FALSE(doc.problems[0].isError);
  EXPECT_EQ(doc.problems[0].offset, 4u);
  EXPECT_EQ(doc.records[0].fields[0].value, "abcd");
  EXPECT_TRUE(doc.problems[1].isError);
  EXPECT_EQ(doc.problems[1].offset, 9u);
}

}  // namespace
}  // namespace sluice::model
