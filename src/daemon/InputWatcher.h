#pragma once
// Watches the input files (lqos.conf, network.json, ShapedDevices.csv) with inotify and reports
// a change once the files have been quiet for a debounce interval, so an editor's save or an
// integration's rewrite (write to temp + rename) causes one reload, not several.

#include <chrono>
#include <string>
#include <vector>

#include "common/Error.h"

namespace sluice::daemon {

class InputWatcher {
 public:
  /// Watches the directories that hold `files` (so renames over the files are seen) for
  /// close-after-write, move-in, create and delete events naming one of the files. Errors:
  /// inotify_init1/inotify_add_watch errno with the directory.
  static Result<InputWatcher> create(const std::vector<std::string>& files,
                                     std::chrono::milliseconds debounce);
  InputWatcher(InputWatcher&& other) noexcept;
  InputWatcher& operator=(InputWatcher&& other) noexcept;
  InputWatcher(const InputWatcher&) = delete;
  InputWatcher& operator=(const InputWatcher&) = delete;
  ~InputWatcher();

  /// The inotify descriptor to poll for readability.
  int fd() const { return fd_; }

  /// Drains pending events; remembers the time of the last one that named a watched file.
  void onReadable();

  /// Milliseconds until a pending change is due (-1 when none is pending, 0 when due now):
  /// the poll timeout to use.
  int msUntilDue() const;

  /// True (once) when a change is pending and the debounce interval has passed since the last
  /// event.
  bool takeDue();

 private:
  InputWatcher(int fd, std::vector<std::string> names, std::chrono::milliseconds debounce)
      : fd_(fd), names_(std::move(names)), debounce_(debounce) {}

  int fd_ = -1;
  std::vector<std::string> names_;  ///< file names (no directory) that matter
  std::chrono::milliseconds debounce_;
  bool pending_ = false;
  std::chrono::steady_clock::time_point lastEvent_{};
};

}  // namespace sluice::daemon
