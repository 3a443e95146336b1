// sluiced: the Sluice daemon. Wiring only: options, logging, signals, the event loop; the work is
// in daemon/Shaper (state), daemon/OperatorServices (operator API on the control socket and TCP,
// telemetry), api/ControlServer (control socket) and daemon/InputWatcher (inotify).
//
// Without --foreground the process forks once; the parent exits 0 when the child reports ready,
// or 1 with the child's errors (already printed) when it fails to start, so an init script or an
// operator sees the outcome of the start. systemd runs it with --foreground (sluiced.service).

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/ranges.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

#include "api/ControlServer.h"
#include "daemon/HaService.h"
#include "daemon/InputWatcher.h"
#include "daemon/OperatorServices.h"
#include "daemon/PersistedOverlay.h"
#include "daemon/Shaper.h"
#include "daemon/SystemdNotify.h"

namespace {

using sluice::daemon::ReloadTrigger;

/// Forks; returns in the child with the write end of the readiness pipe. The parent waits for
/// one byte ('1' ready, '0' failed) and exits with the matching status.
int forkAndWaitForReady() {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("sluiced: pipe");
    std::exit(1);
  }
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("sluiced: fork");
    std::exit(1);
  }
  if (pid > 0) {
    close(fds[1]);
    char c = '0';
    const ssize_t n = read(fds[0], &c, 1);
    std::exit(n == 1 && c == '1' ? 0 : 1);
  }
  close(fds[0]);
  setsid();
  return fds[1];
}

void reportReady(int fd, bool ok) {
  if (fd < 0) {
    return;
  }
  const char c = ok ? '1' : '0';
  (void)!write(fd, &c, 1);
  close(fd);
}

/// glibc malloc settings for a daemon that holds a few large, long-lived tables (mallopt(3)).
/// Measured at 100k circuits with lazy_queues = Full (bench/daemon/startup.sh): peak RSS 500 MB
/// with glibc's defaults against a live heap of ~340 MB, 410 MB with these two:
///   - one arena: the telemetry, bakery writer, lazy tracker and API threads each filled an arena
///     of their own (64 MB reservations) with memory freed on one thread and never reused by the
///     others;
///   - a fixed mmap threshold of 256 KiB: glibc raises the threshold to the size of every freed
///     mmapped block (up to 32 MiB), after which the plan's and telemetry's big vectors came from
///     the heap and their space stayed resident after a reload freed them. Fixed, every block
///     above 256 KiB is its own mapping and goes back to the kernel when freed.
void tuneMalloc() {
  (void)mallopt(M_ARENA_MAX, 1);
  (void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

}  // namespace

int main(int argc, char** argv) {
  tuneMalloc();
  CLI::App app{"sluiced: Sluice shaping daemon"};
  sluice::daemon::DaemonOptions options;
  std::string socketPath;
  std::string logLevel = "info";
  bool foreground = false;
  app.add_option("--config,-c", options.configPath, "lqos.conf")->required();
  app.add_option("--state-dir", options.stateDir, "state directory (default: [sluice] state_directory)");
  app.add_option("--socket", socketPath, "control socket (default: [sluice] control_socket)");
  app.add_option("--pin-dir", options.pinDir, "bpffs pin directory (default /sys/fs/bpf/sluice/<ifaces>)");
  app.add_option("--queues", options.txQueues, "override the probed tx queue count");
  app.add_flag("--keep-on-exit", options.keepOnExit, "leave programs, maps and tree on exit");
  app.add_flag("--foreground,-f", foreground, "stay in the foreground, log to stderr");
  app.add_option("--log-level", logLevel, "trace|debug|info|warn|error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(logLevel));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ sluiced: %v");

  // Block the signals we handle before any thread exists, so every thread inherits the mask and
  // they arrive only through the signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const int readyFd = foreground ? -1 : forkAndWaitForReady();

  sluice::daemon::Shaper shaper(options);
  // The modules' persisted overlay entries (RADIUS sessions, StormGuard adjustments, TreeGuard
  // state) are in the first plan start() applies (docs/daemon.md, "The overlay").
  sluice::daemon::PersistedOverlay persisted(options.configPath);
  shaper.setStartOverlay(persisted.loader());
  if (auto started = shaper.start(); !started) {
    spdlog::error("start failed: {}", started.error().message());
    shaper.stop();
    reportReady(readyFd, false);
    return 1;
  }
  if (socketPath.empty()) {
    socketPath = shaper.controlSocket();
  }
  // HA (docs/ha.md): readiness, fail mode and the routing hook, on the [ha] section the shaper
  // started with ([ha] changes take a restart).
  const auto startedWith = shaper.snapshot();
  sluice::daemon::HaService ha(shaper, startedWith.inputs ? startedWith.inputs->config.ha
                                                      : sluice::config::HaConfig{},
                               shaper.stateDirectory());
  ha.start();
  sluice::daemon::OperatorServices services(shaper, options.configPath);
  services.setHa(&ha);
  services.setPersisted(&persisted);
  if (auto started = services.start(); !started) {
    spdlog::error("operator services: {}", started.error().message());
    ha.stop();
    shaper.stop();
    reportReady(readyFd, false);
    return 1;
  }
  auto server = sluice::api::ControlServer::start(socketPath, services.handler());
  if (!server) {
    spdlog::error("control socket: {}", server.error().message());
    services.stop();
    ha.stop();
    shaper.stop();
    reportReady(readyFd, false);
    return 1;
  }
  spdlog::info("control API on {}", socketPath);
  // The files to watch change when a reload (from any trigger: SIGHUP, inotify, the control
  // API's reload or config update) points the config at other inputs; the loop re-creates the
  // watcher then, checking at least every kWatchRecheckMs.
  constexpr int kWatchRecheckMs = 1000;
  std::vector<std::string> watchedList = shaper.watchedFiles();
  auto makeWatcher = [](const std::vector<std::string>& files) {
    auto w = sluice::daemon::InputWatcher::create(files, std::chrono::milliseconds(1000));
    if (!w) {
      spdlog::warn("input files are not watched: {}", w.error().message());
    }
    return w;
  };
  auto watcher = makeWatcher(watchedList);
  if (!foreground) {
    auto sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("sluiced", LOG_PID, LOG_DAEMON, false);
    spdlog::default_logger()->sinks() = {sink};
    std::freopen("/dev/null", "r", stdin);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
  }
  reportReady(readyFd, true);
  // Type=notify readiness and the WatchdogSec= ping (dist/sluiced.service); no-ops without
  // NOTIFY_SOCKET. The ping comes from this loop, so a loop stuck for the watchdog interval is
  // restarted by systemd (and the restart adopts the tree).
  sluice::daemon::SystemdNotify systemd;
  systemd.ready("shaping; control API on " + socketPath);

  const int sigFd = signalfd(-1, &mask, SFD_CLOEXEC);
  bool running = true;
  while (running) {
    pollfd fds[2] = {{sigFd, POLLIN, 0}, {watcher ? watcher->fd() : -1, POLLIN, 0}};
    int timeout = watcher ? watcher->msUntilDue() : -1;
    timeout = timeout < 0 ? kWatchRecheckMs : std::min(timeout, kWatchRecheckMs);
    if (const int watchdogMs = systemd.maxSleepMs(); watchdogMs >= 0) {
      timeout = std::min(timeout, watchdogMs);
    }
    if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
      spdlog::error("poll: {}", std::strerror(errno));
      break;
    }
    systemd.tick(std::chrono::steady_clock::now());
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(sigFd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGHUP) {
          spdlog::info("SIGHUP: reloading");
          shaper.reload(ReloadTrigger::Sighup);
        } else {
          spdlog::info("signal {}: stopping", info.ssi_signo);
          running = false;
        }
      }
    }
    if (watcher && (fds[1].revents & POLLIN)) {
      watcher->onReadable();
    }
    if (watcher && watcher->takeDue()) {
      spdlog::info("input files changed: reloading");
      shaper.reload(ReloadTrigger::Inotify);
    }
    if (auto files = shaper.watchedFiles(); files != watchedList) {
      spdlog::info("input paths changed: watching {}", fmt::join(files, ", "));
      watchedList = std::move(files);
      // A pending change of the old files is not lost: the reload that changed the paths read
      // the files as they were then, and the new watcher sees every later write.
      watcher = makeWatcher(watchedList);
    }
  }
  systemd.stopping("stopping: removing the tree and detaching the programs");
  (*server)->stop();
  services.stop();
  ha.stop();  // runs the drain command (if any) while the tree still shapes
  shaper.stop();
  return 0;
}
