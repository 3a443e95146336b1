#pragma once
// Internal to the model readers: an RFC 4180 CSV tokenizer that remembers where every field came
// from. Accepts LF, CRLF and lone CR line ends, quoted fields with "" escapes and embedded line
// breaks, blank lines and '#' comment lines (skipped), and white space before an opening quote.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::model {

struct CsvField {
  std::string value;  ///< unescaped content
  size_t offset = 0;  ///< byte offset in the text of the content's first character
  bool quoted = false;
  bool escaped = false;  ///< the value holds a '"' written as "" (offsets past it shift)

  /// Byte offset in the text of byte `i` of `value` (accounts for "" escapes in quoted fields).
  size_t sourceOffset(size_t i) const;
};

struct CsvRecord {
  std::vector<CsvField> fields;
  size_t offset = 0;  ///< byte offset of the record's first character
};

/// A problem in the CSV syntax itself (an unterminated quote, text after a closing quote).
struct CsvProblem {
  size_t offset = 0;
  bool isError = true;
  std::string message;
};

struct CsvDocument {
  std::vector<CsvRecord> records;
  std::vector<CsvProblem> problems;
};

/// Splits `text` (UTF-8) into records and fields.
CsvDocument readCsv(std::string_view text);

/// The same records as readCsv(), one at a time, without keeping them: `onRecord` gets each
/// record in file order (valid only during the call; the next record reuses it). Syntax problems
/// are appended to `problems` as found. Memory: one record, whatever the file's size (a
/// 200k-row ShapedDevices.csv held as a CsvDocument takes ~170 MB).
void forEachCsvRecord(std::string_view text, std::vector<CsvProblem>& problems,
                      const std::function<void(const CsvRecord&)>& onRecord);

}  // namespace sluice::model
