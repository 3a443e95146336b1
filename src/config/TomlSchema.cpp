#include "config/TomlSchema.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

namespace sluice::config::detail {
namespace {

std::string_view kindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::Bool:
      return "a boolean (true/false)";
    case ValueKind::Integer:
      return "an integer";
    case ValueKind::Number:
      return "a number";
    case ValueKind::String:
      return "a string";
    case ValueKind::StringArray:
      return "an array of strings";
    case ValueKind::Array:
      return "an array";
    case ValueKind::Table:
      return "a table";
  }
  return "a value";
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "date/time";
    case toml::node_type::none:
      break;
  }
  return "value";
}

std::string joinPath(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : fmt::format("{}.{}", path, name);
}

/// toml++ calls an empty array not homogeneous; an empty list of strings is fine here.
bool isStringArray(const toml::node& node) {
  const toml::array* array = node.as_array();
  return array != nullptr && (array->empty() || array->is_homogeneous(toml::node_type::string));
}

bool kindMatches(const toml::node& node, ValueKind kind) {
  switch (kind) {
    case ValueKind::Bool:
      return node.is_boolean();
    case ValueKind::Integer:
      return node.is_integer();
    case ValueKind::Number:
      return node.is_integer() || node.is_floating_point();
    case ValueKind::String:
      return node.is_string();
    case ValueKind::StringArray:
      return isStringArray(node);
    case ValueKind::Array:
      return node.is_array();
    case ValueKind::Table:
      return node.is_table();
  }
  return false;
}

double numericValue(const toml::node& node) {
  if (const auto* i = node.as_integer()) {
    return static_cast<double>(i->get());
  }
  return node.as_floating_point()->get();
}

std::string describeRange(const KeySpec& spec) {
  std::string lo =
      spec.min == kNoMin ? "" : fmt::format("{} {}", spec.minExclusive ? ">" : ">=", spec.min);
  std::string hi =
      spec.max == kNoMax ? "" : fmt::format("{} {}", spec.maxExclusive ? "<" : "<=", spec.max);
  if (!lo.empty() && !hi.empty()) {
    return lo + " and " + hi;
  }
  return lo.empty() ? hi : lo;
}

bool inRange(double value, const KeySpec& spec) {
  if (!std::isfinite(value)) {
    return false;
  }
  bool aboveMin = spec.minExclusive ? value > spec.min : value >= spec.min;
  bool belowMax = spec.maxExclusive ? value < spec.max : value <= spec.max;
  return aboveMin && belowMax;
}

/// Checks one present value against its spec; returns false (after reporting) when bad.
bool checkValue(const toml::node& node, const KeySpec& spec, const std::string& key,
                CheckContext& ctx) {
  SourceLocation at = ctx.at(node.source());
  if (!kindMatches(node, spec.kind)) {
    std::string_view got = typeName(node);
    if (spec.kind == ValueKind::StringArray && node.is_array()) {
      got = "array with non-string elements";
    }
    ctx.diags->error(at, "wrong-type",
                     fmt::format("{} must be {}, not {}", key, kindName(spec.kind), got),
                     renderValue(node));
    return false;
  }
  if (spec.kind == ValueKind::Integer || spec.kind == ValueKind::Number) {
    if (!inRange(numericValue(node), spec)) {
      ctx.diags->error(at, std::string(spec.rangeCategory),
                       fmt::format("{} must be {}", key, describeRange(spec)), renderValue(node));
      return false;
    }
  }
  if (spec.kind == ValueKind::String && !spec.choices.empty()) {
    const std::string& text = node.as_string()->get();
    bool found = false;
    std::string allowed;
    for (std::string_view choice : spec.choices) {
      found = found || choice == text;
      allowed += allowed.empty() ? std::string(choice) : fmt::format(", {}", choice);
    }
    if (!found) {
      ctx.diags->error(at, "invalid-value", fmt::format("{} must be one of {}", key, allowed),
                       renderValue(node));
      return false;
    }
  }
  if (spec.kind == ValueKind::Table && !spec.anyFields) {
    checkTable(*node.as_table(), spec.fields, key, ctx);
  }
  return true;
}

void renderString(std::string_view text, std::string& out) {
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += c;
    }
  }
  out += '"';
}

void renderInto(const toml::node& node, std::string& out) {
  if (const auto* s = node.as_string()) {
    renderString(s->get(), out);
  } else if (const auto* i = node.as_integer()) {
    out += fmt::format("{}", i->get());
  } else if (const auto* f = node.as_floating_point()) {
    double v = f->get();
    if (std::isnan(v)) {
      out += "nan";
    } else if (std::isinf(v)) {
      out += v > 0 ? "inf" : "-inf";
    } else {
      std::string text = fmt::format("{}", v);
      bool looksFloat = text.find_first_of(".eE") != std::string::npos;
      out += looksFloat ? text : text + ".0";
    }
  } else if (const auto* b = node.as_boolean()) {
    out += b->get() ? "true" : "false";
  } else if (const auto* a = node.as_array()) {
    out += "[";
    for (size_t n = 0; n < a->size(); ++n) {
      out += n == 0 ? " " : ", ";
      renderInto(*a->get(n), out);
    }
    out += a->empty() ? "]" : " ]";
  } else if (const auto* t = node.as_table()) {
    out += "{";
    bool first = true;
    for (auto&& [k, v] : *t) {
      out += first ? " " : ", ";
      first = false;
      renderString(k.str(), out);
      out += " = ";
      renderInto(v, out);
    }
    out += t->empty() ? "}" : " }";
  } else {
    std::ostringstream os;  // dates and times: toml++'s own TOML text
    node.visit([&os](auto&& value) {
      if constexpr (toml::is_date<decltype(value)> || toml::is_time<decltype(value)> ||
                    toml::is_date_time<decltype(value)>) {
        os << value;
      }
    });
    out += os.str();
  }
}

}  // namespace

std::vector<std::pair<const toml::key*, const toml::node*>> inDocumentOrder(
    const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [k, v] : table) {
    entries.emplace_back(&k, &v);
  }
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& pa = a.first->source().begin;
    const toml::source_position& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

SourceLocation CheckContext::at(const toml::source_region& region) const {
  return SourceLocation{file, region.begin.line, region.begin.column};
}

void checkTable(const toml::table& table, std::span<const KeySpec> keys, std::string_view path,
                CheckContext& ctx) {
  for (auto [keyPtr, valuePtr] : inDocumentOrder(table)) {
    const toml::key& k = *keyPtr;
    const toml::node& v = *valuePtr;
    std::string key = joinPath(path, k.str());
    const KeySpec* spec = nullptr;
    for (const KeySpec& candidate : keys) {
      if (candidate.name == k.str()) {
        spec = &candidate;
        break;
      }
    }
    if (spec == nullptr) {
      ctx.diags->warning(ctx.at(k.source()), "unknown-key",
                         fmt::format("unknown key '{}' (ignored)", key), key);
      ctx.bad.insert(&v);  // never read back nor stored
      continue;
    }
    if (!checkValue(v, *spec, key, ctx)) {
      ctx.bad.insert(&v);
    }
  }
}

std::string quoteString(std::string_view text) {
  std::string out;
  renderString(text, out);
  return out;
}

std::string renderValue(const toml::node& node) {
  std::string out;
  renderInto(node, out);
  return out;
}

TableView::TableView(const toml::table* table, std::string path, const CheckContext& ctx,
                     SourceLocation fallback)
    : table_(table), path_(std::move(path)), ctx_(&ctx), fallback_(std::move(fallback)) {}

std::string TableView::qualified(std::string_view name) const {
  return joinPath(path_, name);
}

bool TableView::contains(std::string_view name) const {
  return table_ != nullptr && table_->contains(name);
}

const toml::node* TableView::node(std::string_view name) const {
  if (table_ == nullptr) {
    return nullptr;
  }
  const toml::node* n = table_->get(name);
  if (n == nullptr || ctx_->bad.contains(n)) {
    return nullptr;
  }
  return n;
}

TableView TableView::sub(std::string_view name) const {
  const toml::node* n = node(name);
  return TableView(n != nullptr ? n->as_table() : nullptr, qualified(name), *ctx_, where(name));
}

std::optional<bool> TableView::boolean(std::string_view name) const {
  const toml::node* n = node(name);
  if (n == nullptr || !n->is_boolean()) {
    return std::nullopt;
  }
  return n->as_boolean()->get();
}

std::optional<int64_t> TableView::integer(std::string_view name) const {
  const toml::node* n = node(name);
  if (n == nullptr || !n->is_integer()) {
    return std::nullopt;
  }
  return n->as_integer()->get();
}

std::optional<double> TableView::number(std::string_view name) const {
  const toml::node* n = node(name);
  if (n == nullptr || !(n->is_integer() || n->is_floating_point())) {
    return std::nullopt;
  }
  return numericValue(*n);
}

std::optional<std::string> TableView::string(std::string_view name) const {
  const toml::node* n = node(name);
  if (n == nullptr || !n->is_string()) {
    return std::nullopt;
  }
  return n->as_string()->get();
}

std::optional<std::vector<std::string>> TableView::strings(std::string_view name) const {
  const toml::node* n = node(name);
  if (n == nullptr || !isStringArray(*n)) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const toml::node& element : *n->as_array()) {
    out.push_back(element.as_string()->get());
  }
  return out;
}

SourceLocation TableView::where(std::string_view name) const {
  if (table_ != nullptr) {
    if (const toml::node* n = table_->get(name)) {
      return ctx_->at(n->source());
    }
  }
  return where();
}

SourceLocation TableView::where() const {
  if (table_ != nullptr && table_->source().begin.line != 0) {
    return ctx_->at(table_->source());
  }
  return fallback_.file.empty() ? SourceLocation{ctx_->file, 0, 0} : fallback_;
}

void TableView::flattenInto(std::map<std::string, std::string>& out,
                            const std::string& prefix) const {
  if (table_ == nullptr) {
    return;
  }
  for (auto&& [k, v] : *table_) {
    if (ctx_->bad.contains(&v)) {
      continue;
    }
    std::string key = prefix + std::string(k.str());
    if (v.is_table()) {
      sub(k.str()).flattenInto(out, key + ".");
    } else {
      out[key] = renderValue(v);
    }
  }
}

}  // namespace sluice::config::detail
