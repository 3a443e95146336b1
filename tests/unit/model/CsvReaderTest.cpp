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

TEST(CsvReader, StreamingGivesTheSameRecordsOneAtATime) {
  // A wide quoted record, then narrower ones: the reused record must not keep stale fields,
  // flags or offsets.
  const std::string text =
      "\"x \"\"q\"\"\",\"multi\nline\",c,d\n# comment\n\ne,f\n g ,\"h\"tail\n\"open";
  const auto doc = readCsv(text);
  std::vector<CsvProblem> problems;
  size_t n = 0;
  forEachCsvRecord(text, problems, [&](const CsvRecord& r) {
    ASSERT_LT(n, doc.records.size());
    const auto& want = doc.records[n++];
    EXPECT_EQ(r.offset, want.offset);
    EXPECT_EQ(values(r), values(want));
    ASSERT_EQ(r.fields.size(), want.fields.size());
    for (size_t i = 0; i < r.fields.size(); ++i) {
      EXPECT_EQ(r.fields[i].offset, want.fields[i].offset) << "record " << n << " field " << i;
      EXPECT_EQ(r.fields[i].quoted, want.fields[i].quoted);
      EXPECT_EQ(r.fields[i].escaped, want.fields[i].escaped);
    }
  });
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(n, doc.records.size());
  ASSERT_EQ(problems.size(), doc.problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    EXPECT_EQ(problems[i].offset, doc.problems[i].offset);
    EXPECT_EQ(problems[i].message, doc.problems[i].message);
  }
  EXPECT_EQ(values(doc.records[1]), (std::vector<std::string>{"e", "f"}));
  EXPECT_FALSE(doc.records[2].fields[1].escaped);
}

}  // namespace
}  // namespace sluice::model
