#include "model/CsvReader.h"

#include <algorithm>
#include <utility>

namespace sluice::model {

namespace {

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}
bool isLineEnd(char c) {
  return c == '\n' || c == '\r';
}

class Tokenizer {
 public:
  Tokenizer(std::string_view text, std::vector<CsvProblem>& problems)
      : text_(text), problems_(problems) {}

  /// Calls `onRecord` for each record, in order. The record passed is reused for the next one
  /// (its fields keep their capacity): no allocation per record once the widest one was seen.
  template <typename Fn>
  void run(Fn&& onRecord) {
    while (i_ < text_.size()) {
      if (skipBlankOrCommentLine()) {
        continue;
      }
      readRecord();
      onRecord(static_cast<const CsvRecord&>(record_));
    }
  }

 private:
  bool atEnd() const { return i_ >= text_.size(); }

  void skipLineEnd() {
    if (i_ < text_.size() && text_[i_] == '\r') {
      ++i_;
    }
    if (i_ < text_.size() && text_[i_] == '\n') {
      ++i_;
    }
  }

  /// At the start of a line: skips it when it is blank or starts (after blanks) with '#'.
  bool skipBlankOrCommentLine() {
    size_t j = i_;
    while (j < text_.size() && isBlank(text_[j])) {
      ++j;
    }
    if (j < text_.size() && text_[j] == '#') {
      while (j < text_.size() && !isLineEnd(text_[j])) {
        ++j;
      }
    } else if (j < text_.size() && !isLineEnd(text_[j])) {
      return false;
    }
    i_ = j;
    skipLineEnd();
    return true;
  }

  void readRecord() {
    record_.offset = i_;
    size_t used = 0;
    while (true) {
      if (used == record_.fields.size()) {
        record_.fields.emplace_back();
      }
      readField(record_.fields[used++]);
      if (!atEnd() && text_[i_] == ',') {
        ++i_;
        continue;
      }
      skipLineEnd();
      break;
    }
    record_.fields.resize(used);
  }

  /// Reads one field into `field` (reused: its value keeps its capacity).
  void readField(CsvField& field) {
    field.value.clear();
    field.quoted = false;
    field.escaped = false;
    size_t j = i_;
    while (j < text_.size() && isBlank(text_[j])) {
      ++j;
    }
    if (j < text_.size() && text_[j] == '"') {
      i_ = j;
      readQuoted(field);
      return;
    }
    field.offset = i_;
    const size_t start = i_;
    while (!atEnd() && text_[i_] != ',' && !isLineEnd(text_[i_])) {
      ++i_;
    }
    field.value.assign(text_.substr(start, i_ - start));
  }

  void readQuoted(CsvField& field) {
    const size_t open = i_;
    ++i_;
    field.quoted = true;
    field.offset = i_;
    while (true) {
      if (atEnd()) {
        problems_.push_back(
            CsvProblem{open, true, "quoted field is not closed before the end of the file"});
        return;
      }
      const char c = text_[i_];
      if (c == '"') {
        if (i_ + 1 < text_.size() && text_[i_ + 1] == '"') {
          field.value.push_back('"');
          field.escaped = true;
          i_ += 2;
          continue;
        }
        ++i_;
        break;
      }
      // Copy a run of ordinary characters at once.
      const size_t runEnd = std::min(text_.find('"', i_), text_.size());
      field.value.append(text_.substr(i_, runEnd - i_));
      i_ = runEnd;
    }
    // After the closing quote only blanks may come before the next ',' or line end.
    const size_t after = i_;
    while (!atEnd() && text_[i_] != ',' && !isLineEnd(text_[i_])) {
      ++i_;
    }
    const auto trailing = text_.substr(after, i_ - after);
    if (trailing.find_first_not_of(" \t") != std::string_view::npos) {
      problems_.push_back(
          CsvProblem{after, false,
                     "text after a closing quote is appended to the field; quote the whole "
                     "field instead"});
      field.value.append(trailing);
    }
  }

  std::string_view text_;
  std::vector<CsvProblem>& problems_;
  size_t i_ = 0;
  CsvRecord record_;
};

}  // namespace

size_t CsvField::sourceOffset(size_t i) const {
  if (!escaped) {
    return offset + i;
  }
  // Each '"' in a quoted value was written as two characters.
  const auto quotes = std::count(value.begin(), value.begin() + std::min(i, value.size()), '"');
  return offset + i + static_cast<size_t>(quotes);
}

CsvDocument readCsv(std::string_view text) {
  CsvDocument doc;
  Tokenizer(text, doc.problems).run([&](const CsvRecord& r) { doc.records.push_back(r); });
  return doc;
}

void forEachCsvRecord(std::string_view text, std::vector<CsvProblem>& problems,
                      const std::function<void(const CsvRecord&)>& onRecord) {
  Tokenizer(text, problems).run(onRecord);
}

}  // namespace sluice::model
