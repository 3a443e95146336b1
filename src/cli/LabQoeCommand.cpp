// sluice lab qoe: registered by addLabQoeCommand (being written; see the issue tracker).

#include "cli/Commands.h"

namespace sluice::cli {

void addLabQoeCommand(CLI::App& /*lab*/, const std::string& /*stateDir*/) {}

}  // namespace sluice::cli
