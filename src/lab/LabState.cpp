// The lab's state file (<state dir>/lab.json) and small helpers of `sluice lab` (lab/Lab.h):
// LabState to and from JSON, the default template config, the tail of a log.

#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lab/Lab.h"

namespace fs = std::filesystem;

namespace sluice::lab {

nlohmann::json LabState::toJson() const {
  return {{"mode", mode == LabMode::Bridge ? "bridge" : "stick"},
          {"state_dir", stateDir},
          {"config", config},
          {"network", network},
          {"devices", devices},
          {"socket", socket},
          {"template_config", templateConfig},
          {"internet_vlan", internetVlan},
          {"network_vlan", networkVlan},
          {"leaf_fallback", leafFallback},
          {"unknown_ipv4", unknownV4},
          {"unknown_ipv6", unknownV6},
          {"sluiced", sluiced},
          {"sluiced_pid", sluicedPid},
          {"netns", netns},
          {"ui_url", uiUrl}};
}

LabState LabState::fromJson(const nlohmann::json& json) {
  LabState state;
  state.mode = json.value("mode", std::string("bridge")) == "stick" ? LabMode::Stick
                                                                     : LabMode::Bridge;
  state.stateDir = json.value("state_dir", std::string());
  state.config = json.value("config", std::string());
  state.network = json.value("network", std::string());
  state.devices = json.value("devices", std::string());
  state.socket = json.value("socket", std::string());
  state.templateConfig = json.value("template_config", std::string());
  state.internetVlan = json.value("internet_vlan", uint16_t{0});
  state.networkVlan = json.value("network_vlan", uint16_t{0});
  state.leafFallback = json.value("leaf_fallback", std::string());
  state.unknownV4 = json.value("unknown_ipv4", std::string());
  state.unknownV6 = json.value("unknown_ipv6", std::string());
  state.sluiced = json.value("sluiced", std::string());
  state.sluicedPid = json.value("sluiced_pid", 0);
  state.netns = json.value("netns", std::string());
  state.uiUrl = json.value("ui_url", std::string());
  return state;
}

std::string defaultTemplate() {
  const std::vector<std::string> candidates{
      "examples/lqos.conf",
#ifdef SLUICE_EXAMPLES_DIR
      SLUICE_EXAMPLES_DIR "/lqos.conf",
#endif
      "/usr/share/sluice/examples/lqos.conf"};
  for (const std::string& candidate : candidates) {
    if (fs::exists(candidate)) {
      return fs::absolute(candidate).lexically_normal().string();
    }
  }
  return "";
}

std::string tailFile(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) {
      last.pop_front();
    }
  }
  std::string out;
  for (const std::string& l : last) {
    out += l + "\n";
  }
  return out;
}

Result<LabState> loadLabState(const std::string& stateDir) {
  std::ifstream in(stateDir + "/lab.json");
  if (!in) {
    return makeError(ENOENT, "no lab is up (" + stateDir + "/lab.json missing)");
  }
  try {
    return LabState::fromJson(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    return makeError(EINVAL, stateDir + "/lab.json", e.what());
  }
}

}  // namespace sluice::lab
