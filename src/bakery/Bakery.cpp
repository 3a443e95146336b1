// Bakery: construction, the active plan and its state file (load, persist, patches written by a
// background thread), the apply marker, and OpRunner's defaults. Applying: BakeryApply.cpp;
// rebuilds, observe mode and drift: BakeryRebuild.cpp.

#include "bakery/Bakery.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bakery/FastPatch.h"
#include "bakery/SpareRebuild.h"
#include "dataplane/MapWriter.h"
#include "tc/Applier.h"

namespace sluice::bakery {

Result<std::vector<std::string>> OpRunner::liveDifferences(const plan::QueuePlan&) {
  return makeError(ENOTSUP, "live tree comparison", "this op runner has no kernel to read");
}
Result<void> OpRunner::reconcile(const plan::QueuePlan&) {
  return makeError(ENOTSUP, "reconcile the live tree", "this op runner has no kernel to read");
}
Result<uint64_t> OpRunner::backlogPackets(const std::string&, const std::vector<plan::TcHandle>&) {
  return makeError(ENOTSUP, "leaf backlog", "this op runner has no kernel to read");
}

Result<uint64_t> memoryAvailable(const Limits& limits) {
  if (limits.memoryAvailableBytes != 0) {
    return limits.memoryAvailableBytes;
  }
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") {
      return kib * 1024;
    }
  }
  return makeError(ENOENT, "read MemAvailable from /proc/meminfo");
}

namespace {
std::string markerPath(const std::string& stateDir) { return stateDir + "/bakery/applying"; }
}  // namespace

Bakery::Bakery(OpRunner& runner, dataplane::MapWriter& writer, std::string stateDir, Limits limits)
    : runner_(runner), writer_(writer), stateDir_(std::move(stateDir)), limits_(limits) {}

Bakery::~Bakery() {
  (void)flush();
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

Result<bool> Bakery::load() {
  auto st = loadActiveState(stateDir_);
  if (!st) {
    return std::unexpected(st.error());
  }
  active_ = *st ? std::make_shared<ActiveState>(std::move(**st)) : nullptr;
  std::error_code ec;
  if (std::filesystem::exists(markerPath(stateDir_), ec)) {
    reloadRequired_ = "an apply was interrupted before its state was saved (" +
                      markerPath(stateDir_) + "); the next apply reconciles with the live tree";
  }
  return active_ != nullptr;
}

Result<void> Bakery::setActive(plan::QueuePlan plan) {
  const uint32_t gen = active_ ? active_->generation : 0;
  if (auto r = persist(std::move(plan), gen); !r) {
    return r;
  }
  reloadRequired_.reset();
  return {};
}

const plan::QueuePlan* Bakery::active() const { return active_ ? &active_->plan : nullptr; }

std::shared_ptr<const plan::QueuePlan> Bakery::activeShared() const {
  if (!active_) {
    return nullptr;
  }
  return std::shared_ptr<const plan::QueuePlan>(active_, &active_->plan);  // aliasing
}

ActiveState& Bakery::ownActive() {
  // Only this (the apply) thread hands out references to active_, so other holders can only go
  // away meanwhile: a count of 1 means nobody else can be reading it.
  const bool inputAliases = lastInput_ && !lastInput_.owner_before(active_) &&
                            !active_.owner_before(lastInput_);
  if (active_.use_count() > (inputAliases ? 2 : 1)) {
    active_ = std::make_shared<ActiveState>(*active_);
  }
  return *active_;
}

Result<void> Bakery::beginApply() {
  std::lock_guard lock(mutex_);
  ++applySeq_;
  const std::string dir = stateDir_ + "/bakery";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const int fd = ::open(markerPath(stateDir_).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return makeError(errno, "write " + markerPath(stateDir_));
  }
  ::close(fd);
  return {};
}

void Bakery::writerLoop() {
  // Below the apply thread: on a busy machine a state write (~100 ms of CPU at 10k circuits)
  // must not take the CPU from the next apply (per-thread nice, setpriority(2) NOTES).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto hasPending = [&] { return pendingFull_ != nullptr; };
    wake_.wait(lock, [&] { return stop_ || hasPending() || !graveyard_.empty(); });
    // A pending state first: freeing old plans can wait.
    if (!hasPending() && !graveyard_.empty()) {
      auto dead = std::move(graveyard_);
      graveyard_.clear();
      lock.unlock();
      dead.clear();
      lock.lock();
      continue;
    }
    if (!hasPending()) {
      return;  // stop_ with nothing left to write
    }
    auto full = std::move(pendingFull_);
    pendingFull_.reset();
    const uint64_t seq = pendingSeq_;
    writing_ = true;
    lock.unlock();
    auto r = saveActiveState(stateDir_, *full);
    full.reset();  // the apply thread patches in place again once nobody else holds it
    lock.lock();
    writing_ = false;
    if (!r) {
      writeError_ = r.error();
    } else if (seq == applySeq_ && !hasPending()) {
      ::unlink(markerPath(stateDir_).c_str());  // no apply began after the one just saved
    }
    written_.notify_all();
  }
}

void Bakery::takeWriteError() {
  std::lock_guard lock(mutex_);
  if (writeError_) {
    reloadRequired_ = "active state not persisted: " + writeError_->message();
  }
}

Result<void> Bakery::flush() {
  std::unique_lock lock(mutex_);
  written_.wait(lock, [&] {
    return pendingFull_ == nullptr && !writing_;
  });
  if (writeError_) {
    Error e = *writeError_;
    return std::unexpected(e);
  }
  return {};
}

Result<void> Bakery::persist(plan::QueuePlan plan, uint32_t generation) {
  // The kernel has this state even when the file cannot be written.
  auto state = std::make_shared<ActiveState>(ActiveState{std::move(plan), generation});
  {
    // Freeing a big plan takes milliseconds: the background thread does it.
    std::lock_guard lock(mutex_);
    graveyard_.push_back(std::move(active_));
    graveyard_.push_back(std::move(lastInput_));
  }
  active_ = state;
  lastInput_.reset();
  if (!limits_.persistInBackground) {
    {
      std::lock_guard lock(mutex_);
      graveyard_.clear();
    }
    return saveNow(*state);
  }
  // Shared with the writer (read-only; the apply thread copies before patching a shared state).
  {
    std::lock_guard lock(mutex_);
    pendingFull_ = state;
    pendingSeq_ = applySeq_;
    writeError_.reset();
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { writerLoop(); });
    }
  }
  wake_.notify_all();
  return {};
}

Result<void> Bakery::saveNow(const ActiveState& state) {
  auto r = saveActiveState(stateDir_, state);
  if (!r) {
    reloadRequired_ = "active state not persisted: " + r.error().message();
    return r;
  }
  std::lock_guard lock(mutex_);
  ::unlink(markerPath(stateDir_).c_str());
  return {};
}

Result<void> Bakery::persistPatch(const detail::PlanPatch& patch) {
  if (limits_.persistInBackground) {
    // A state the writer has not started on is replaced below: drop it now so that it does not
    // force a copy.
    std::lock_guard lock(mutex_);
    if (pendingFull_ != nullptr && pendingFull_.get() == active_.get()) {
      pendingFull_.reset();
    }
  }
  ActiveState& state = ownActive();
  detail::applyPatch(state.plan, patch);
  if (!limits_.persistInBackground) {
    return saveNow(state);
  }
  {
    std::lock_guard lock(mutex_);
    pendingFull_ = active_;
    pendingSeq_ = applySeq_;
    writeError_.reset();
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { writerLoop(); });
    }
  }
  wake_.notify_all();
  return {};
}


}  // namespace sluice::bakery
