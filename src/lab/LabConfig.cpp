#include "lab/LabConfig.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace sluice::lab {

namespace {

Result<toml::table> parseTemplate(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return makeError(errno, "cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return toml::parse(text.str(), std::string_view(path));
  } catch (const toml::parse_error& error) {
    return makeError(EINVAL, fmt::format("{}:{}:{}: {}", path, error.source().begin.line,
                                         error.source().begin.column, error.description()));
  }
}

Result<uint16_t> vlanOf(const toml::table& single, const char* key, uint16_t fallback,
                        const std::string& path) {
  const auto value = single[key].value<int64_t>();
  if (!value) {
    return fallback;
  }
  if (*value < 1 || *value > 4094) {
    return makeError(EINVAL, fmt::format("{}: [single_interface] {} = {} is not a VLAN id "
                                         "(1..4094)", path, key, *value));
  }
  return static_cast<uint16_t>(*value);
}

}  // namespace

Result<StickVlans> templateVlans(const std::string& templatePath) {
  auto table = parseTemplate(templatePath);
  if (!table) {
    return std::unexpected(table.error());
  }
  StickVlans vlans;
  if (const toml::table* single = (*table)["single_interface"].as_table()) {
    auto internet = vlanOf(*single, "internet_vlan", vlans.internet, templatePath);
    auto network = vlanOf(*single, "network_vlan", vlans.network, templatePath);
    if (!internet) {
      return std::unexpected(internet.error());
    }
    if (!network) {
      return std::unexpected(network.error());
    }
    vlans = {*internet, *network};
  }
  return vlans;
}

Result<void> writeLabConfig(const LabConfigRequest& request, const std::string& outPath) {
  auto table = parseTemplate(request.templatePath);
  if (!table) {
    return std::unexpected(table.error());
  }
  if (request.mode == LabMode::Bridge) {
    table->erase("single_interface");
    table->insert_or_assign("bridge", toml::table{{"use_xdp_bridge", false},
                                                  {"to_internet", kShaperInternetIf},
                                                  {"to_network", kShaperNetworkIf}});
  } else {
    auto vlans = templateVlans(request.templatePath);
    if (!vlans) {
      return std::unexpected(vlans.error());
    }
    table->erase("bridge");
    table->insert_or_assign("single_interface",
                            toml::table{{"interface", kShaperStickIf},
                                        {"internet_vlan", static_cast<int64_t>(vlans->internet)},
                                        {"network_vlan", static_cast<int64_t>(vlans->network)}});
  }
  if (!(*table)["sluice"].is_table()) {
    table->insert_or_assign("sluice", toml::table{});
  }
  toml::table& sluice = *(*table)["sluice"].as_table();
  sluice.insert_or_assign("network_json", request.networkJson);
  sluice.insert_or_assign("shaped_devices_csv", request.shapedDevicesCsv);
  sluice.insert_or_assign("state_directory", request.stateDirectory);
  sluice.insert_or_assign("control_socket", request.controlSocket);
  if (request.leafFallback) {
    sluice.insert_or_assign("leaf_fallback", *request.leafFallback);
  }
  std::ofstream out(outPath, std::ios::trunc);
  out << "# Written by `sluice lab up` from " << request.templatePath << "\n"
      << "# (interfaces, input paths, state directory and socket are the lab's).\n\n"
      << *table << "\n";
  out.close();
  if (!out) {
    return makeError(errno, "cannot write " + outPath);
  }
  return {};
}

}  // namespace sluice::lab
