#pragma once
// The schema of lqos.conf: every section and key LibreQoS 2.x reads (lqos_config's v15 structs:
// key names, TOML types and the bounds of their Rust integer types, plus the semantic ranges
// LibreQoS or Sluice enforce), and Sluice's own [sluice] section. Internal to the config module.

#include <span>

#include "config/TomlSchema.h"

namespace sluice::config::detail {

/// Top-level keys and sections of lqos.conf, sections as Table keys with their fields.
std::span<const KeySpec> lqosRootSchema();

}  // namespace sluice::config::detail
