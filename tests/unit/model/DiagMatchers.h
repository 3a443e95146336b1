#pragma once
// Helpers for asserting on model diagnostics: exactly which category, where.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/Diagnostics.h"

namespace sluice::model::test {

/// Every diagnostic of `category`, in order.
inline std::vector<Diagnostic> withCategory(const Diagnostics& diags, const std::string& category) {
  std::vector<Diagnostic> out;
  for (const auto& d : diags.all()) {
    if (d.category == category) {
      out.push_back(d);
    }
  }
  return out;
}

/// All diagnostics as text, for failure messages.
inline std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags.all()) {
    out += d.toString() + "\n";
  }
  return out;
}

/// Asserts that `diags` holds exactly one diagnostic of `category` and that it is an error at
/// line:column; returns it (or an empty one after a failure).
inline Diagnostic expectOneError(const Diagnostics& diags, const std::string& category,
                                 uint32_t line, uint32_t column) {
  const auto found = withCategory(diags, category);
  EXPECT_EQ(found.size(), 1u) << "category " << category << " in:\n" << dump(diags);
  if (found.size() != 1) {
    return {};
  }
  EXPECT_EQ(found[0].severity, Severity::Error) << found[0].toString();
  EXPECT_EQ(found[0].where.line, line) << found[0].toString();
  EXPECT_EQ(found[0].where.column, column) << found[0].toString();
  return found[0];
}

}  // namespace sluice::model::test
