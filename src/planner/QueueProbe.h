#pragma once
// How many tx queues the shaping interfaces have, for `sluice plan` / `sluice check` (and later
// sluiced). Reads sysfs only; no netlink, no privileges.

#include <cstdint>
#include <optional>
#include <string>

#include "config/Config.h"

namespace sluice::plan {

/// Number of `tx-*` entries in <sysfsRoot>/<ifname>/queues (Linux exposes one directory per tx
/// queue there; LibreQoS findQueuesAvailable counts the same); nullopt when that directory does
/// not exist (no such interface on this machine).
std::optional<uint32_t> countTxQueues(const std::string& ifname,
                                      const std::string& sysfsRoot = "/sys/class/net");

/// Where the available tx queue count came from.
enum class QueueCountSource : uint8_t { CommandLine, Sysfs, Override, CpuCount };

struct TxQueueProbe {
  uint32_t txQueues = 1;
  QueueCountSource source = QueueCountSource::CpuCount;
};

/// The tx queues the planner is given (PlannerInput::availableTxQueues), first that applies:
/// `cliQueues` (--queues), the minimum over the configured interfaces' sysfs counts when every one
/// of them exists, `queues.override_available_queues`, else `cpuCount`.
TxQueueProbe probeTxQueues(const config::Config& config, std::optional<uint32_t> cliQueues,
                           uint32_t cpuCount, const std::string& sysfsRoot = "/sys/class/net");

/// One line for humans, e.g. "4 queue(s) per direction: min(8 tx queues (sysfs), 4 CPUs)",
/// "... min(6 tx queues (--queues), 4 CPUs)", "... 2 CPUs (interfaces not in sysfs: tx queues
/// taken as 2)" or "... queues.override_available_queues = 16, halved on a stick".
std::string describeQueueCount(const config::Config& config, const TxQueueProbe& probe,
                               uint32_t cpuCount, uint16_t queueCount);

}  // namespace sluice::plan
