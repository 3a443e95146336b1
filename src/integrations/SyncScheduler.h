#pragma once
// Runs the sync on its schedule: every [integration_common] queue_refresh_interval_mins while the
// operating mode is "integration" or "custom" (re-read before each wait, so a reload that changes
// the mode or the interval takes effect at the next wait), plus once soon after start. Runs are
// serialized by the runner itself, so an operator's `sluice integration run` during a scheduled
// one waits for it.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "integrations/Sync.h"

namespace sluice::integrations {

class SyncScheduler {
 public:
  /// `firstDelay`: the wait before the first run after start (the shaper settles first).
  explicit SyncScheduler(SyncRunner& runner,
                         std::chrono::seconds firstDelay = std::chrono::seconds(5));
  ~SyncScheduler();  ///< stop()
  SyncScheduler(const SyncScheduler&) = delete;
  SyncScheduler& operator=(const SyncScheduler&) = delete;

  /// Starts the thread. Idempotent.
  void start();
  /// Wakes the thread and joins it; a run in progress finishes first (bounded by the sync's own
  /// timeouts). Idempotent.
  void stop();
  /// When the next scheduled run is due (steady clock); time_point::max() in manual mode.
  std::chrono::steady_clock::time_point nextRun() const;

 private:
  void loop();

  SyncRunner& runner_;
  std::chrono::seconds firstDelay_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point next_ = std::chrono::steady_clock::time_point::max();
  std::thread thread_;
};

}  // namespace sluice::integrations
