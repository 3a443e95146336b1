#include "model/TextIndex.h"

#include <algorithm>

namespace sluice::model {

namespace {

bool isContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

TextIndex::TextIndex(std::string_view text) : text_(text) {
  lineStarts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      lineStarts_.push_back(i + 1);
    } else if (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) {
      lineStarts_.push_back(i + 1);
    }
  }
  lastLineEnd_ = lineStarts_.size() > 1 ? lineStarts_[1] : text.size() + 1;
}

LineColumn TextIndex::at(size_t offset) const {
  offset = std::min(offset, text_.size());
  size_t from = 0;
  LineColumn result;
  if (offset >= lastOffset_ && offset < lastLineEnd_) {
    from = lastOffset_;
    result = last_;
  } else {
    const auto it = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset);
    const auto lineIndex = static_cast<size_t>(it - lineStarts_.begin()) - 1;
    from = lineStarts_[lineIndex];
    result = LineColumn{static_cast<uint32_t>(lineIndex + 1), 1};
    lastLineEnd_ =
        lineIndex + 1 < lineStarts_.size() ? lineStarts_[lineIndex + 1] : text_.size() + 1;
  }
  for (size_t i = from; i < offset; ++i) {
    if (!isContinuationByte(text_[i])) {
      ++result.column;
    }
  }
  lastOffset_ = offset;
  last_ = result;
  return result;
}

}  // namespace sluice::model
