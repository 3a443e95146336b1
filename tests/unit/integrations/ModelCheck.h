#pragma once
// Test helper: the files an integration produced, read back by Sluice's own model reader
// (model/NetworkJson.h, model/ShapedDevicesCsv.h, model/Inputs.h validateModel), the single
// consumer of what integrations write.

#include <string>

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "integrations/Integration.h"
#include "model/Inputs.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"

namespace sluice::integrations::testing {

struct ReadBack {
  model::Model model;
  Diagnostics diags;
};

/// Parses and validates `files` as sluiced would read them from disk.
inline ReadBack readBack(const ShapingFiles& files, const config::Config& config = {}) {
  ReadBack out;
  out.model.network = model::parseNetworkJson(files.networkJson, "network.json", out.diags);
  out.model.shaped = model::parseShapedDevices(files.shapedDevicesCsv, "ShapedDevices.csv",
                                               out.diags);
  model::validateModel(out.model, config, out.diags);
  return out;
}

/// Every diagnostic as text, for failure messages.
inline std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const Diagnostic& d : diags.all()) {
    out += d.toString() + "\n";
  }
  return out;
}

}  // namespace sluice::integrations::testing
