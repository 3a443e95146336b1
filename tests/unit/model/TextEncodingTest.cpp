#include "model/TextEncoding.h"

#include <gtest/gtest.h>

namespace sluice::model {
namespace {

TEST(TextEncoding, PlainUtf8IsKept) {
  const auto d = decodeToUtf8("caf\xC3\xA9");
  EXPECT_EQ(d.encoding, SourceEncoding::Utf8);
  EXPECT_EQ(d.text(), "caf\xC3\xA9");
  EXPECT_EQ(d.firstProblem, std::string::npos);
}

TEST(TextEncoding, Utf8BomIsRemoved) {
  const auto d = decodeToUtf8("\xEF\xBB\xBFx");
  EXPECT_EQ(d.encoding, SourceEncoding::Utf8Bom);
  EXPECT_EQ(d.text(), "x");
  // Not UTF-8 after the BOM after all: the offset still counts the BOM.
  const auto w = decodeToUtf8("\xEF\xBB\xBFx\xE9");
  EXPECT_EQ(w.encoding, SourceEncoding::Windows1252);
  EXPECT_EQ(w.firstProblem, 4u);
  EXPECT_EQ(w.text(), "x\xC3\xA9");
}

TEST(TextEncoding, Utf16SurrogatePairsAndUnpairedSurrogates) {
  // U+1F600 as a surrogate pair, then a lone high surrogate followed by 'a'.
  const std::string le("\xFF\xFE\x3D\xD8\x00\xDE\x3D\xD8\x61\x00", 10);
  const auto d = decodeToUtf8(le);
  EXPECT_EQ(d.encoding, SourceEncoding::Utf16Le);
  EXPECT_EQ(d.text(),
            "\xF0\x9F\x98\x80\xEF\xBF\xBD"
            "a");
  EXPECT_EQ(d.firstProblem, 6u);
  const std::string be("\xFE\xFF\x00\xE9\x00", 5);  // odd length
  const auto b = decodeToUtf8(be);
  EXPECT_EQ(b.encoding, SourceEncoding::Utf16Be);
  EXPECT_EQ(b.text(), "\xC3\xA9");
  EXPECT_EQ(b.firstProblem, 4u);
}

TEST(TextEncoding, Utf16WithoutBomIsRecognised) {
  const std::string le("a\0,\0b\0", 6);
  EXPECT_EQ(decodeToUtf8(le).encoding, SourceEncoding::Utf16Le);
  EXPECT_EQ(decodeToUtf8(le).text(), "a,b");
  const std::string be("\0a\0,\0b", 6);
  EXPECT_EQ(decodeToUtf8(be).encoding, SourceEncoding::Utf16Be);
  EXPECT_EQ(decodeToUtf8(be).text(), "a,b");
}

TEST(TextEncoding, InvalidUtf8FallsBackToWindows1252) {
  const auto d = decodeToUtf8("Caf\xE9 \x80 \x93q\x94 \x81");
  EXPECT_EQ(d.encoding, SourceEncoding::Windows1252);
  EXPECT_EQ(d.firstProblem, 3u);
  EXPECT_EQ(d.text(), "Caf\xC3\xA9 \xE2\x82\xAC \xE2\x80\x9Cq\xE2\x80\x9D \xC2\x81");
}

TEST(TextEncoding, Utf8ValidationRejectsOverlongSurrogatesAndTruncation) {
  size_t bad = 0;
  EXPECT_FALSE(isValidUtf8("a\xC0\x80", bad));
  EXPECT_EQ(bad, 1u);
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80", bad));
  EXPECT_FALSE(isValidUtf8("ab\xE2\x82", bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80", bad));  // above U+10FFFF
  EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF \xE2\x82\xAC", bad));
}

}  // namespace
}  // namespace sluice::model
