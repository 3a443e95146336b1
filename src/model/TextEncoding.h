#pragma once
// Internal to the model readers: turning an operator's file bytes into UTF-8. Spreadsheet programs
// save CSV as UTF-8 with a BOM, as UTF-16 (Excel's "Unicode text") or in the Windows code page, so
// all of these are accepted without an iconv dependency.

#include <string>
#include <string_view>

namespace sluice::model {

enum class SourceEncoding { Utf8, Utf8Bom, Utf16Le, Utf16Be, Windows1252 };

struct DecodedText {
  /// The text converted (UTF-16, Windows-1252). Empty when the input was valid UTF-8: that is
  /// not copied (a 100k-circuit ShapedDevices.csv is ~30 MB) and text() views the input.
  std::string utf8;
  /// Valid UTF-8 input without its BOM (a view of the input bytes); unused otherwise.
  std::string_view borrowed;
  /// The UTF-8 text: valid as long as this object and (for UTF-8 input, which is borrowed) the
  /// input bytes are.
  std::string_view text() const {
    return encoding == SourceEncoding::Utf8 || encoding == SourceEncoding::Utf8Bom
               ? borrowed
               : std::string_view(utf8);
  }
  SourceEncoding encoding = SourceEncoding::Utf8;
  /// Byte offset in the input (BOM included) of the first byte that made the input invalid UTF-8,
  /// for the Windows-1252 fallback; of the first unpaired surrogate or odd trailing byte for
  /// UTF-16; npos when there was no problem.
  size_t firstProblem = std::string::npos;
};

/// Detects the encoding by BOM (UTF-8, UTF-16 LE/BE); without a BOM, text starting with two
/// ASCII characters in UTF-16 (a zero byte beside each) is UTF-16, valid UTF-8 stays as it is and
/// anything else is read as Windows-1252. The BOM is not part of the result. Ill-formed UTF-16
/// (unpaired surrogate, odd length) becomes U+FFFD and is reported through `firstProblem`.
DecodedText decodeToUtf8(std::string_view bytes);

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above
/// U+10FFFF); otherwise `badOffset` gets the offset of the first offending byte.
bool isValidUtf8(std::string_view text, size_t& badOffset);

/// Name of the encoding for messages ("UTF-16 LE").
const char* encodingName(SourceEncoding encoding);

}  // namespace sluice::model
