#pragma once
// `sluice check` against a running sluiced: asks the daemon to validate the files its running
// config names (POST /api/check), applying nothing.

#include <string>

namespace sluice::cli {

/// Posts /api/check to the sluiced listening on `socketPath` and prints the answer: the raw JSON
/// when `json`, else "valid"/"invalid" with every error (and warning) line, on stdout. A daemon
/// that cannot be reached or answers with an error is reported on stderr.
/// Returns the exit code: 0 the inputs are valid, 1 they are not or the check could not run.
int runRemoteCheck(const std::string& socketPath, bool json);

}  // namespace sluice::cli
