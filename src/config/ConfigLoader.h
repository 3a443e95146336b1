#pragma once
// Reading lqos.conf (TOML). Every problem goes to `diags` with file:line:column; unknown keys are
// reported (as warnings, since LibreQoS adds keys between releases) rather than silently ignored.

#include <optional>
#include <string>
#include <string_view>

#include "common/Diagnostics.h"
#include "config/Config.h"

namespace sluice::config {

/// Parses lqos.conf text. `fileName` is used only in diagnostics. Returns nullopt when the text is
/// not valid TOML or a value has the wrong type/range (errors in `diags`); defaults fill in every
/// key that is absent.
std::optional<Config> parseConfig(std::string_view text, const std::string& fileName,
                                  Diagnostics& diags);

/// Reads and parses the file at `path`; an unreadable file is an error naming the path.
std::optional<Config> loadConfig(const std::string& path, Diagnostics& diags);

}  // namespace sluice::config
