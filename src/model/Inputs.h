#pragma once
// The whole input pipeline shared by `sluice check`, `sluice plan` and sluiced: read lqos.conf,
// network.json and ShapedDevices.csv, then run the cross-file checks.

#include <optional>
#include <string>

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "model/Model.h"

namespace sluice::model {

struct InputPaths {
  std::string config;   ///< lqos.conf
  std::string network;  ///< "" = from the config ([sluice] network_json or lqos_directory)
  std::string devices;  ///< "" = from the config ([sluice] shaped_devices_csv or lqos_directory)
  /// "" = from the config ([sluice] devices_overrides). Used only when the config sets
  /// devices_overrides (a daemon's last-good copy names its copied overrides file here).
  std::string overrides;
};

struct Inputs {
  config::Config config;
  Model model;
  Diagnostics diagnostics;      ///< every error and warning of all three files
  std::string resolvedNetwork;  ///< the network.json path actually read
  std::string resolvedDevices;  ///< the ShapedDevices.csv path actually read
  /// `[sluice] devices_overrides` resolved like the other paths ("" = none configured); the
  /// circuits in `model.shaped` are ShapedDevices.csv with these overrides applied.
  std::string resolvedOverrides;
  bool ok() const { return !diagnostics.hasErrors(); }
};

/// Loads and validates all inputs, collecting every problem (never stops at the first): the
/// config (when `paths.config` is empty, or the config has errors, the defaults are used so that
/// the other two files are still checked), network.json, ShapedDevices.csv, then validateModel.
/// File paths not given fall back to `[sluice]` network_json / shaped_devices_csv, then to
/// `lqos_directory`/network.json and `lqos_directory`/ShapedDevices.csv; relative paths from the
/// config resolve against the config file's directory. An unreadable file is an
/// "unreadable-file" error naming the path. With `[sluice] devices_overrides` set (relative to the
/// config's directory), that file is read with model::loadDeviceOverrides (a missing file is
/// empty) and merged over ShapedDevices.csv (model::mergeDeviceOverrides) before validateModel,
/// so errors name whichever file the offending row is in. `ok()` is false when any error was
/// found.
Inputs loadInputs(const InputPaths& paths);

/// Cross-file checks on an already parsed model (each one is in model/Validate.h): node links and
/// Node::depth, circuit parents ("unknown-parent"; "none" and flat networks as LibreQoS treats
/// them, which may clear Circuit::parentNode), duplicate and overlapping addresses across circuits
/// ("duplicate-address", "overlapping-cidr"), and `[ip_ranges]` warnings.
void validateModel(Model& model, const config::Config& config, Diagnostics& diags);

}  // namespace sluice::model
