#include "common/Process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>
#include <utility>

#include <fmt/format.h>

extern char** environ;

namespace sluice::process {

namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

Result<int> makeMemfd(const char* name) {
  const int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    return makeError(errno, "memfd_create");
  }
  return fd;
}

std::string readAll(int fd) {
  std::string text;
  char buffer[16384];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = pread(fd, buffer, sizeof(buffer), offset);
    if (n <= 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return text;
}

std::vector<char*> cArgv(const Argv& argv) {
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    out.push_back(const_cast<char*>(arg.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

/// posix_spawnp with stdin/stdout/stderr replaced by the given fds (-1: /dev/null); a new
/// session (detached daemons) or a new process group (children killed as a group).
Result<pid_t> spawn(const Argv& argv, int inFd, int outFd, int errFd, bool newSession,
                    bool newGroup = false) {
  if (argv.empty()) {
    return makeError(EINVAL, "spawn: empty argv");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (inFd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, inFd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, outFd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, errFd, STDERR_FILENO);
  if (newSession) {
    // A detached daemon (the lab's sluiced, iperf3, socat) must not keep descriptors it inherited
    // without O_CLOEXEC, above all a caller's `flock FILE sluice lab up`: the lock would stay
    // held for as long as the lab runs.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal dispositions and an empty mask whatever ours are.
  sigset_t all;
  sigfillset(&all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (newSession) {
    flags |= POSIX_SPAWN_SETSID;
  } else if (newGroup) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  std::vector<char*> args = cArgv(argv);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return makeError(rc, fmt::format("cannot run {}", describe(argv)),
                     rc == ENOENT ? fmt::format("{} not found in PATH", argv[0]) : "");
  }
  return pid;
}

}  // namespace

std::string describe(const Argv& argv) {
  std::string out;
  for (const std::string& arg : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    const bool quote = arg.empty() || arg.find_first_of(" \t\n\"'") != std::string::npos;
    out += quote ? fmt::format("'{}'", arg) : arg;
  }
  return out;
}

Result<Child> Child::start(const Argv& argv, const std::string& input, bool ownProcessGroup) {
  Child child;
  child.argv_ = argv;
  child.group_ = ownProcessGroup;
  auto out = makeMemfd("stdout");
  if (!out) {
    return std::unexpected(out.error());
  }
  child.outFd_ = *out;
  auto err = makeMemfd("stderr");
  if (!err) {
    return std::unexpected(err.error());
  }
  child.errFd_ = *err;
  int inFd = -1;
  if (!input.empty()) {
    auto in = makeMemfd("stdin");
    if (!in) {
      return std::unexpected(in.error());
    }
    inFd = *in;
    if (write(inFd, input.data(), input.size()) != static_cast<ssize_t>(input.size()) ||
        lseek(inFd, 0, SEEK_SET) != 0) {
      const int saved = errno;
      close(inFd);
      return makeError(saved, "writing the stdin of " + describe(argv));
    }
  }
  auto pid = spawn(argv, inFd, child.outFd_, child.errFd_, false, ownProcessGroup);
  if (inFd >= 0) {
    close(inFd);
  }
  if (!pid) {
    return std::unexpected(pid.error());
  }
  child.pid_ = *pid;
  return child;
}

Child::Child(Child&& other) noexcept
    : argv_(std::move(other.argv_)),
      pid_(std::exchange(other.pid_, -1)),
      group_(other.group_),
      outFd_(std::exchange(other.outFd_, -1)),
      errFd_(std::exchange(other.errFd_, -1)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    reset();
    argv_ = std::move(other.argv_);
    pid_ = std::exchange(other.pid_, -1);
    group_ = other.group_;
    outFd_ = std::exchange(other.outFd_, -1);
    errFd_ = std::exchange(other.errFd_, -1);
  }
  return *this;
}

Child::~Child() { reset(); }

void Child::killChild() {
  if (group_) {
    kill(-pid_, SIGKILL);  // the group it leads (POSIX_SPAWN_SETPGROUP)
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Child::reset() {
  if (pid_ > 0) {
    killChild();
  }
  for (int* fd : {&outFd_, &errFd_}) {
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
  }
}

Result<CommandOutput> Child::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return makeError(ECHILD, "wait: " + describe(argv_) + " is not running");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      break;
    }
    if (done < 0 && errno != EINTR) {
      const int saved = errno;
      if (pidfd >= 0) {
        close(pidfd);
      }
      return makeError(saved, "waitpid for " + describe(argv_));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      killChild();
      if (pidfd >= 0) {
        close(pidfd);
      }
      return makeError(ETIMEDOUT, fmt::format("{} did not finish within {:g} s", describe(argv_),
                                              static_cast<double>(timeout.count()) / 1000),
                       trim(readAll(errFd_)));
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (pidfd >= 0) {
    close(pidfd);
  }
  pid_ = -1;
  CommandOutput output;
  output.exitCode = decodeStatus(status);
  output.out = readAll(outFd_);
  output.err = readAll(errFd_);
  return output;
}

Result<CommandOutput> run(const Argv& argv, const std::string& input,
                          std::chrono::milliseconds timeout) {
  auto child = Child::start(argv, input);
  if (!child) {
    return std::unexpected(child.error());
  }
  return child->wait(timeout);
}

Result<std::string> runChecked(const Argv& argv, const std::string& input,
                               std::chrono::milliseconds timeout) {
  auto output = run(argv, input, timeout);
  if (!output) {
    return std::unexpected(output.error());
  }
  if (output->exitCode != 0) {
    std::string detail = trim(output->err);
    if (detail.empty()) {
      detail = trim(output->out);
    }
    return makeError(0, fmt::format("{} failed (exit {})", describe(argv), output->exitCode),
                     detail);
  }
  return std::move(output->out);
}

Result<pid_t> startDetached(const Argv& argv, const std::string& logPath) {
  const int logFd = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logFd < 0) {
    return makeError(errno, "open " + logPath);
  }
  auto pid = spawn(argv, -1, logFd, logFd, true);
  close(logFd);
  return pid;
}

bool processAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) {
    return false;
  }
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  // A zombie is gone for our purposes: it no longer holds sockets, maps or programs.
  return !(paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z');
}

bool stopProcess(pid_t pid, int signal, std::chrono::milliseconds grace) {
  if (!processAlive(pid)) {
    waitpid(pid, nullptr, WNOHANG);
    return true;
  }
  kill(pid, signal);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    waitpid(pid, nullptr, WNOHANG);
    if (!processAlive(pid)) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace sluice::process
