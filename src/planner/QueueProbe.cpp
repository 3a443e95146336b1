#include "planner/QueueProbe.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace sluice::plan {

std::optional<uint32_t> countTxQueues(const std::string& ifname, const std::string& sysfsRoot) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::path(sysfsRoot) / ifname / "queues";
  if (ifname.empty() || !fs::is_directory(dir, ec)) {
    return std::nullopt;
  }
  uint32_t count = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().starts_with("tx-")) {
      ++count;
    }
  }
  return ec ? std::nullopt : std::optional<uint32_t>(count);
}

TxQueueProbe probeTxQueues(const config::Config& config, std::optional<uint32_t> cliQueues,
                           uint32_t cpuCount, const std::string& sysfsRoot) {
  if (cliQueues && *cliQueues > 0) {
    return {*cliQueues, QueueCountSource::CommandLine};
  }
  std::vector<std::string> interfaces;
  if (config.singleInterface) {
    interfaces.push_back(config.singleInterface->interface);
  } else {
    const config::BridgeConfig bridge = config.bridge.value_or(config::BridgeConfig{});
    interfaces = {bridge.toNetwork, bridge.toInternet};
  }
  std::optional<uint32_t> least;
  bool all = true;
  for (const std::string& ifname : interfaces) {
    const auto count = countTxQueues(ifname, sysfsRoot);
    if (!count || *count == 0) {
      all = false;
      break;
    }
    least = std::min(least.value_or(*count), *count);
  }
  if (all && least) {
    return {*least, QueueCountSource::Sysfs};
  }
  if (config.queues.overrideAvailableQueues && *config.queues.overrideAvailableQueues > 0) {
    return {*config.queues.overrideAvailableQueues, QueueCountSource::Override};
  }
  return {std::max(cpuCount, 1u), QueueCountSource::CpuCount};
}

std::string describeQueueCount(const config::Config& config, const TxQueueProbe& probe,
                               uint32_t cpuCount, uint16_t queueCount) {
  std::string why;
  const auto& override = config.queues.overrideAvailableQueues;
  if (override && *override > 0) {
    why = fmt::format("queues.override_available_queues = {}", *override);
  } else {
    switch (probe.source) {
      case QueueCountSource::CommandLine:
        why = fmt::format("min({} tx queues (--queues), {} CPUs)", probe.txQueues, cpuCount);
        break;
      case QueueCountSource::Sysfs:
        why = fmt::format("min({} tx queues (sysfs), {} CPUs)", probe.txQueues, cpuCount);
        break;
      case QueueCountSource::Override:
      case QueueCountSource::CpuCount:
        why = fmt::format("{} CPUs (interfaces not in sysfs: tx queues taken as {})", cpuCount,
                          probe.txQueues);
        break;
    }
  }
  return fmt::format("{} queue(s) per direction: {}{}", queueCount, why,
                     config.onAStick() ? ", halved on a stick" : "");
}

}  // namespace sluice::plan
