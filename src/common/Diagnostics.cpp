#include "common/Diagnostics.h"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>

namespace sluice {

const std::string& SourceFile::empty_string() {
  static const std::string kEmpty;
  return kEmpty;
}

std::ostream& operator<<(std::ostream& out, const SourceFile& f) { return out << f.str(); }

std::string SourceLocation::toString() const {
  if (line == 0) {
    return file.str();
  }
  if (column == 0) {
    return fmt::format("{}:{}", file.str(), line);
  }
  return fmt::format("{}:{}:{}", file.str(), line, column);
}

std::string Diagnostic::toString() const {
  std::string out = fmt::format("{}: {}: {}", where.toString(),
                                severity == Severity::Error ? "error" : "warning", message);
  if (!value.empty()) {
    out += fmt::format(" ({})", value);
  }
  out += fmt::format(" [{}]", category);
  return out;
}

void Diagnostics::error(SourceLocation where, std::string category, std::string message,
                        std::string value) {
  items_.push_back(Diagnostic{Severity::Error, std::move(where), std::move(category),
                              std::move(message), std::move(value)});
}

void Diagnostics::warning(SourceLocation where, std::string category, std::string message,
                          std::string value) {
  items_.push_back(Diagnostic{Severity::Warning, std::move(where), std::move(category),
                              std::move(message), std::move(value)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::hasErrors() const { return errorCount() > 0; }

size_t Diagnostics::errorCount() const {
  return std::count_if(items_.begin(), items_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

size_t Diagnostics::warningCount() const { return items_.size() - errorCount(); }

std::vector<Diagnostic> Diagnostics::errors() const {
  std::vector<Diagnostic> out;
  std::copy_if(items_.begin(), items_.end(), std::back_inserter(out),
               [](const Diagnostic& d) { return d.severity == Severity::Error; });
  return out;
}

std::vector<Diagnostic> Diagnostics::warnings() const {
  std::vector<Diagnostic> out;
  std::copy_if(items_.begin(), items_.end(), std::back_inserter(out),
               [](const Diagnostic& d) { return d.severity == Severity::Warning; });
  return out;
}

bool Diagnostics::has(std::string_view category) const {
  return std::any_of(items_.begin(), items_.end(),
                     [&](const Diagnostic& d) { return d.category == category; });
}

}  // namespace sluice
