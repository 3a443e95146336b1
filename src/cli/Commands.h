#pragma once
// Subcommands of the `sluice` CLI. Each add*Command registers one subcommand on the app; its
// callback sets the process exit code through setExitCode():
//   0 success, 1 the input or the operation failed (every problem printed), 2 usage error.

#include <functional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace sluice::cli {

void setExitCode(int code);
int exitCode();

/// GET `path` on sluiced's control socket `socket` (30 s timeout) and print the answer: as
/// indented JSON with `json`, else through `print` when it is HTTP 200. Transport errors and other
/// statuses go to stderr prefixed by `command` ("sluice treeguard status"). Exit code 0 only for
/// HTTP 200 (StatusRoute.cpp).
void printStatusRoute(const std::string& socket, const std::string& path,
                      const std::string& command, bool json,
                      const std::function<void(const nlohmann::json&)>& print);

void addCheckCommand(CLI::App& app);  ///< sluice check   (CheckCommand.cpp)
void addPlanCommand(CLI::App& app);   ///< sluice plan    (PlanCommand.cpp)
void addApplyCommand(CLI::App& app);  ///< sluice apply   (ApplyCommand.cpp)
void addTreeCommand(CLI::App& app);   ///< sluice tree    (TreeCommand.cpp)
void addStatusCommand(CLI::App& app);  ///< sluice status (StatusCommand.cpp)
void addReloadCommand(CLI::App& app);  ///< sluice reload (StatusCommand.cpp)
void addLabCommand(CLI::App& app);     ///< sluice lab    (LabCommand.cpp)
void addUserCommands(CLI::App& app);   ///< sluice user / sluice apikey (UserCommand.cpp)
void addIntegrationCommand(CLI::App& app);  ///< sluice integration (IntegrationCommand.cpp)
void addHealthCommand(CLI::App& app);  ///< sluice health (HaCommand.cpp)
void addHaCommand(CLI::App& app);      ///< sluice ha compare|check (HaCommand.cpp)
void addTopCommand(CLI::App& app);     ///< sluice top (TopCommand.cpp, TopScreen.cpp)
void addCaptureCommand(CLI::App& app);  ///< sluice capture (CaptureCommand.cpp)
void addTreeGuardCommand(CLI::App& app);  ///< sluice treeguard status (TreeGuardCommand.cpp)
void addStormGuardCommand(CLI::App& app);  ///< sluice stormguard status (StormGuardCommand.cpp)
/// sluice lab ha up|drill|down (LabHaCommand.cpp); `stateDir` as for addLabQoeCommand.
void addLabHaCommand(CLI::App& lab, const std::string& stateDir);
/// sluice lab qoe (LabQoeCommand.cpp); `stateDir` is lab's --state-dir, read when the callback runs.
void addLabQoeCommand(CLI::App& lab, const std::string& stateDir);
/// sluice lab probe (LabProbeCommand.cpp); `stateDir` as for addLabQoeCommand.
void addLabProbeCommand(CLI::App& lab, const std::string& stateDir);

}  // namespace sluice::cli
