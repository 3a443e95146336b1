#include "treeguard/Settings.h"

#include <toml++/toml.h>

#include <fmt/format.h>

namespace sluice::treeguard {
namespace {

// Reads keys of one [treeguard] table from the flat "key = TOML text" map. Each value is parsed
// on its own as "v = TEXT"; the parsed table lives while its node is read.
class SectionReader {
 public:
  SectionReader(const std::map<std::string, std::string>* keys, std::string prefix)
      : keys_(keys), prefix_(std::move(prefix)) {}

  template <typename T>
  Result<void> read(const char* key, T& out) const {
    const std::string* raw = find(key);
    if (raw == nullptr) {
      return {};
    }
    toml::table table;
    try {
      table = toml::parse("v = " + *raw);
    } catch (const toml::parse_error&) {
      return bad(key, *raw, "is not TOML");
    }
    const toml::node* node = table.get("v");
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      const toml::array* array = node->as_array();
      if (array == nullptr) {
        return bad(key, *raw, "is not an array of strings");
      }
      out.clear();
      for (const toml::node& item : *array) {
        std::optional<std::string> text = item.value<std::string>();
        if (!text) {
          return bad(key, *raw, "is not an array of strings");
        }
        out.push_back(*text);
      }
    } else if constexpr (std::is_same_v<T, double>) {
      std::optional<double> v = node->value<double>();  // integers convert too
      if (!v) {
        return bad(key, *raw, "is not a number");
      }
      out = *v;
    } else if constexpr (std::is_same_v<T, uint32_t>) {
      std::optional<int64_t> v = node->value<int64_t>();
      if (!v || *v < 0 || *v > int64_t{UINT32_MAX}) {
        return bad(key, *raw, "is not an unsigned 32-bit integer");
      }
      out = static_cast<uint32_t>(*v);
    } else {
      std::optional<T> v = node->value<T>();
      if (!v || !node->is<T>()) {
        return bad(key, *raw, "has the wrong type");
      }
      out = *v;
    }
    return {};
  }

  const std::string* find(const char* key) const {
    if (keys_ == nullptr) {
      return nullptr;
    }
    auto it = keys_->find(prefix_.empty() ? std::string(key) : prefix_ + "." + key);
    return it == keys_->end() ? nullptr : &it->second;
  }

  std::unexpected<Error> bad(const char* key, const std::string& raw, const char* what) const {
    return makeError(EINVAL, context(key), fmt::format("{} {}", raw, what));
  }

  std::string context(const char* key) const {
    return prefix_.empty() ? fmt::format("[treeguard] {}", key)
                           : fmt::format("[treeguard.{}] {}", prefix_, key);
  }

 private:
  const std::map<std::string, std::string>* keys_;
  std::string prefix_;
};

// Returns from the calling function with the error of a failed read.
#define TG_READ(reader, key, field)                     \
  if (auto read_ = (reader).read(key, field); !read_) { \
    return std::unexpected(std::move(read_.error()));   \
  }

Result<void> readCpu(const SectionReader& r, CpuSettings& cpu) {
  std::string mode = "cpu_aware";
  TG_READ(r, "mode", mode);
  if (mode == "cpu_aware") {
    cpu.mode = CpuMode::CpuAware;
  } else if (mode == "traffic_rtt_only") {
    cpu.mode = CpuMode::TrafficRttOnly;
  } else {
    return makeError(EINVAL, r.context("mode"),
                     fmt::format("\"{}\" is not cpu_aware or traffic_rtt_only", mode));
  }
  TG_READ(r, "cpu_high_pct", cpu.cpuHighPct);
  TG_READ(r, "cpu_low_pct", cpu.cpuLowPct);
  if (cpu.cpuLowPct > cpu.cpuHighPct) {
    return makeError(EINVAL, r.context("cpu_low_pct"),
                     fmt::format("{} is above cpu_high_pct {}", cpu.cpuLowPct, cpu.cpuHighPct));
  }
  return {};
}

Result<void> readLinks(const SectionReader& r, LinkSettings& l) {
  TG_READ(r, "enabled", l.enabled);
  TG_READ(r, "all_nodes", l.allNodes);
  TG_READ(r, "nodes", l.nodes);
  TG_READ(r, "idle_util_pct", l.idleUtilPct);
  TG_READ(r, "idle_min_minutes", l.idleMinMinutes);
  TG_READ(r, "rtt_missing_seconds", l.rttMissingSeconds);
  TG_READ(r, "unvirtualize_util_pct", l.unvirtualizeUtilPct);
  TG_READ(r, "min_state_dwell_minutes", l.minStateDwellMinutes);
  TG_READ(r, "max_link_changes_per_hour", l.maxLinkChangesPerHour);
  TG_READ(r, "reload_cooldown_minutes", l.reloadCooldownMinutes);
  TG_READ(r, "top_level_auto_virtualize", l.topLevelAutoVirtualize);
  TG_READ(r, "top_level_safe_util_pct", l.topLevelSafeUtilPct);
  if (l.unvirtualizeUtilPct < l.idleUtilPct) {
    return makeError(
        EINVAL, r.context("unvirtualize_util_pct"),
        fmt::format("{} is below idle_util_pct {}", l.unvirtualizeUtilPct, l.idleUtilPct));
  }
  return {};
}

Result<void> readCircuits(const SectionReader& r, CircuitSettings& c) {
  TG_READ(r, "enabled", c.enabled);
  TG_READ(r, "all_circuits", c.allCircuits);
  TG_READ(r, "circuits", c.circuits);
  TG_READ(r, "switching_enabled", c.switchingEnabled);
  TG_READ(r, "independent_directions", c.independentDirections);
  TG_READ(r, "idle_util_pct", c.idleUtilPct);
  TG_READ(r, "idle_min_minutes", c.idleMinMinutes);
  TG_READ(r, "rtt_missing_seconds", c.rttMissingSeconds);
  TG_READ(r, "upgrade_util_pct", c.upgradeUtilPct);
  TG_READ(r, "min_switch_dwell_minutes", c.minSwitchDwellMinutes);
  TG_READ(r, "max_switches_per_hour", c.maxSwitchesPerHour);
  TG_READ(r, "persist_sqm_overrides", c.persistSqmOverrides);
  if (c.upgradeUtilPct < c.idleUtilPct) {
    return makeError(EINVAL, r.context("upgrade_util_pct"),
                     fmt::format("{} is below idle_util_pct {}", c.upgradeUtilPct, c.idleUtilPct));
  }
  return {};
}

}  // namespace

Result<Settings> readSettings(const config::Config& config) {
  Settings s;
  auto section = config.otherSections.find("treeguard");
  const auto* keys = section == config.otherSections.end() ? nullptr : &section->second;
  const SectionReader top(keys, "");
  TG_READ(top, "enabled", s.enabled);
  TG_READ(top, "dry_run", s.dryRun);
  TG_READ(top, "tick_seconds", s.tickSeconds);
  if (s.tickSeconds == 0) {
    return makeError(EINVAL, top.context("tick_seconds"), "0 (must be at least 1)");
  }
  if (auto r = readCpu(SectionReader(keys, "cpu"), s.cpu); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = readLinks(SectionReader(keys, "links"), s.links); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = readCircuits(SectionReader(keys, "circuits"), s.circuits); !r) {
    return std::unexpected(r.error());
  }
  const SectionReader qoo(keys, "qoo");
  TG_READ(qoo, "enabled", s.qoo.enabled);
  TG_READ(qoo, "min_score", s.qoo.minScore);
  return s;
}

}  // namespace sluice::treeguard
