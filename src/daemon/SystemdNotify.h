#pragma once
// sluiced's side of systemd's service protocol (sd_notify(3), sd_watchdog_enabled(3)): readiness
// for Type=notify, the watchdog ping for WatchdogSec=, and the stopping notice. Everything here is
// a no-op unless systemd started the process with NOTIFY_SOCKET set, so a daemon run by hand, by
// the tests or by another init system behaves exactly as before.
//
// Thread rules: one owner (main.cpp's event loop); not thread-safe.

#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::daemon {

class SystemdNotify {
 public:
  /// Reads NOTIFY_SOCKET and, if set, WATCHDOG_USEC/WATCHDOG_PID (via sd_watchdog_enabled, which
  /// also checks that the watchdog is meant for this pid). Never fails: a malformed watchdog
  /// setting disables the ping and is logged.
  SystemdNotify();

  /// True when systemd waits for our notifications (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }

  /// Sends READY=1 and STATUS=`status`. Call once, when the control socket and the tree are up.
  void ready(const std::string& status);

  /// Sends WATCHDOG=1 when half the watchdog interval has passed since the last ping (systemd's
  /// advice in sd_watchdog_enabled(3)). `now` is steady-clock time; call at least every
  /// maxSleepMs() milliseconds.
  void tick(std::chrono::steady_clock::time_point now);

  /// Longest sleep (ms) between tick() calls that still meets the watchdog; -1 = no watchdog.
  int maxSleepMs() const;

  /// Sends STOPPING=1 and STATUS=`status` at the start of an orderly shutdown.
  void stopping(const std::string& status);

 private:
  bool enabled_ = false;
  uint64_t watchdogUsec_ = 0;  ///< 0 = no watchdog
  std::chrono::steady_clock::time_point lastPing_{};
};

}  // namespace sluice::daemon
