#include "api/LiveChanges.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "model/ShapedDevicesCsv.h"

namespace sluice::api {

namespace {

using nlohmann::json;

// The columns of the rendered file, in order, with the request field each one comes from
// ("devices[].x" fields get the device index filled in).
enum Col : uint8_t {
  kCircuitId, kCircuitName, kDeviceId, kDeviceName, kParent, kParentNodeId, kAnchorNodeId, kMac,
  kIpv4, kIpv6, kMinDown, kMinUp, kMaxDown, kMaxUp, kComment, kSqm, kCols
};
constexpr std::array<const char*, kCols> kHeader = {
    "Circuit ID", "Circuit Name", "Device ID", "Device Name", "Parent Node", "Parent Node ID",
    "Anchor Node ID", "MAC", "IPv4", "IPv6", "Download Min Mbps", "Upload Min Mbps",
    "Download Max Mbps", "Upload Max Mbps", "Comment", "sqm"};
constexpr std::array<const char*, kCols> kFields = {
    "id", "name", "devices[].id", "devices[].name", "parent", "parent_node_id", "anchor_node_id",
    "devices[].mac", "devices[].ipv4", "devices[].ipv6", "min_down_mbps", "min_up_mbps",
    "max_down_mbps", "max_up_mbps", "devices[].comment", "sqm"};

using Row = std::array<std::string, kCols>;

struct CircuitRows {
  std::string id;
  std::vector<Row> rows;
};

std::string sqmToken(model::SqmKind k) {
  switch (k) {
    case model::SqmKind::Cake: return "cake";
    case model::SqmKind::FqCodel: return "fq_codel";
    case model::SqmKind::None: return "none";
    case model::SqmKind::Default: break;
  }
  return "";
}

std::string sqmCell(const model::SqmOverride& s) {
  if (s.down == s.up) {
    return sqmToken(s.down);
  }
  return sqmToken(s.down) + "/" + sqmToken(s.up);
}

std::string rateCell(double mbps) { return fmt::format("{}", mbps); }

std::string joinAddresses(const std::vector<IpNet>& nets) {
  std::string out;
  for (const IpNet& n : nets) {
    out += out.empty() ? "" : ", ";
    out += n.toString();
  }
  return out;
}

CircuitRows rowsOf(const model::Circuit& c) {
  CircuitRows out{c.id, {}};
  for (const model::Device& d : c.devices) {
    Row r;
    r[kCircuitId] = c.id;
    r[kCircuitName] = c.name;
    r[kDeviceId] = d.id;
    r[kDeviceName] = d.name;
    r[kParent] = c.parentNode;
    r[kParentNodeId] = c.parentNodeId;
    r[kAnchorNodeId] = c.anchorNodeId;
    r[kMac] = d.mac;
    r[kIpv4] = joinAddresses(d.ipv4);
    r[kIpv6] = joinAddresses(d.ipv6);
    r[kMinDown] = rateCell(c.downloadMinMbps);
    r[kMinUp] = rateCell(c.uploadMinMbps);
    r[kMaxDown] = rateCell(c.downloadMaxMbps);
    r[kMaxUp] = rateCell(c.uploadMaxMbps);
    r[kComment] = d.comment;
    r[kSqm] = sqmCell(c.sqm);
    out.rows.push_back(std::move(r));
  }
  return out;
}

bool needsQuotes(const std::string& cell) {
  return !cell.empty() &&
         (cell.find_first_of(",\"\r\n") != std::string::npos || cell.front() == ' ' ||
          cell.back() == ' ' || cell.front() == '#' || cell.front() == '\t');
}

/// Appends one CSV line; returns the 1-based byte column where each cell's content starts.
std::array<uint32_t, kCols> appendRow(std::string& out, const Row& row) {
  std::array<uint32_t, kCols> starts{};
  const size_t lineStart = out.size();
  for (size_t c = 0; c < kCols; ++c) {
    if (c > 0) {
      out += ',';
    }
    if (needsQuotes(row[c])) {
      out += '"';
      starts[c] = static_cast<uint32_t>(out.size() - lineStart + 1);
      for (char ch : row[c]) {
        out += ch;
        if (ch == '"') {
          out += '"';
        }
      }
      out += '"';
    } else {
      starts[c] = static_cast<uint32_t>(out.size() - lineStart + 1);
      out += row[c];
    }
  }
  out += '\n';
  return starts;
}

std::string headerLine() {
  std::string out;
  for (size_t c = 0; c < kCols; ++c) {
    out += c > 0 ? "," : "";
    out += kHeader[c];
  }
  return out + "\n";
}

/// A scalar JSON value as cell text: strings as they are, numbers in shortest form, null as "".
/// Anything else is a field error.
std::optional<std::string> cellText(const json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_number_integer()) {
    return fmt::format("{}", v.get<int64_t>());
  }
  if (v.is_number()) {
    return fmt::format("{}", v.get<double>());
  }
  if (v.is_null()) {
    return std::string();
  }
  return std::nullopt;
}

json fieldError(std::string field, std::string message, std::string value = {},
                std::string category = "bad-field") {
  return json{{"field", std::move(field)},
              {"message", std::move(message)},
              {"value", std::move(value)},
              {"category", std::move(category)}};
}

std::string deviceField(const char* pattern, size_t index) {
  std::string f = pattern;
  const size_t at = f.find("[]");
  if (at != std::string::npos) {
    f.replace(at, 2, fmt::format("[{}]", index));
  }
  return f;
}

struct CircuitKey {
  const char* key;
  Col col;
};
constexpr std::array kCircuitKeys{
    CircuitKey{"id", kCircuitId},           CircuitKey{"name", kCircuitName},
    CircuitKey{"parent", kParent},          CircuitKey{"parent_node_id", kParentNodeId},
    CircuitKey{"anchor_node_id", kAnchorNodeId}, CircuitKey{"min_down_mbps", kMinDown},
    CircuitKey{"min_up_mbps", kMinUp},      CircuitKey{"max_down_mbps", kMaxDown},
    CircuitKey{"max_up_mbps", kMaxUp},      CircuitKey{"sqm", kSqm}};
constexpr std::array kDeviceKeys{CircuitKey{"id", kDeviceId}, CircuitKey{"name", kDeviceName},
                                 CircuitKey{"mac", kMac}, CircuitKey{"ipv4", kIpv4},
                                 CircuitKey{"ipv6", kIpv6}, CircuitKey{"comment", kComment}};

/// Cell text of a device address field: an array of strings joined by ", ", or one string.
std::optional<std::string> addressText(const json& v) {
  if (!v.is_array()) {
    return cellText(v);
  }
  std::string out;
  for (const json& a : v) {
    if (!a.is_string()) {
      return std::nullopt;
    }
    out += out.empty() ? "" : ", ";
    out += a.get<std::string>();
  }
  return out;
}

bool hasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

/// Applies `body` to `rows` (the changed circuit). Shape errors go to `errors`.
void applyBody(const json& body, ChangeKind kind, CircuitRows& changed, json& errors) {
  // Circuit-level cells are repeated on every device row.
  Row circuitCells = changed.rows.empty() ? Row{} : changed.rows.front();
  for (const CircuitKey& k : kCircuitKeys) {
    if (!body.contains(k.key)) {
      continue;
    }
    std::optional<std::string> text = cellText(body[k.key]);
    if (!text) {
      errors.push_back(fieldError(k.key, "must be a string or a number", body[k.key].dump()));
      continue;
    }
    if (hasLineBreak(*text)) {
      errors.push_back(fieldError(k.key, "must not contain line breaks", *text));
      continue;
    }
    circuitCells[k.col] = *text;
  }
  if (body.contains("devices")) {
    const json& devices = body["devices"];
    if (!devices.is_array()) {
      errors.push_back(fieldError("devices", "must be an array of devices"));
      return;
    }
    changed.rows.clear();
    for (size_t i = 0; i < devices.size(); ++i) {
      const json& d = devices[i];
      if (!d.is_object()) {
        errors.push_back(fieldError(fmt::format("devices[{}]", i), "must be an object"));
        continue;
      }
      Row r{};
      for (const CircuitKey& k : kDeviceKeys) {
        if (!d.contains(k.key)) {
          continue;
        }
        const std::string field = fmt::format("devices[{}].{}", i, k.key);
        std::optional<std::string> text =
            k.col == kIpv4 || k.col == kIpv6 ? addressText(d[k.key]) : cellText(d[k.key]);
        if (!text) {
          errors.push_back(fieldError(field, k.col == kIpv4 || k.col == kIpv6
                                                 ? "must be an array of address strings"
                                                 : "must be a string",
                                      d[k.key].dump()));
        } else if (hasLineBreak(*text)) {
          errors.push_back(fieldError(field, "must not contain line breaks", *text));
        } else {
          r[k.col] = *text;
        }
      }
      changed.rows.push_back(std::move(r));
    }
  }
  if (changed.rows.empty()) {
    errors.push_back(fieldError("devices", kind == ChangeKind::Add
                                               ? "a circuit needs at least one device"
                                               : "a circuit needs at least one device (DELETE "
                                                 "removes the circuit)"));
    return;
  }
  for (Row& r : changed.rows) {
    for (const CircuitKey& k : kCircuitKeys) {
      r[k.col] = circuitCells[k.col];
    }
  }
  changed.id = circuitCells[kCircuitId];
}

json refusal(std::string message, json errors = json::array()) {
  return json{{"error", std::move(message)}, {"errors", std::move(errors)}};
}

json diagnosticError(const Diagnostic& d, std::string field) {
  json e = fieldError(std::move(field), d.message, d.value, d.category);
  e["where"] = d.where.toString();
  return e;
}

/// Appends `row` with the overrides file's extra `Action` cell.
void appendOverrideRow(std::string& out, const Row& row, std::string_view action) {
  appendRow(out, row);
  out.pop_back();
  out += ',';
  out += action;
  out += '\n';
}

/// The new devices overrides file: the current overrides with the change applied. `changed` is
/// the circuit's new rows (Add, Patch), `id` the circuit the request names (Patch, Remove).
std::string renderOverrides(const model::DeviceOverrides& current,
                            const model::ShapedDevices& base, ChangeKind kind,
                            const std::string& id, const CircuitRows& changed) {
  std::vector<CircuitRows> circuits;
  for (const model::Circuit& c : current.circuits.circuits) {
    circuits.push_back(rowsOf(c));
  }
  std::vector<std::string> removals;
  for (const model::CircuitRemoval& r : current.removals) {
    if (std::find(removals.begin(), removals.end(), r.circuitId) == removals.end()) {
      removals.push_back(r.circuitId);
    }
  }
  auto dropRemoval = [&](const std::string& cid) { std::erase(removals, cid); };
  auto addRemoval = [&](const std::string& cid) {
    if (base.byId.contains(cid) &&
        std::find(removals.begin(), removals.end(), cid) == removals.end()) {
      removals.push_back(cid);
    }
  };
  auto place = std::find_if(circuits.begin(), circuits.end(),
                            [&](const CircuitRows& c) { return c.id == id; });
  switch (kind) {
    case ChangeKind::Add:
      dropRemoval(changed.id);
      circuits.push_back(changed);
      break;
    case ChangeKind::Patch:
      if (changed.id != id) {
        addRemoval(id);  // renamed: the old Circuit ID must not come back from the base file
      }
      dropRemoval(changed.id);
      if (place != circuits.end()) {
        *place = changed;
      } else {
        circuits.push_back(changed);
      }
      break;
    case ChangeKind::Remove:
      if (place != circuits.end()) {
        circuits.erase(place);
      }
      addRemoval(id);
      break;
  }
  std::string out = headerLine();
  out.pop_back();
  out += ",Action\n";
  for (const CircuitRows& c : circuits) {
    for (const Row& r : c.rows) {
      appendOverrideRow(out, r, "");
    }
  }
  for (const std::string& cid : removals) {
    Row r{};
    r[kCircuitId] = cid;
    appendOverrideRow(out, r, "remove");
  }
  return out;
}

}  // namespace

std::string renderShapedDevices(const model::ShapedDevices& shaped) {
  std::string out = headerLine();
  for (const model::Circuit& c : shaped.circuits) {
    for (const Row& r : rowsOf(c).rows) {
      appendRow(out, r);
    }
  }
  return out;
}

PlannedChange planCircuitChange(const model::InputPaths& paths, ChangeKind kind,
                                const std::string& id, const json& body) {
  PlannedChange plan;
  if (kind != ChangeKind::Remove && !body.is_object()) {
    plan.status = 400;
    plan.error = refusal("the request body must be a JSON object");
    return plan;
  }
  model::Inputs in = model::loadInputs(paths);
  const bool overrides = !in.resolvedOverrides.empty();
  plan.path = overrides ? in.resolvedOverrides : in.resolvedDevices;
  if (in.diagnostics.hasErrors()) {
    json errors = json::array();
    for (const Diagnostic& d : in.diagnostics.errors()) {
      errors.push_back(diagnosticError(d, d.where.file));
    }
    plan.status = 409;
    plan.error = refusal("the input files have errors (see `sluice check`); fix them before "
                              "changing circuits live",
                         std::move(errors));
    return plan;
  }
  std::vector<CircuitRows> all;
  all.reserve(in.model.shaped.circuits.size() + 1);
  for (const model::Circuit& c : in.model.shaped.circuits) {
    all.push_back(rowsOf(c));
  }
  auto it = in.model.shaped.byId.find(id);
  const bool exists = it != in.model.shaped.byId.end();
  if (kind != ChangeKind::Add && !exists) {
    plan.status = 404;
    plan.error = refusal(fmt::format("no circuit with id \"{}\" in {}", id, plan.path));
    return plan;
  }
  std::optional<size_t> index;  // the changed circuit's place in `all` (Patch, Remove)
  CircuitRows changed;
  if (kind == ChangeKind::Add) {
    if (!body.contains("id") || !body["id"].is_string() || body["id"].get<std::string>().empty()) {
      plan.status = 422;
      plan.error = refusal("invalid circuit",
                           json::array({fieldError("id", "required: a non-empty string",
                                                   body.value("id", json()).dump(),
                                                   "missing-circuit-id")}));
      return plan;
    }
  } else {
    index = it->second;
    changed = all[*index];
  }
  if (kind == ChangeKind::Remove) {
    all.erase(all.begin() + static_cast<ptrdiff_t>(*index));
  } else {
    json errors = json::array();
    applyBody(body, kind, changed, errors);
    if (errors.empty() && changed.id != id &&
        in.model.shaped.byId.contains(changed.id)) {
      errors.push_back(fieldError("id", "another circuit has this id", changed.id,
                                  "duplicate-circuit-id"));
      plan.status = kind == ChangeKind::Add ? 409 : 422;
    }
    if (!errors.empty()) {
      plan.status = plan.status == 200 ? 422 : plan.status;
      plan.error = refusal("invalid circuit", std::move(errors));
      return plan;
    }
  }

  // Validation text: the changed circuit last, so that problems between it and another circuit
  // (reported at the later of the two in file order) land on its rows.
  std::string text = headerLine();
  for (size_t i = 0; i < all.size(); ++i) {
    if (index && i == *index && kind == ChangeKind::Patch) {
      continue;
    }
    for (const Row& r : all[i].rows) {
      appendRow(text, r);
    }
  }
  struct ChangedLine {
    uint32_t line;
    size_t device;
    std::array<uint32_t, kCols> starts;
  };
  std::vector<ChangedLine> changedLines;
  if (kind != ChangeKind::Remove) {
    for (size_t d = 0; d < changed.rows.size(); ++d) {
      const auto line = static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n') + 1);
      changedLines.push_back({line, d, appendRow(text, changed.rows[d])});
    }
  }
  Diagnostics diags;
  model::Model candidate;
  candidate.network = in.model.network;
  candidate.shaped = model::parseShapedDevices(text, plan.path, diags);
  model::validateModel(candidate, in.config, diags);
  if (diags.hasErrors()) {
    json errors = json::array();
    for (const Diagnostic& d : diags.errors()) {
      std::string field = d.where.file;
      for (const ChangedLine& cl : changedLines) {
        if (cl.line != d.where.line) {
          continue;
        }
        size_t col = 0;
        for (size_t c = 0; c < kCols; ++c) {
          if (cl.starts[c] <= d.where.column) {
            col = c;
          }
        }
        field = d.where.column == 0 ? fmt::format("devices[{}]", cl.device)
                                    : deviceField(kFields[col], cl.device);
        // The parser reports min > max at the min cell; blame the side the request changed.
        if (d.category == "min-greater-than-max" && field.starts_with("min_")) {
          const std::string maxField = "max_" + field.substr(4);
          if (body.contains(maxField) && !body.contains(field)) {
            field = maxField;
          }
        }
      }
      errors.push_back(diagnosticError(d, std::move(field)));
    }
    plan.status = 422;
    // Counted first: the by-value errors argument may be moved from before the message is built.
    const size_t count = errors.size();
    plan.error = refusal(fmt::format("the change is invalid ({} error{}); nothing was applied",
                                     count, count == 1 ? "" : "s"),
                         std::move(errors));
    return plan;
  }

  plan.circuits = candidate.shaped.circuits.size();
  if (overrides) {
    // Only the overrides file is written; ShapedDevices.csv stays the integration's. The new file
    // is read back and merged exactly as loadInputs will, as a check of the rendering.
    Diagnostics fileDiags;
    const auto base = model::loadShapedDevices(in.resolvedDevices, fileDiags);
    const auto current = model::loadDeviceOverrides(in.resolvedOverrides, fileDiags);
    plan.text = renderOverrides(current, base, kind, id, changed);
    model::Model check;
    check.network = in.model.network;
    check.shaped = model::mergeDeviceOverrides(
        base, model::parseDeviceOverrides(plan.text, plan.path, fileDiags), fileDiags);
    model::validateModel(check, in.config, fileDiags);
    if (fileDiags.hasErrors() || check.shaped.circuits.size() != plan.circuits) {
      json errors = json::array();
      for (const Diagnostic& d : fileDiags.errors()) {
        errors.push_back(diagnosticError(d, d.where.file));
      }
      plan.status = 500;
      plan.error = refusal(fmt::format("internal error: the rendered overrides file does not "
                                       "give the validated set ({} circuits, expected {})",
                                       check.shaped.circuits.size(), plan.circuits),
                           std::move(errors));
      plan.text.clear();
    }
    return plan;
  }

  // The persisted text keeps the file's circuit order (a new circuit goes last).
  plan.text = headerLine();
  for (size_t i = 0; i < all.size(); ++i) {
    const CircuitRows& c = index && i == *index && kind == ChangeKind::Patch ? changed : all[i];
    for (const Row& r : c.rows) {
      appendRow(plan.text, r);
    }
  }
  if (kind == ChangeKind::Add) {
    for (const Row& r : changed.rows) {
      appendRow(plan.text, r);
    }
  }
  return plan;
}

json diagnosticsToErrors(const Diagnostics& diags) {
  json errors = json::array();
  for (const Diagnostic& d : diags.errors()) {
    json e = diagnosticError(d, d.where.file);
    e["line"] = d.where.line;
    errors.push_back(std::move(e));
  }
  return errors;
}

}  // namespace sluice::api
