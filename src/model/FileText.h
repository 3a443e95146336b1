#pragma once
// Internal to the model readers: reading an operator's input file whole.

#include <optional>
#include <string>

#include "common/Diagnostics.h"

namespace sluice::model {

/// The bytes of the file at `path`, or nullopt after an "unreadable-file" error naming the path
/// and the OS reason. `what` names the file's role in the message ("network.json").
std::optional<std::string> readInputFile(const std::string& path, const char* what,
                                         Diagnostics& diags);

}  // namespace sluice::model
