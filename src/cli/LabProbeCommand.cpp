// sluice lab probe: registered by addLabProbeCommand (being written; see the issue tracker).

#include "cli/Commands.h"

namespace sluice::cli {

void addLabProbeCommand(CLI::App& /*lab*/, const std::string& /*stateDir*/) {}

}  // namespace sluice::cli
