#include "config/TomlPrecheck.h"

#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace sluice::config::detail {
namespace {

bool isContinuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

/// Length of the valid UTF-8 sequence at `i`, or 0 (RFC 3629: no overlongs, no surrogates,
/// nothing above U+10FFFF).
size_t utf8Length(std::string_view text, size_t i) {
  auto at = [&](size_t k) -> unsigned char {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  unsigned char c = at(0);
  if (c < 0x80) {
    return 1;
  }
  size_t length = c >= 0xC2 && c <= 0xDF   ? 2
                  : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xF0 && c <= 0xF4 ? 4
                                           : 0;
  if (length == 0) {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if (!isContinuation(at(k))) {
      return 0;
    }
  }
  unsigned char second = at(1);
  if ((c == 0xE0 && second < 0xA0) || (c == 0xED && second > 0x9F) ||
      (c == 0xF0 && second < 0x90) || (c == 0xF4 && second > 0x8F)) {
    return 0;
  }
  return length;
}

bool isBareKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string describe(std::string_view text, size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c >= 0x20 && c < 0x7F) {
    return fmt::format("'{}'", text[i]);
  }
  size_t length = utf8Length(text, i);
  if (c >= 0x80 && length > 0) {
    return fmt::format("'{}'", text.substr(i, length));
  }
  return fmt::format("byte 0x{:02X}", c);
}

class Precheck {
 public:
  Precheck(std::string_view text, const std::string& file, Diagnostics& diags)
      : text_(text), file_(file), diags_(diags) {}

  bool run() { return encodingOk() && structureOk(); }

 private:
  enum class State : uint8_t { Normal, Comment, Basic, Literal, MlBasic, MlLiteral };

  bool fail(size_t index, std::string_view category, std::string message) {
    uint32_t line = 1;
    uint32_t column = 1;
    for (size_t i = 0; i < index && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else if (!isContinuation(static_cast<unsigned char>(text_[i])) && text_[i] != '\r') {
        ++column;
      }
    }
    diags_.error(SourceLocation{file_, line, column}, std::string(category), std::move(message));
    return false;
  }

  bool encodingOk() {
    for (size_t i = 0; i < text_.size();) {
      auto c = static_cast<unsigned char>(text_[i]);
      if (c >= 0x80) {
        size_t length = utf8Length(text_, i);
        if (length == 0) {
          return fail(i, "toml-syntax", fmt::format("invalid UTF-8 (byte 0x{:02X})", c));
        }
        i += length;
        continue;
      }
      bool crlf = c == '\r' && i + 1 < text_.size() && text_[i + 1] == '\n';
      if ((c < 0x20 && c != '\t' && c != '\n' && !crlf) || c == 0x7F) {
        return fail(i, "toml-syntax",
                    fmt::format("control character U+{:04X} is not allowed in TOML", c));
      }
      ++i;
    }
    return true;
  }

  bool startsWith(size_t i, std::string_view what) const {
    return text_.substr(i).starts_with(what);
  }

  /// At a '[' that opens a table header: the key must start with a bare-key character or quote.
  bool headerOk(size_t i) {
    size_t j = i + 1;
    if (j < text_.size() && text_[j] == '[') {
      ++j;
    }
    while (j < text_.size() && (text_[j] == ' ' || text_[j] == '\t')) {
      ++j;
    }
    if (j >= text_.size()) {
      return fail(j, "toml-syntax", "table header ends before its key");
    }
    if (!isBareKeyChar(text_[j]) && text_[j] != '"' && text_[j] != '\'') {
      return fail(j, "toml-syntax",
                  fmt::format("expected a key in the table header, saw {}", describe(text_, j)));
    }
    return true;
  }

  /// After a line-ending backslash in a multi-line basic string: the next non-whitespace
  /// character must be ASCII. Returns the index to continue at, or npos after failing.
  size_t afterLineEndingBackslash(size_t j) {
    while (j < text_.size() &&
           (text_[j] == ' ' || text_[j] == '\t' || text_[j] == '\n' || text_[j] == '\r')) {
      ++j;
    }
    if (j < text_.size() && static_cast<unsigned char>(text_[j]) >= 0x80) {
      fail(j, "toml-unsupported",
           "a non-ASCII character right after a line-ending backslash in a multi-line string "
           "is not supported; move it or escape it as \\uXXXX");
      return std::string_view::npos;
    }
    return j;
  }

  /// Index just past a closing triple quote (with up to two extra quotes, which TOML allows to
  /// belong to the string).
  size_t closeTriple(size_t i, char quote) const {
    size_t j = i + 3;
    for (int extra = 0; extra < 2 && j < text_.size() && text_[j] == quote; ++extra) {
      ++j;
    }
    return j;
  }

  /// Scans a bare value (number, boolean, date, inf/nan, or garbage) the way toml++ does: up to
  /// the next value terminator, quotes included. Returns the index of the terminator, or npos
  /// after failing on a non-ASCII character inside it.
  size_t bareValueEnd(size_t i) {
    for (; i < text_.size(); ++i) {
      char c = text_[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ']' || c == '}' || c == ',' ||
          c == '#') {
        return i;
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        fail(i, "toml-syntax", fmt::format("character {} in a value", describe(text_, i)));
        return std::string_view::npos;
      }
    }
    return i;
  }

  /// One character outside strings and comments; advances `i`. Returns false after failing.
  bool normalChar(size_t& i, State& state) {
    char c = text_[i];
    if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
      lineStart_ = lineStart_ || c == '\n';
      ++i;
      return true;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      return fail(i, "toml-syntax",
                  fmt::format("character {} outside a string or comment", describe(text_, i)));
    }
    bool atValue = valuePos_;
    bool atHeader = lineStart_ && containers_.empty();
    valuePos_ = false;
    lineStart_ = false;
    if (c == '#') {
      state = State::Comment;
    } else if (c == '"' || c == '\'') {
      bool triple = startsWith(i, c == '"' ? "\"\"\"" : "'''");
      state = c == '"' ? (triple ? State::MlBasic : State::Basic)
                       : (triple ? State::MlLiteral : State::Literal);
      i += triple ? 2 : 0;
    } else if (c == '[' && atHeader) {
      if (!headerOk(i)) {
        return false;
      }
      i += startsWith(i, "[[") ? 1 : 0;
    } else if (c == '[' || c == '{') {
      containers_.push_back(c);
      valuePos_ = c == '[';
    } else if (c == ']' || c == '}') {
      if (!containers_.empty() && containers_.back() == (c == ']' ? '[' : '{')) {
        containers_.pop_back();
      }
    } else if (c == '=') {
      valuePos_ = true;
    } else if (c == ',') {
      valuePos_ = !containers_.empty() && containers_.back() == '[';
    } else if (atValue) {
      size_t end = bareValueEnd(i);
      if (end == std::string_view::npos) {
        return false;
      }
      i = end;
      return true;
    }
    ++i;
    return true;
  }

  bool structureOk() {
    State state = State::Normal;
    size_t i = 0;
    while (i < text_.size()) {
      char c = text_[i];
      switch (state) {
        case State::Normal:
          if (!normalChar(i, state)) {
            return false;
          }
          continue;
        case State::Comment:
          state = c == '\n' ? State::Normal : state;
          lineStart_ = c == '\n';
          break;
        case State::Basic:
          if (c == '\\') {
            ++i;  // the escaped character (escapes are ASCII; anything else toml++ reports)
          } else if (c == '"' || c == '\n') {
            state = State::Normal;
            lineStart_ = c == '\n';
          }
          break;
        case State::Literal:
          if (c == '\'' || c == '\n') {
            state = State::Normal;
            lineStart_ = c == '\n';
          }
          break;
        case State::MlBasic:
          if (c == '\\') {
            size_t j = i + 1;
            while (j < text_.size() && (text_[j] == ' ' || text_[j] == '\t')) {
              ++j;
            }
            if (j < text_.size() && (text_[j] == '\n' || startsWith(j, "\r\n"))) {
              j = afterLineEndingBackslash(j);
              if (j == std::string_view::npos) {
                return false;
              }
              i = j;
              continue;
            }
            ++i;  // an ordinary escape
          } else if (startsWith(i, "\"\"\"")) {
            i = closeTriple(i, '"');
            state = State::Normal;
            lineStart_ = false;
            continue;
          }
          break;
        case State::MlLiteral:
          if (startsWith(i, "'''")) {
            i = closeTriple(i, '\'');
            state = State::Normal;
            lineStart_ = false;
            continue;
          }
          break;
      }
      ++i;
    }
    return true;
  }

  std::string_view text_;
  const std::string& file_;
  Diagnostics& diags_;
  // Lexer state outside strings: open value arrays/inline tables ('[' / '{'), whether the next
  // token is a value (after '=', '[' or an array's ','), whether only whitespace precedes it on
  // its line (a '[' there, outside any container, opens a table header).
  std::vector<char> containers_;
  bool valuePos_ = false;
  bool lineStart_ = true;
};

}  // namespace

bool precheckToml(std::string_view text, const std::string& file, Diagnostics& diags) {
  return Precheck(text, file, diags).run();
}

}  // namespace sluice::config::detail
