// sd_notify glue for sluiced (see SystemdNotify.h).

#include "daemon/SystemdNotify.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace sluice::daemon {

SystemdNotify::SystemdNotify() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  if (!enabled_) {
    return;
  }
  uint64_t usec = 0;
  const int rc = sd_watchdog_enabled(0, &usec);
  if (rc < 0) {
    spdlog::warn("systemd watchdog setting not usable: {}", std::strerror(-rc));
  } else if (rc > 0) {
    watchdogUsec_ = usec;
    spdlog::info("systemd watchdog: pinging every {} ms", usec / 2000);
  }
}

void SystemdNotify::ready(const std::string& status) {
  if (!enabled_) {
    return;
  }
  if (int rc = sd_notify(0, fmt::format("READY=1\nSTATUS={}", status).c_str()); rc < 0) {
    spdlog::warn("sd_notify READY=1: {}", std::strerror(-rc));
  }
  lastPing_ = std::chrono::steady_clock::now();
}

void SystemdNotify::tick(std::chrono::steady_clock::time_point now) {
  if (!enabled_ || watchdogUsec_ == 0) {
    return;
  }
  if (now - lastPing_ < std::chrono::microseconds(watchdogUsec_ / 2)) {
    return;
  }
  if (int rc = sd_notify(0, "WATCHDOG=1"); rc < 0) {
    spdlog::warn("sd_notify WATCHDOG=1: {}", std::strerror(-rc));
  }
  lastPing_ = now;
}

int SystemdNotify::maxSleepMs() const {
  if (!enabled_ || watchdogUsec_ == 0) {
    return -1;
  }
  // A quarter of the interval: a ping is due every half, and a sleep never overshoots it.
  return static_cast<int>(std::max<uint64_t>(watchdogUsec_ / 4000, 1));
}

void SystemdNotify::stopping(const std::string& status) {
  if (!enabled_) {
    return;
  }
  (void)sd_notify(0, fmt::format("STOPPING=1\nSTATUS={}", status).c_str());
}

}  // namespace sluice::daemon
