#pragma once
// Shared by the operator-tool lab tests (UI forward, sluice top, sluice capture): run the built
// `sluice`, decide whether this machine can run a lab, and bring one up for a whole suite. Every
// caller must hold /tmp/sluice-lab.lock (the lab's namespace names are fixed): run them as
//   flock /tmp/sluice-lab.lock ctest --test-dir build -R '<name>'

#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lab/Command.h"

namespace sluice::labtest {

using process::Argv;
using process::CommandOutput;

inline const std::string kSluice = SLUICE_BINARY_DIR "/src/cli/sluice";
inline const std::string kSluiced = SLUICE_BINARY_DIR "/src/daemon/sluiced";
inline const std::string kDemoConfig = SLUICE_SOURCE_DIR "/examples/lqos.conf";

/// Runs `sluice args...`; a failure to start shows as exit code -1 with the reason in err.
inline CommandOutput sluice(Argv args, std::chrono::seconds timeout = std::chrono::seconds(180)) {
  args.insert(args.begin(), kSluice);
  auto output = process::run(args, {}, timeout);
  if (!output) {
    return CommandOutput{-1, "", output.error().message()};
  }
  return *output;
}

/// Runs a shell command line (tools such as curl, tmux, tcpdump).
inline CommandOutput sh(const std::string& line,
                        std::chrono::seconds timeout = std::chrono::seconds(60)) {
  auto output = process::run({"sh", "-c", line}, {}, timeout);
  if (!output) {
    return CommandOutput{-1, "", output.error().message()};
  }
  return *output;
}

/// Why this machine cannot run the lab with `tools` as well, or "" when it can.
inline std::string missingCapability(const std::vector<std::string>& tools) {
  if (geteuid() != 0) {
    return "needs root (network namespaces)";
  }
  std::vector<std::string> all{"ip", "ethtool", "iperf3", "tc"};
  all.insert(all.end(), tools.begin(), tools.end());
  for (const std::string& tool : all) {
    if (sh("command -v " + tool).exitCode != 0) {
      return tool + " is not installed (tools/install-deps.sh)";
    }
  }
  return "";
}

}  // namespace sluice::labtest
