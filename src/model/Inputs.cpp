#include "model/Inputs.h"

#include <filesystem>

#include "config/ConfigLoader.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"

namespace sluice::model {

namespace {

/// `fromConfig` relative to the directory of the config file (as an operator reads it).
std::string relativeToConfig(const std::string& fromConfig, const std::string& configPath) {
  const std::filesystem::path p(fromConfig);
  if (p.is_absolute() || configPath.empty()) {
    return fromConfig;
  }
  return (std::filesystem::path(configPath).parent_path() / p).lexically_normal().string();
}

std::string inputPath(const std::string& given, const std::string& fromConfig,
                      const std::string& lqosDirectory, const std::string& configPath,
                      const char* fileName) {
  if (!given.empty()) {
    return given;
  }
  if (!fromConfig.empty()) {
    return relativeToConfig(fromConfig, configPath);
  }
  if (lqosDirectory.empty() || lqosDirectory.ends_with('/')) {
    return relativeToConfig(lqosDirectory + fileName, configPath);
  }
  return relativeToConfig(lqosDirectory + "/" + fileName, configPath);
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
  in.resolvedNetwork =
      inputPath(paths.network, in.config.sluice.networkJson, dir, paths.config, "network.json");
  in.resolvedDevices = inputPath(paths.devices, in.config.sluice.shapedDevicesCsv, dir,
                                 paths.config, "ShapedDevices.csv");
  in.model.network = loadNetworkJson(in.resolvedNetwork, in.diagnostics);
  in.model.shaped = loadShapedDevices(in.resolvedDevices, in.diagnostics);
  if (!in.config.sluice.devicesOverrides.empty()) {
    in.resolvedOverrides = paths.overrides.empty()
                               ? relativeToConfig(in.config.sluice.devicesOverrides, paths.config)
                               : paths.overrides;
    in.model.shaped = mergeDeviceOverrides(std::move(in.model.shaped),
                                           loadDeviceOverrides(in.resolvedOverrides, in.diagnostics),
                                           in.diagnostics);
  }
  validateModel(in.model, in.config, in.diagnostics);
  return in;
}

}  // namespace sluice::model
