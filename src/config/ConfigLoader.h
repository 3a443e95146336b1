#pragma once
// Reading lqos.conf (TOML). Every problem goes to `diags` with file:line:column; unknown keys are
// reported (as warnings, since LibreQoS adds keys between releases) rather than silently ignored.
//
// What is read: the top-level keys, [bridge] / [single_interface], [queues], [ip_ranges] and
// Sluice's [sluice] into typed Config fields; every other section LibreQoS 2.x knows (tuning,
// long_term_stats, flows, integration_common, *_integration, influxdb, usage_stats, stormguard,
// treeguard, ...) is type- and range-checked against LibreQoS's own types and stored as TOML text
// in Config::otherSections. The legacy [spylnx_integration] / enable_spylnx spelling is stored as
// [splynx_integration] / enable_splynx, as LibreQoS reads it.
//
// Diagnostic categories (all errors except unknown-key):
//   toml-syntax             not TOML (position as toml++ or the pre-pass reports it)
//   toml-unsupported        valid TOML toml++ 3.3 cannot read safely (config/TomlPrecheck.h)
//   file-unreadable         loadConfig() could not read the file
//   unknown-key             (warning) a key or section LibreQoS and Sluice do not have
//   wrong-type              e.g. a string where a number belongs
//   out-of-range            a number outside its type's or LibreQoS's bounds
//   invalid-value           a string outside its allowed set (queue_mode, lazy_queues, ...)
//                           or an empty [sluice] path
//   invalid-bandwidth       a [queues] Mbps value that is not > 0
//   invalid-vlan            a VLAN id outside 1..4094
//   same-vlan               internet_vlan == network_vlan
//   invalid-interface-name  not a Linux ifname (1..15 bytes, no '/', ':' or whitespace)
//   same-interface          bridge.to_internet == bridge.to_network
//   interface-mode-conflict both [bridge] and [single_interface]
//   interface-mode-missing  neither of them (reported at line 0: the whole file)
//   invalid-subnet          an ip_ranges / flows.do_not_track_subnets entry that is not an
//                           address or CIDR with zero host bits
//   invalid-sqm             queues.default_sqm or sluice.leaf_fallback (config/Sqm.h)
//   unsupported-version     version other than "1.5"
//   stormguard-no-targets   stormguard enabled for listed sites but none listed
//   invalid-listen-address  sluice.webserver_listen not HOST:PORT / [V6]:PORT
// Messages name the key ("queues.lazy_queues"); Diagnostic::value holds the offending value as
// TOML text. Diagnostics are added in document order.

#include <optional>
#include <string>
#include <string_view>

#include "common/Diagnostics.h"
#include "config/Config.h"

namespace sluice::config {

/// Parses lqos.conf text. `fileName` is used only in diagnostics. Returns nullopt when the text is
/// not valid TOML or a value has the wrong type/range (errors in `diags`); defaults fill in every
/// key that is absent. Never throws for bad input.
std::optional<Config> parseConfig(std::string_view text, const std::string& fileName,
                                  Diagnostics& diags);

/// Reads and parses the file at `path`; an unreadable file is an error naming the path.
std::optional<Config> loadConfig(const std::string& path, Diagnostics& diags);

}  // namespace sluice::config
