#pragma once
// Internal to the model readers: maps byte offsets of a UTF-8 text to 1-based line and column.
// Columns count code points (so "é" is one column), lines end at LF, CRLF or a lone CR.

#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::model {

struct LineColumn {
  uint32_t line = 0;
  uint32_t column = 0;
};

class TextIndex {
 public:
  explicit TextIndex(std::string_view text);

  /// Line and column of the byte at `offset` (offsets past the end map to the end of the text).
  /// Queries with increasing offsets on one line cost only the distance between them.
  LineColumn at(size_t offset) const;

 private:
  std::string_view text_;
  std::vector<size_t> lineStarts_;
  // Cache of the last answer: typical callers walk forward through the text.
  mutable size_t lastOffset_ = 0;
  mutable LineColumn last_{1, 1};
  mutable size_t lastLineEnd_ = 0;
};

}  // namespace sluice::model
