#pragma once
// A small declarative schema for TOML documents and a checker that walks a parsed toml++ table
// against it, reporting every problem to Diagnostics with file:line:column:
//
//   unknown-key   (warning) a key the schema does not list, at the key's position
//   wrong-type    a value of another TOML type than the schema says, at the value's position
//   out-of-range  a number outside the schema's bounds (or the spec's own `rangeCategory`)
//   invalid-value a string that is not one of the spec's `choices`
//
// After checking, TableView reads values back: getters return nullopt for keys that are absent
// or that failed the check, so callers apply defaults and never see a bad value.
// Internal to the config module (namespace detail); not part of its public API.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "common/Diagnostics.h"

namespace sluice::config::detail {

enum class ValueKind : uint8_t {
  Bool,
  Integer,  ///< TOML integer
  Number,   ///< TOML integer or float (LibreQoS reads some of these as u64, some as f32)
  String,
  StringArray,  ///< array whose elements are all strings (may be empty)
  Array,        ///< any array (arrays of tables such as uisp exception_cpes)
  Table,        ///< a table; checked against `fields` unless `anyFields`
};

inline constexpr double kNoMin = -std::numeric_limits<double>::infinity();
inline constexpr double kNoMax = std::numeric_limits<double>::infinity();

/// One key of a table. Bounds apply to Integer and Number (inclusive unless marked exclusive);
/// `choices` to String (exact, case-sensitive match as LibreQoS's serde enums do).
struct KeySpec {
  std::string_view name;
  ValueKind kind = ValueKind::String;
  double min = kNoMin;
  double max = kNoMax;
  bool minExclusive = false;
  bool maxExclusive = false;
  std::string_view rangeCategory = "out-of-range";
  std::span<const std::string_view> choices = {};
  std::span<const KeySpec> fields = {};
  bool anyFields = false;  ///< Table whose content is not checked (kept as it is)
};

/// Shared state of one check/read pass over a document.
struct CheckContext {
  std::string file;
  Diagnostics* diags = nullptr;
  std::unordered_set<const toml::node*> bad;  ///< values that failed their check or are unknown

  SourceLocation at(const toml::source_region& region) const;
};

/// Checks every key of `table` (path "a.b" names it in messages; "" for the root) against
/// `keys`, recursing into Table keys. Bad values are added to `ctx.bad`.
void checkTable(const toml::table& table, std::span<const KeySpec> keys, std::string_view path,
                CheckContext& ctx);

/// The entries of `table` sorted by the position of their keys (toml++ keeps tables sorted by
/// name), so that diagnostics come out in the order the operator wrote them.
std::vector<std::pair<const toml::key*, const toml::node*>> inDocumentOrder(
    const toml::table& table);

/// `text` as a TOML basic string: in double quotes, with `"` and backslash escaped and control
/// characters written as \uXXXX.
std::string quoteString(std::string_view text);

/// TOML text of a value: strings in double quotes with escapes, arrays as `[ a, b ]`, inline
/// tables as `{ k = v }`.
std::string renderValue(const toml::node& node);

/// Read access to one checked table. A view of an absent table is valid and returns nullopt
/// everywhere; locations then fall back to the parent's.
class TableView {
 public:
  TableView(const toml::table* table, std::string path, const CheckContext& ctx,
            SourceLocation fallback = {});

  bool present() const { return table_ != nullptr; }
  const std::string& path() const { return path_; }
  /// "path.name" (or "name" at the root), as messages name keys.
  std::string qualified(std::string_view name) const;

  /// True when the table has `name`, whatever its value's check said.
  bool contains(std::string_view name) const;
  /// The node for `name` when present and not marked bad; nullptr otherwise.
  const toml::node* node(std::string_view name) const;
  TableView sub(std::string_view name) const;

  std::optional<bool> boolean(std::string_view name) const;
  std::optional<int64_t> integer(std::string_view name) const;
  /// Integer or float value as double.
  std::optional<double> number(std::string_view name) const;
  std::optional<std::string> string(std::string_view name) const;
  std::optional<std::vector<std::string>> strings(std::string_view name) const;

  /// Location of the value of `name`, or of the table itself when the key is absent.
  SourceLocation where(std::string_view name) const;
  SourceLocation where() const;

  /// Adds every good value as "key" -> TOML text, nested tables flattened to "sub.key"
  /// (`prefix` is prepended to every key).
  void flattenInto(std::map<std::string, std::string>& out, const std::string& prefix = {}) const;

 private:
  const toml::table* table_;
  std::string path_;
  const CheckContext* ctx_;
  SourceLocation fallback_;
};

}  // namespace sluice::config::detail
