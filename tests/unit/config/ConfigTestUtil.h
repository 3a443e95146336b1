#pragma once
// Helpers shared by the config unit tests.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Diagnostics.h"
#include "config/ConfigLoader.h"

namespace sluice::config::testing {

inline const std::string kFile = "lqos.conf";

/// Parses `text` as lqos.conf; diagnostics land in `diags`.
inline std::optional<Config> parse(std::string_view text, Diagnostics& diags) {
  return parseConfig(text, kFile, diags);
}

/// Every diagnostic with `category`.
inline std::vector<Diagnostic> withCategory(const Diagnostics& diags, std::string_view category) {
  std::vector<Diagnostic> out;
  for (const Diagnostic& d : diags.all()) {
    if (d.category == category) {
      out.push_back(d);
    }
  }
  return out;
}

/// All diagnostics as text, for failure messages.
inline std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const Diagnostic& d : diags.all()) {
    out += d.toString() + "\n";
  }
  return out;
}

/// Asserts exactly one diagnostic of `category` with this severity at line:column of kFile, and
/// returns it.
inline Diagnostic expectOne(const Diagnostics& diags, std::string_view category, uint32_t line,
                            uint32_t column, Severity severity = Severity::Error) {
  std::vector<Diagnostic> found = withCategory(diags, category);
  EXPECT_EQ(found.size(), 1u) << "category " << category << " in:\n" << dump(diags);
  if (found.empty()) {
    return {};
  }
  const Diagnostic& d = found.front();
  EXPECT_EQ(d.severity, severity) << d.toString();
  EXPECT_EQ(d.where.file, kFile) << d.toString();
  EXPECT_EQ(d.where.line, line) << d.toString();
  EXPECT_EQ(d.where.column, column) << d.toString();
  return d;
}

}  // namespace sluice::config::testing

namespace sluice::config::testing {

struct TextPos {
  uint32_t line = 0;
  uint32_t column = 0;
};

/// 1-based line and column of the first occurrence of `needle` in `text` (which must contain
/// it), so tests state locations by pointing at the text rather than by counting.
inline TextPos locate(std::string_view text, std::string_view needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string_view::npos) << needle;
  if (at == std::string_view::npos) {
    return {};
  }
  TextPos pos{1, 1};
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

/// expectOne() at the position of `needle` in `text`.
inline Diagnostic expectAt(const Diagnostics& diags, std::string_view category,
                           std::string_view text, std::string_view needle,
                           Severity severity = Severity::Error) {
  TextPos pos = locate(text, needle);
  return expectOne(diags, category, pos.line, pos.column, severity);
}

}  // namespace sluice::config::testing
