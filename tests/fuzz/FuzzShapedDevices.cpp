// libFuzzer target: ShapedDevices.csv bytes through the reader and the cross-file validation.
// Besides the sanitizers it checks the reader's own invariants and traps when one breaks.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/Config.h"
#include "model/Inputs.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Diagnostics diags;
  model::Model model;
  model.network =
      model::parseNetworkJson(R"({"AP_A": {"children": {"AP_B": {}}}})", "network.json", diags);
  model.shaped = model::parseShapedDevices(bytes, "ShapedDevices.csv", diags);

  const auto& shaped = model.shaped;
  check(shaped.byId.size() == shaped.circuits.size());
  check(shaped.circuits.capacity() == shaped.circuits.size());  // sized exactly (issue 5)
  for (size_t i = 0; i < shaped.circuits.size(); ++i) {
    const auto& c = shaped.circuits[i];
    check(!c.id.empty() && shaped.byId.at(c.id) == i && !c.devices.empty());
    check(c.where.line >= 1);
    check(c.devices.capacity() == c.devices.size());
    for (const auto& d : c.devices) {
      check(d.ipv4.size() + d.ipv6.size() == d.addressPositions.size());
      for (const auto& net : d.ipv4) {
        check(net.isV4);
      }
      for (const auto& net : d.ipv6) {
        check(!net.isV4);
      }
    }
  }
  config::Config config;
  config.ipRanges.allowSubnets = {"10.0.0.0/8", "2001:db8::/32"};
  config.ipRanges.ignoreSubnets = {"10.9.0.0/16"};
  validateModel(model, config, diags);
  for (const auto& d : diags.all()) {
    check(d.where.file == "ShapedDevices.csv" || d.where.file == "network.json");
    check(!d.category.empty());
  }
  return 0;
}
