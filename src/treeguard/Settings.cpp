#include "treeguard/Settings.h"

#include <fmt/format.h>

#include "config/OtherSection.h"

namespace sluice::treeguard {
namespace {

// Keys of the nested tables are read as "cpu.mode", "links.enabled", ... (OtherSection joins a
// nested table's keys with '.'). Types and ranges were checked by the schema when the config was
// loaded; what is left here are the rules that tie two keys together.

Result<void> readCpu(config::OtherSection& s, CpuSettings& cpu) {
  std::string mode = "cpu_aware";
  s.read("cpu.mode", mode);
  if (mode == "cpu_aware") {
    cpu.mode = CpuMode::CpuAware;
  } else if (mode == "traffic_rtt_only") {
    cpu.mode = CpuMode::TrafficRttOnly;
  } else {
    return s.invalid("cpu.mode", "cpu_aware or traffic_rtt_only");
  }
  s.read("cpu.cpu_high_pct", cpu.cpuHighPct);
  s.read("cpu.cpu_low_pct", cpu.cpuLowPct);
  if (cpu.cpuLowPct > cpu.cpuHighPct) {
    return s.invalid("cpu.cpu_low_pct", fmt::format("at most cpu_high_pct ({})", cpu.cpuHighPct));
  }
  return {};
}

Result<void> readLinks(config::OtherSection& s, LinkSettings& l) {
  s.read("links.enabled", l.enabled);
  s.read("links.all_nodes", l.allNodes);
  s.read("links.nodes", l.nodes);
  s.read("links.idle_util_pct", l.idleUtilPct);
  s.read("links.idle_min_minutes", l.idleMinMinutes);
  s.read("links.rtt_missing_seconds", l.rttMissingSeconds);
  s.read("links.unvirtualize_util_pct", l.unvirtualizeUtilPct);
  s.read("links.min_state_dwell_minutes", l.minStateDwellMinutes);
  s.read("links.max_link_changes_per_hour", l.maxLinkChangesPerHour);
  s.read("links.reload_cooldown_minutes", l.reloadCooldownMinutes);
  s.read("links.top_level_auto_virtualize", l.topLevelAutoVirtualize);
  s.read("links.top_level_safe_util_pct", l.topLevelSafeUtilPct);
  if (l.unvirtualizeUtilPct < l.idleUtilPct) {
    return s.invalid("links.unvirtualize_util_pct",
                     fmt::format("at least links.idle_util_pct ({})", l.idleUtilPct));
  }
  return {};
}

Result<void> readCircuits(config::OtherSection& s, CircuitSettings& c) {
  s.read("circuits.enabled", c.enabled);
  s.read("circuits.all_circuits", c.allCircuits);
  s.read("circuits.circuits", c.circuits);
  s.read("circuits.switching_enabled", c.switchingEnabled);
  s.read("circuits.independent_directions", c.independentDirections);
  s.read("circuits.idle_util_pct", c.idleUtilPct);
  s.read("circuits.idle_min_minutes", c.idleMinMinutes);
  s.read("circuits.rtt_missing_seconds", c.rttMissingSeconds);
  s.read("circuits.upgrade_util_pct", c.upgradeUtilPct);
  s.read("circuits.min_switch_dwell_minutes", c.minSwitchDwellMinutes);
  s.read("circuits.max_switches_per_hour", c.maxSwitchesPerHour);
  s.read("circuits.persist_sqm_overrides", c.persistSqmOverrides);
  if (c.upgradeUtilPct < c.idleUtilPct) {
    return s.invalid("circuits.upgrade_util_pct",
                     fmt::format("at least circuits.idle_util_pct ({})", c.idleUtilPct));
  }
  return {};
}

}  // namespace

Result<Settings> readSettings(const config::Config& config) {
  Settings s;
  config::OtherSection section(config, "treeguard");
  section.read("enabled", s.enabled);
  section.read("dry_run", s.dryRun);
  section.read("tick_seconds", s.tickSeconds);
  if (s.tickSeconds == 0) {
    return section.invalid("tick_seconds", "at least 1");
  }
  if (auto r = readCpu(section, s.cpu); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = readLinks(section, s.links); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = readCircuits(section, s.circuits); !r) {
    return std::unexpected(r.error());
  }
  section.read("qoo.enabled", s.qoo.enabled);
  section.read("qoo.min_score", s.qoo.minScore);
  return s;
}

}  // namespace sluice::treeguard
