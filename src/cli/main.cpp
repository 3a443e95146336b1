// sluice: the operator's command line. Wiring only; every command's work is in the libraries.

#include <CLI/CLI.hpp>

#include "cli/Commands.h"

namespace sluice::cli {
namespace {
int gExitCode = 0;
}  // namespace
void setExitCode(int code) { gExitCode = code; }
int exitCode() { return gExitCode; }
}  // namespace sluice::cli

int main(int argc, char** argv) {
  CLI::App app{"sluice: QoE traffic shaper for ISPs"};
  app.require_subcommand(1);
  sluice::cli::addCheckCommand(app);
  sluice::cli::addPlanCommand(app);
  sluice::cli::addApplyCommand(app);
  sluice::cli::addTreeCommand(app);
  sluice::cli::addStatusCommand(app);
  sluice::cli::addReloadCommand(app);
  sluice::cli::addLabCommand(app);
  sluice::cli::addUserCommands(app);
  sluice::cli::addIntegrationCommand(app);
  sluice::cli::addHealthCommand(app);
  sluice::cli::addHaCommand(app);
  sluice::cli::addTopCommand(app);
  sluice::cli::addCaptureCommand(app);
  sluice::cli::addTreeGuardCommand(app);
  sluice::cli::addStormGuardCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return sluice::cli::exitCode();
}
