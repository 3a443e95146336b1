#pragma once
// A lexical pre-pass over lqos.conf before toml++ sees it. toml++ 3.3 (Debian's version) reaches
// __builtin_unreachable() or a debug assertion on some invalid input instead of reporting it:
// non-ASCII characters where it tests for whitespace (upstream marzer/tomlplusplus#190, #295,
// fixed after 3.3) and an unexpected character at the start of a table header key. The pre-pass
// reports those inputs itself, so the parser is only ever given text it handles:
//
//   - bytes that are not valid UTF-8 (TOML requires UTF-8)
//   - control characters other than tab, LF and CR LF, anywhere (TOML forbids them, including in
//     strings and comments)
//   - non-ASCII characters outside strings and comments (TOML 1.0 bare keys are ASCII)
//   - a table header whose key does not start with A-Z a-z 0-9 _ - or a quote
//   - a non-ASCII character right after the line-ending backslash of a multi-line basic string
//     (valid TOML, but the construct toml++ 3.3 mis-handles; refused as "toml-unsupported")
//
// Internal to the config module.

#include <string>
#include <string_view>

#include "common/Diagnostics.h"

namespace sluice::config::detail {

/// Returns true when `text` passes; otherwise adds one error ("toml-syntax" or
/// "toml-unsupported", at the offending character's 1-based line and column, columns counted in
/// code points as toml++ does) and returns false.
bool precheckToml(std::string_view text, const std::string& file, Diagnostics& diags);

}  // namespace sluice::config::detail
