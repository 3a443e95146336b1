#pragma once
// Running external programs (the lab's ip, ethtool, tc, iperf3, sluiced; the HA routing hook's
// commands) as child processes with an argv vector: no shell, no command strings. Output is
// captured in memory files (memfd), so many children can run at once without a pipe filling up
// and blocking one of them.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/Error.h"

namespace sluice::process {

using Argv = std::vector<std::string>;

/// What a finished child left behind.
struct CommandOutput {
  int exitCode = 0;  ///< exit status; 128 + signal number when killed by a signal
  std::string out;   ///< everything it wrote to stdout
  std::string err;   ///< everything it wrote to stderr
};

/// "ip -n shaper link add ..." (for messages; arguments with spaces are quoted).
std::string describe(const Argv& argv);

/// A child started with its stdout/stderr captured. Move-only; the destructor kills (SIGKILL) and
/// reaps a child that was never waited for, so no child outlives an early return.
class Child {
 public:
  /// Starts argv[0] (searched in PATH when it has no '/'), stdin from `input` (empty: /dev/null).
  /// With `ownProcessGroup` the child leads a new process group, and a timeout in wait() (or the
  /// destructor) kills the whole group: a hook script's own children do not outlive it.
  /// Errors: ENOENT when the program is not found (the message names it), else the errno of
  /// memfd_create/posix_spawn.
  static Result<Child> start(const Argv& argv, const std::string& input = {},
                             bool ownProcessGroup = false);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  /// Waits for the child to exit, at most `timeout` (then SIGKILL; the error is ETIMEDOUT naming
  /// the command and the stderr it had written). A non-zero exit is not an error here.
  Result<CommandOutput> wait(std::chrono::milliseconds timeout = std::chrono::minutes(2));

  pid_t pid() const { return pid_; }
  const Argv& argv() const { return argv_; }

 private:
  Child() = default;
  void reset();
  void killChild();
  Argv argv_;
  pid_t pid_ = -1;
  bool group_ = false;
  int outFd_ = -1;
  int errFd_ = -1;
};

/// Runs argv to completion. Errors: start failures and timeouts (see Child); a non-zero exit is
/// returned in CommandOutput::exitCode, not as an error.
Result<CommandOutput> run(const Argv& argv, const std::string& input = {},
                          std::chrono::milliseconds timeout = std::chrono::minutes(2));

/// Runs argv and requires exit status 0; returns its stdout. A non-zero exit is an error whose
/// context is the command line and whose detail is the command's stderr (trimmed).
Result<std::string> runChecked(const Argv& argv, const std::string& input = {},
                               std::chrono::milliseconds timeout = std::chrono::minutes(2));

/// Starts argv as a long-running background process in its own session (it survives the caller),
/// stdin /dev/null, stdout and stderr appended to `logPath`. Returns its pid. The caller does not
/// reap it: whoever stops it (`sluice lab down`) signals the pid read back from a pid file.
Result<pid_t> startDetached(const Argv& argv, const std::string& logPath);

/// True when a process with this pid exists and is not a zombie.
bool processAlive(pid_t pid);

/// Sends `signal` to pid, then waits up to `grace` for it to disappear (reaping it when it is our
/// child). Returns true when it is gone.
bool stopProcess(pid_t pid, int signal, std::chrono::milliseconds grace);

}  // namespace sluice::process
