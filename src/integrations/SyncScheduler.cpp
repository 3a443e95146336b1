#include "integrations/SyncScheduler.h"

namespace sluice::integrations {
namespace {

/// How often a shaper in manual mode (or with unusable [sync] settings) looks again.
constexpr std::chrono::seconds kRecheck{60};

}  // namespace

SyncScheduler::SyncScheduler(SyncRunner& runner, std::chrono::seconds firstDelay)
    : runner_(runner), firstDelay_(firstDelay) {}

SyncScheduler::~SyncScheduler() { stop(); }

void SyncScheduler::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void SyncScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::chrono::steady_clock::time_point SyncScheduler::nextRun() const {
  std::lock_guard lock(mutex_);
  return next_;
}

void SyncScheduler::loop() {
  auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(firstDelay_);
  for (;;) {
    auto settings = runner_.settings();
    const bool scheduled = settings && settings->mode != InputMode::Manual;
    std::unique_lock lock(mutex_);
    const auto due = std::chrono::steady_clock::now() + (scheduled ? wait : kRecheck);
    next_ = scheduled ? due : std::chrono::steady_clock::time_point::max();
    if (wake_.wait_until(lock, due, [this] { return stopping_; })) {
      return;
    }
    lock.unlock();
    if (!scheduled) {
      continue;
    }
    runner_.run(false);
    wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(settings->interval);
  }
}

}  // namespace sluice::integrations
