#pragma once
// Input diagnostics: every problem found in operator input (lqos.conf, network.json,
// ShapedDevices.csv, live API changes) is collected, never thrown one at a time, so that
// `sluice check` can report all of them in one run.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class Severity : uint8_t { Error, Warning };

/// Where a problem is: file path as given by the operator, 1-based line and column (0 = unknown,
/// printed without that part).
struct SourceLocation {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;

  /// "file:line:column", "file:line" or "file".
  std::string toString() const;
};

/// One problem. `category` is a stable kebab-case token tests and the API match on (for example
/// "missing-circuit-id", "duplicate-address"); `message` is for humans; `value` is the offending
/// input text, printed in parentheses.
struct Diagnostic {
  Severity severity = Severity::Error;
  SourceLocation where;
  std::string category;
  std::string message;
  std::string value;

  /// "file:line:col: error: message (value) [category]".
  std::string toString() const;
};

/// Collector of diagnostics in the order they were found.
class Diagnostics {
 public:
  void error(SourceLocation where, std::string category, std::string message,
             std::string value = {});
  void warning(SourceLocation where, std::string category, std::string message,
               std::string value = {});
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);

  bool hasErrors() const;
  size_t errorCount() const;
  size_t warningCount() const;
  const std::vector<Diagnostic>& all() const { return items_; }
  std::vector<Diagnostic> errors() const;
  std::vector<Diagnostic> warnings() const;
  /// True when some diagnostic has this category (test helper and API filter).
  bool has(std::string_view category) const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace sluice
