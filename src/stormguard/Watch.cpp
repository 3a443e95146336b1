#include "stormguard/Watch.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "common/AtomicFile.h"

namespace sluice::stormguard {

using nlohmann::json;

Selection selectTargets(const Settings& settings, const model::Network& network,
                        const plan::QueuePlan& plan) {
  Selection out;
  if (!settings.enabled) {
    return out;
  }
  std::unordered_map<std::string, const plan::NodePlacement*> placed;
  for (const plan::NodePlacement& np : plan.nodes) {
    if (!np.generated) {
      placed.emplace(np.name, &np);
    }
  }
  auto add = [&](const model::Node& node) {
    auto it = placed.find(node.name);
    if (it == placed.end() || it->second->isVirtual) {
      out.missing.push_back(node.name + ": virtual (no class to shape)");
      return;
    }
    out.nodes.push_back({node.name, it->second->downloadMaxMbps, it->second->uploadMaxMbps,
                         node.downloadMbps, node.uploadMbps});
  };
  if (settings.allSites) {
    for (const model::Node& node : network.nodes) {
      const bool excluded =
          std::ranges::find(settings.excludeSites, node.name) != settings.excludeSites.end();
      if (node.children.empty() && !node.isVirtual && !excluded) {
        add(node);
      }
    }
    return out;
  }
  // Targets in network.json order, so status and logs read like the operator's tree.
  for (const model::Node& node : network.nodes) {
    if (std::ranges::find(settings.targets, node.name) != settings.targets.end()) {
      add(node);
    }
  }
  for (const std::string& target : settings.targets) {
    if (network.find(target) == model::kNoNode) {
      out.missing.push_back(target + ": no such node in network.json");
    }
  }
  return out;
}

void setOperatorRates(Selection& selection, const model::Network& operatorNetwork) {
  for (WatchedNode& node : selection.nodes) {
    const int32_t index = operatorNetwork.find(node.name);
    if (index == model::kNoNode) {
      node.operatorDownMbps = node.operatorUpMbps = -1;
      continue;
    }
    const model::Node& n = operatorNetwork.nodes[static_cast<size_t>(index)];
    node.operatorDownMbps = n.downloadMbps;
    node.operatorUpMbps = n.uploadMbps;
  }
}

json adjustmentsJson(const std::vector<Adjustment>& adjustments) {
  json list = json::array();
  auto rate = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  for (const Adjustment& a : adjustments) {
    list.push_back({{"node", a.node},
                    {"download_mbps", rate(a.downMbps)},
                    {"upload_mbps", rate(a.upMbps)},
                    {"planned_download_mbps", a.plannedDownMbps},
                    {"planned_upload_mbps", a.plannedUpMbps},
                    {"operator_download_mbps", a.operatorDownMbps},
                    {"operator_upload_mbps", a.operatorUpMbps}});
  }
  return {{"version", 1}, {"adjustments", std::move(list)}};
}

Result<std::vector<Adjustment>> parseAdjustments(const std::string& text, const std::string& name) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return makeError(EINVAL, name, "not a JSON object");
  }
  if (doc.value("version", 0) != 1 || !doc.contains("adjustments") ||
      !doc["adjustments"].is_array()) {
    return makeError(EINVAL, name, "expected {\"version\": 1, \"adjustments\": [...]}");
  }
  std::vector<Adjustment> out;
  size_t i = 0;
  for (const json& e : doc["adjustments"]) {
    const std::string where = fmt::format("{}: adjustments[{}]", name, i++);
    auto number = [&](const char* key, double& v) -> bool {
      if (!e.contains(key) || !e[key].is_number()) {
        return false;
      }
      v = e[key].get<double>();
      return true;
    };
    auto rate = [&](const char* key, std::optional<double>& v) -> bool {
      if (!e.contains(key) || e[key].is_null()) {
        return true;
      }
      if (!e[key].is_number() || !(e[key].get<double>() > 0)) {
        return false;
      }
      v = e[key].get<double>();
      return true;
    };
    Adjustment a;
    if (!e.is_object() || !e.contains("node") || !e["node"].is_string()) {
      return makeError(EINVAL, where, "needs a \"node\" name");
    }
    a.node = e["node"].get<std::string>();
    if (!rate("download_mbps", a.downMbps) || !rate("upload_mbps", a.upMbps)) {
      return makeError(EINVAL, where, "download_mbps/upload_mbps must be positive or null");
    }
    if (!number("planned_download_mbps", a.plannedDownMbps) ||
        !number("planned_upload_mbps", a.plannedUpMbps) ||
        !number("operator_download_mbps", a.operatorDownMbps) ||
        !number("operator_upload_mbps", a.operatorUpMbps)) {
      return makeError(EINVAL, where, "planned_*_mbps and operator_*_mbps must be numbers");
    }
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<Adjustment>> loadAdjustments(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT || !std::filesystem::exists(path)) {
      return std::vector<Adjustment>{};
    }
    return makeError(errno, "read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseAdjustments(text.str(), path);
}

Result<void> saveAdjustments(const std::string& path, const std::vector<Adjustment>& adjustments) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) {
    return makeError(ec.value(), "create the directory of " + path);
  }
  return writeFileAtomically(path, adjustmentsJson(adjustments).dump(1) + "\n");
}

}  // namespace sluice::stormguard
