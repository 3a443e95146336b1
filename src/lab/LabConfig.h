#pragma once
// The lab's lqos.conf: the operator's (or the demo's) config with the lab's interfaces, the lab's
// copies of the input files, and the lab's state directory and control socket.

#include <cstdint>
#include <optional>
#include <string>

#include "common/Error.h"
#include "lab/Layout.h"

namespace sluice::lab {

struct LabConfigRequest {
  std::string templatePath;  ///< lqos.conf to start from (every other setting is kept)
  LabMode mode = LabMode::Bridge;
  std::string networkJson;       ///< absolute path of the lab's network.json
  std::string shapedDevicesCsv;  ///< absolute path of the lab's ShapedDevices.csv
  std::string stateDirectory;    ///< sluiced's state directory
  std::string controlSocket;     ///< sluiced's control socket
  /// Set `[sluice] leaf_fallback` to this (when the kernel lacks the configured leaf); nullopt
  /// keeps the template's value.
  std::optional<std::string> leafFallback;
};

/// VLAN ids of a stick lab: the template's `[single_interface]` internet_vlan/network_vlan, else
/// the lqos.conf defaults (2 and 3).
struct StickVlans {
  uint16_t internet = 2;
  uint16_t network = 3;
};

/// Reads the VLANs from the template. Errors: the template cannot be read or is not TOML
/// (EINVAL, with the parser's file:line:column message), or a VLAN is out of 1..4094.
Result<StickVlans> templateVlans(const std::string& templatePath);

/// Writes the lab config to `outPath`: `[bridge]` to_internet = shp-inet, to_network = shp-subs,
/// use_xdp_bridge = false (the lab's Linux bridge forwards), or `[single_interface]` interface =
/// shp-stick with the template's VLANs; `[sluice]` paths from the request; everything else as in
/// the template (comments are not kept). Errors: unreadable or invalid template, unwritable output.
Result<void> writeLabConfig(const LabConfigRequest& request, const std::string& outPath);

}  // namespace sluice::lab
