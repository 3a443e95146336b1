#include "GoldenFiles.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "VendorServer.h"
#include "model/Inputs.h"

namespace sluice::integrations::testing {
namespace {

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += line + "\n";
  }
  return out;
}

void expectFile(const std::filesystem::path& path, const std::string& actual, bool update) {
  if (update) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  EXPECT_EQ(readText(path.string()), actual) << "golden file " << path.string()
                                             << " differs (SLUICE_UPDATE_GOLDEN=1 rewrites it)";
}

}  // namespace

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void expectGolden(const ShapingFiles& files, const std::string& vendor, const std::string& name) {
  const bool update = std::getenv("SLUICE_UPDATE_GOLDEN") != nullptr;
  const std::filesystem::path dir =
      std::filesystem::path(SLUICE_TEST_DATA_DIR) / "integrations" / vendor / "expected" / name;
  expectFile(dir / "network.json", files.networkJson, update);
  expectFile(dir / "ShapedDevices.csv", files.shapedDevicesCsv, update);
  expectFile(dir / "warnings.txt", joinLines(files.warnings), update);
}

size_t expectModelAccepts(const ShapingFiles& files, const std::string& configText) {
  ScratchDir dir;
  model::InputPaths paths;
  paths.config = dir.write("lqos.conf", configText);
  paths.network = dir.write("network.json", files.networkJson);
  paths.devices = dir.write("ShapedDevices.csv", files.shapedDevicesCsv);
  model::Inputs inputs = model::loadInputs(paths);
  for (const auto& d : inputs.diagnostics.errors()) {
    ADD_FAILURE() << "the model reader refuses the produced files: " << d.toString();
  }
  return inputs.model.shaped.circuits.size();
}

}  // namespace sluice::integrations::testing
