#pragma once
// The HA lab's network (lab/HaLab.h has the diagram): the routers and their FRR daemons, the
// endpoints, the shaper paths and the routing hook script. Internal to src/lab (HaLab.cpp,
// HaDrill.cpp use it through HaLab.h's public functions).

#include <filesystem>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"
#include "lab/HaLab.h"

namespace sluice::lab {

inline constexpr const char* kHaServerAddress = "198.51.100.1";  // RFC 5737, in ha-inet
inline constexpr const char* kZebra = "/usr/lib/frr/zebra";
inline constexpr const char* kOspfd = "/usr/lib/frr/ospfd";

/// Writes `text` to `path` (truncating) with `perms`. Errors: the errno, naming the path.
Result<void> writeText(const std::string& path, const std::string& text,
                       std::filesystem::perms perms);

/// frr.conf of one router: the four transit interfaces point-to-point, hello 1 s, dead 3 s, the
/// paths' costs (core: core-a/core-b; dist: dist-a/dist-b), SPF and LSA timers at their
/// fastest, connected and kernel routes redistributed, area 0 on the transit /30s.
std::string frrConfig(const std::string& router, const std::string& routerId, bool core,
                      const std::string& logFile);

/// Starts zebra and ospfd in namespace `ns` with pathspace `ns` (/run/frr/<ns>/: vtysh -N <ns>
/// reaches them), config, pid files and logs in `dir`. Errors name the failing command.
Result<void> startFrr(const std::string& ns, const std::string& dir, const std::string& conf);

/// Writes <stateDir>/ospf-cost.sh (CORE_IF DIST_IF COST: vtysh on both routers); returns its
/// path.
Result<std::string> writeHookScript(const std::string& stateDir);

/// Creates every HA namespace (no IPv6), forwarding on the routers (rp_filter off), the Internet
/// and subscriber links with their addresses and routes (one /32 kernel route per subscriber
/// host on ha-dist), and both shaper paths (createHaPath).
Result<void> buildRouters(const std::vector<IpNet>& hosts);

}  // namespace sluice::lab
