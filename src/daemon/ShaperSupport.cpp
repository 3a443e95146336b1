#include "daemon/ShaperSupport.h"

#include <filesystem>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace sluice::daemon::detail {

namespace fs = std::filesystem;

std::vector<std::string> inputFiles(const std::string& configPath, const model::Inputs& in) {
  std::vector<std::string> files{configPath, in.resolvedNetwork, in.resolvedDevices};
  if (!in.resolvedOverrides.empty()) {
    files.push_back(in.resolvedOverrides);
  }
  return files;
}

model::InputPaths resolvedPaths(const std::string& configPath, const model::Inputs& in) {
  return model::InputPaths{configPath, in.resolvedNetwork, in.resolvedDevices,
                           in.resolvedOverrides};
}

bool lazyOn(const config::Config& config) {
  return config.queues.lazyQueues != config::LazyQueues::No;
}

const char* triggerName(ReloadTrigger t) {
  switch (t) {
    case ReloadTrigger::Startup:
      return "startup";
    case ReloadTrigger::Sighup:
      return "sighup";
    case ReloadTrigger::Api:
      return "api";
    case ReloadTrigger::Inotify:
      return "inotify";
    case ReloadTrigger::Sync:
      return "sync";
    case ReloadTrigger::Radius:
      return "radius";
    case ReloadTrigger::StormGuard:
      return "stormguard";
    case ReloadTrigger::TreeGuard:
      return "treeguard";
  }
  return "?";
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

nlohmann::json diagnosticsJson(const Diagnostics& diags, Severity severity) {
  auto out = nlohmann::json::array();
  for (const auto& d : diags.all()) {
    if (d.severity != severity) {
      continue;
    }
    out.push_back({{"file", d.where.file},
                   {"line", d.where.line},
                   {"column", d.where.column},
                   {"category", d.category},
                   {"message", d.message},
                   {"value", d.value},
                   {"severity", severity == Severity::Error ? "error" : "warning"}});
  }
  return out;
}

nlohmann::json errorLines(const Diagnostics& diags) {
  auto out = nlohmann::json::array();
  for (const auto& d : diags.errors()) {
    out.push_back(d.toString());
  }
  return out;
}

std::vector<std::string> bridgeNotices(const config::Config& config) {
  std::vector<std::string> out;
  if (!config.bridge || config.bridge->useXdpBridge) {
    return out;
  }
  for (const auto& ifname : {config.bridge->toInternet, config.bridge->toNetwork}) {
    if (!fs::exists("/sys/class/net/" + ifname + "/master")) {
      out.push_back(fmt::format(
          "{} is not a port of a Linux bridge and use_xdp_bridge = false: nothing forwards "
          "between {} and {}; bridge them or set use_xdp_bridge = true",
          ifname, config.bridge->toInternet, config.bridge->toNetwork));
    }
  }
  return out;
}

std::vector<std::string> shapingInterfaces(const config::Config& config) {
  if (config.singleInterface) {
    return {config.singleInterface->interface};
  }
  if (config.bridge) {
    return {config.bridge->toInternet, config.bridge->toNetwork};
  }
  return {};
}

}  // namespace sluice::daemon::detail
