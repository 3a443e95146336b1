#pragma once
// Live circuit changes of the operator API (POST/PATCH/DELETE /api/circuits, docs/api.md):
// the change is applied to the operator's current ShapedDevices.csv, the whole resulting set is
// rendered as ShapedDevices.csv text and validated exactly as that file would be (the CSV
// parser's row checks, then model::validateModel against network.json and lqos.conf), and every
// diagnostic on the changed circuit's rows is mapped back to the request field it came from.
// Nothing here writes or reloads: the daemon persists PlannedChange::text (common/AtomicFile.h)
// and reloads.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "model/Inputs.h"

namespace sluice::api {

enum class ChangeKind : uint8_t { Add, Patch, Remove };

/// The outcome of planning one change.
struct PlannedChange {
  /// 200 when the change is valid (text/path set); else the HTTP status of the refusal:
  /// 400 malformed body, 404 unknown circuit, 409 id taken or the file already has errors,
  /// 422 validation errors.
  int status = 200;
  /// On refusal: {"error": sentence, "errors": [{"field","message","value","category"}]}.
  nlohmann::json error;
  std::string text;  ///< the new ShapedDevices.csv (standard header, one row per device)
  std::string path;  ///< the file to write (the ShapedDevices.csv the config names)
  size_t circuits = 0;  ///< circuits in the new set
  bool ok() const { return status == 200; }
};

/// Plans `kind` on circuit `id` (empty for Add: the id comes from the body) with JSON `body`
/// ({"id","name","parent","parent_node_id","anchor_node_id","min_down_mbps","min_up_mbps",
/// "max_down_mbps","max_up_mbps","sqm","devices":[{"id","name","mac","ipv4":[..],"ipv6":[..],
/// "comment"}]}; Patch takes any subset, "devices" replacing the whole list; Remove ignores it).
/// Reads the files `paths` names (model::loadInputs). Field names in errors: the body's keys,
/// "devices[i].ipv4" for device cells; problems outside the changed circuit name the file.
PlannedChange planCircuitChange(const model::InputPaths& paths, ChangeKind kind,
                                const std::string& id, const nlohmann::json& body);

/// Renders `shaped` as ShapedDevices.csv text with the standard header (Circuit ID, Circuit Name,
/// Device ID, Device Name, Parent Node, Parent Node ID, Anchor Node ID, MAC, IPv4, IPv6,
/// Download Min Mbps, Upload Min Mbps, Download Max Mbps, Upload Max Mbps, Comment, sqm). Reading
/// the text back with model::parseShapedDevices gives the same circuits.
std::string renderShapedDevices(const model::ShapedDevices& shaped);

/// Maps diagnostics of config text to field errors ({"field": "[section] key" or "lqos.conf",
/// "message", "value", "category", "line"}).
nlohmann::json diagnosticsToErrors(const Diagnostics& diags);

}  // namespace sluice::api
