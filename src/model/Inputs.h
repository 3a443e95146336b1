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
  std::string config;    ///< lqos.conf
  std::string network;   ///< "" = from the config ([sluice] network_json or lqos_directory)
  std::string devices;   ///< "" = from the config ([sluice] shaped_devices_csv or lqos_directory)
};

struct Inputs {
  config::Config config;
  Model model;
  Diagnostics diagnostics;  ///< every error and warning of all three files
  bool ok() const { return !diagnostics.hasErrors(); }
};

/// Loads and validates all inputs, collecting every problem (never stops at the first).
Inputs loadInputs(const InputPaths& paths);

/// Cross-file checks on an already parsed model: unknown parents, duplicate and overlapping
/// addresses across circuits, ip_ranges. Also fills in derived fields (Node::depth).
void validateModel(Model& model, const config::Config& config, Diagnostics& diags);

}  // namespace sluice::model
