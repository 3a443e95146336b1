#include "model/Inputs.h"

#include "config/ConfigLoader.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"

namespace sluice::model {

namespace {

std::string inputPath(const std::string& given, const std::string& fromConfig,
                      const std::string& lqosDirectory, const char* fileName) {
  if (!given.empty()) {
    return given;
  }
  if (!fromConfig.empty()) {
    return fromConfig;
  }
  if (lqosDirectory.empty() || lqosDirectory.ends_with('/')) {
    return lqosDirectory + fileName;
  }
  return lqosDirectory + "/" + fileName;
}

}  // namespace

Inputs loadInputs(const InputPaths& paths) {
  Inputs in;
  if (!paths.config.empty()) {
    if (auto config = config::loadConfig(paths.config, in.diagnostics)) {
      in.config = std::move(*config);
    }
  }
  const auto& dir = in.config.lqosDirectory;
  const auto networkPath =
      inputPath(paths.network, in.config.sluice.networkJson, dir, "network.json");
  const auto devicesPath =
      inputPath(paths.devices, in.config.sluice.shapedDevicesCsv, dir, "ShapedDevices.csv");
  in.model.network = loadNetworkJson(networkPath, in.diagnostics);
  in.model.shaped = loadShapedDevices(devicesPath, in.diagnostics);
  validateModel(in.model, in.config, in.diagnostics);
  return in;
}

}  // namespace sluice::model
