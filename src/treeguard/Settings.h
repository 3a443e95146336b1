#pragma once
// The `[treeguard]` section of lqos.conf, typed. Key names and defaults are LibreQoS's
// (lqos_config/src/etc/v15/treeguard.rs, shared/reference/libreqos-behaviour.md §3); the schema
// (config/LqosSchema.cpp kTreeguard*) has already checked each key's type and range when the
// config was loaded, so this only reads them and checks the rules that tie two keys together.

#include <cstdint>
#include <string>
#include <vector>

#include "common/Error.h"
#include "config/Config.h"

namespace sluice::treeguard {

/// `[treeguard.cpu] mode`: "cpu_aware" gates CPU-saving actions on the busiest core's load;
/// "traffic_rtt_only" ignores CPU (saving always allowed, never reverted for CPU).
enum class CpuMode : uint8_t { CpuAware, TrafficRttOnly };

struct CpuSettings {
  CpuMode mode = CpuMode::CpuAware;
  double cpuHighPct = 75;  ///< cpu_high_pct: saving allowed when the busiest core is >= this
  double cpuLowPct = 55;   ///< cpu_low_pct: savings reverted when the busiest core is <= this
  bool operator==(const CpuSettings&) const = default;
};

/// `[treeguard.links]`: virtualisation of idle nodes (off by default).
struct LinkSettings {
  bool enabled = false;
  bool allNodes = true;
  std::vector<std::string> nodes;  ///< the allowlist when all_nodes is false
  double idleUtilPct = 2.0;
  uint32_t idleMinMinutes = 15;
  uint32_t rttMissingSeconds = 120;
  double unvirtualizeUtilPct = 5.0;
  uint32_t minStateDwellMinutes = 30;
  uint32_t maxLinkChangesPerHour = 4;
  uint32_t reloadCooldownMinutes = 10;  ///< typed, not used yet (docs/treeguard.md)
  bool topLevelAutoVirtualize = false;  ///< typed, not used yet (docs/treeguard.md)
  double topLevelSafeUtilPct = 85;      ///< typed, not used yet
  bool operator==(const LinkSettings&) const = default;
};

/// `[treeguard.circuits]`: CAKE <-> fq_codel switching of idle circuits (on by default).
struct CircuitSettings {
  bool enabled = true;
  bool allCircuits = true;
  std::vector<std::string> circuits;  ///< the allowlist when all_circuits is false
  bool switchingEnabled = true;
  bool independentDirections = true;
  double idleUtilPct = 2.0;
  uint32_t idleMinMinutes = 15;
  uint32_t rttMissingSeconds = 120;  ///< typed; a missing RTT never reverts a circuit
  double upgradeUtilPct = 5.0;       ///< >= idle_util_pct
  uint32_t minSwitchDwellMinutes = 30;
  uint32_t maxSwitchesPerHour = 4;
  bool persistSqmOverrides = true;  ///< daemon/TreeGuardService.h keeps them in the state dir
  bool operator==(const CircuitSettings&) const = default;
};

/// `[treeguard.qoo]`: the Quality of Outcome score gate.
struct QooSettings {
  bool enabled = true;
  double minScore = 70;  ///< a score below this is "poor quality"
  bool operator==(const QooSettings&) const = default;
};

struct Settings {
  bool enabled = true;
  bool dryRun = false;
  uint32_t tickSeconds = 1;
  CpuSettings cpu;
  LinkSettings links;
  CircuitSettings circuits;
  QooSettings qoo;
  bool operator==(const Settings&) const = default;
};

/// Reads config.otherSections["treeguard"] through config::OtherSection (absent keys, and keys of
/// another type, which the schema refuses when the config is loaded, keep the defaults above).
/// Errors (EINVAL, "lqos.conf: treeguard.<table>.<key> = <value>: <expected>"): an unknown cpu
/// mode (refused by the schema too; kept for configs built in code), cpu_low_pct > cpu_high_pct,
/// upgrade_util_pct < idle_util_pct, unvirtualize_util_pct < links idle_util_pct, tick_seconds 0.
Result<Settings> readSettings(const config::Config& config);

}  // namespace sluice::treeguard
