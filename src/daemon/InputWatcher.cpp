#include "daemon/InputWatcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

namespace sluice::daemon {

namespace fs = std::filesystem;

Result<InputWatcher> InputWatcher::create(const std::vector<std::string>& files,
                                          std::chrono::milliseconds debounce) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return makeError(errno, "inotify_init1");
  }
  std::set<std::string> dirs;
  std::vector<std::string> names;
  for (const auto& file : files) {
    const fs::path path = fs::absolute(file);
    dirs.insert(path.parent_path().string());
    names.push_back(path.filename().string());
  }
  for (const auto& dir : dirs) {
    const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE;
    if (inotify_add_watch(fd, dir.c_str(), mask) < 0) {
      const int err = errno;
      ::close(fd);
      return makeError(err, "inotify_add_watch " + dir);
    }
  }
  return InputWatcher(fd, std::move(names), debounce);
}

InputWatcher::InputWatcher(InputWatcher&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      names_(std::move(other.names_)),
      debounce_(other.debounce_),
      pending_(other.pending_),
      lastEvent_(other.lastEvent_) {}

InputWatcher& InputWatcher::operator=(InputWatcher&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    names_ = std::move(other.names_);
    debounce_ = other.debounce_;
    pending_ = other.pending_;
    lastEvent_ = other.lastEvent_;
  }
  return *this;
}

InputWatcher::~InputWatcher() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void InputWatcher::onReadable() {
  alignas(inotify_event) char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      return;  // EAGAIN: drained
    }
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->len == 0) {
        continue;
      }
      const std::string name(ev->name);
      if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
        pending_ = true;
        lastEvent_ = std::chrono::steady_clock::now();
      }
    }
  }
}

int InputWatcher::msUntilDue() const {
  if (!pending_) {
    return -1;
  }
  const auto due = lastEvent_ + debounce_;
  const auto now = std::chrono::steady_clock::now();
  if (now >= due) {
    return 0;
  }
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count() + 1);
}

bool InputWatcher::takeDue() {
  if (pending_ && msUntilDue() == 0) {
    pending_ = false;
    return true;
  }
  return false;
}

}  // namespace sluice::daemon
