#pragma once
// Input diagnostics: every problem found in operator input (lqos.conf, network.json,
// ShapedDevices.csv, live API changes) is collected, never thrown one at a time, so that
// `sluice check` can report all of them in one run.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <string_view>
#include <vector>

namespace sluice {

enum class Severity : uint8_t { Error, Warning };

/// A file path as given by the operator, immutable and shared: copies share one heap string, so
/// the locations a parsed model keeps (several per ShapedDevices.csv row) cost no allocation
/// each. Reads as a `const std::string&` (empty when default-constructed) and compares equal to
/// any string with the same text.
class SourceFile {
 public:
  SourceFile() = default;
  SourceFile(std::string path)  // NOLINT(google-explicit-constructor): a path is a file
      : path_(path.empty() ? nullptr : std::make_shared<const std::string>(std::move(path))) {}
  SourceFile(const char* path) : SourceFile(std::string(path)) {}  // NOLINT
  SourceFile(std::string_view path) : SourceFile(std::string(path)) {}  // NOLINT

  const std::string& str() const { return path_ ? *path_ : empty_string(); }
  operator const std::string&() const { return str(); }  // NOLINT
  bool empty() const { return !path_; }
  size_t size() const { return str().size(); }
  const char* c_str() const { return str().c_str(); }

  friend bool operator==(const SourceFile& a, const SourceFile& b) {
    return a.path_ == b.path_ || a.str() == b.str();
  }
  template <typename T>
    requires(!std::is_same_v<T, SourceFile> && std::is_convertible_v<const T&, std::string_view>)
  friend bool operator==(const SourceFile& a, const T& b) {
    return std::string_view(a.str()) == std::string_view(b);
  }
  friend std::ostream& operator<<(std::ostream& out, const SourceFile& f);

 private:
  static const std::string& empty_string();
  std::shared_ptr<const std::string> path_;
};

/// Where a problem is: file path as given by the operator, 1-based line and column (0 = unknown,
/// printed without that part).
struct SourceLocation {
  SourceFile file;
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
  /// Keeps the first `count` diagnostics (those found before a later stage added its own).
  void truncate(size_t count) {
    if (count < items_.size()) {
      items_.resize(count);
    }
  }
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
