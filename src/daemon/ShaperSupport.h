#pragma once
// Helpers shared by the files of the Shaper (Shaper.cpp: start and adoption; ShaperReload.cpp;
// ShaperDataplane.cpp: data-plane lifecycle, drift and stop; ShaperStatus.cpp; ShaperLazy.cpp;
// ShaperHealth.cpp). Internal to src/daemon.

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "daemon/Shaper.h"
#include "model/Inputs.h"

namespace sluice::daemon::detail {

/// The files whose change triggers a reload: the config, the inputs it names, and the devices
/// overrides file when one is configured (it may not exist yet: the watcher watches directories).
std::vector<std::string> inputFiles(const std::string& configPath, const model::Inputs& in);

/// The paths `in` was loaded from, for the last-good copy.
model::InputPaths resolvedPaths(const std::string& configPath, const model::Inputs& in);

/// [queues] lazy_queues is Htb or Full.
bool lazyOn(const config::Config& config);

/// "startup" | "sighup" | "api" | "inotify" | "sync".
const char* triggerName(ReloadTrigger t);

/// "2026-11-21T14:00:00Z" (UTC, whole seconds).
std::string isoTime(std::chrono::system_clock::time_point t);

/// Diagnostics of one severity as [{"file","line","column","category","message","value",
/// "severity"}].
nlohmann::json diagnosticsJson(const Diagnostics& diags, Severity severity);

/// Every error as its one-line text.
nlohmann::json errorLines(const Diagnostics& diags);

/// Problems with how the two bridge ports are joined: with use_xdp_bridge = false Sluice relies on
/// a Linux bridge, and ports that no bridge joins carry no traffic at all.
std::vector<std::string> bridgeNotices(const config::Config& config);

/// The interfaces the config shapes: [bridge] {to_internet, to_network}, or the single one.
std::vector<std::string> shapingInterfaces(const config::Config& config);

}  // namespace sluice::daemon::detail
