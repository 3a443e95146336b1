// The Shaper (daemon/Shaper.h): lazy queues (lazy/LazyTracker.h) — the materialized plan, the
// tracker's one-second loop and its status.

#include "daemon/Shaper.h"
#include "daemon/ShaperSupport.h"

#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bakery/Bakery.h"
#include "bakery/NetlinkOpRunner.h"
#include "dataplane/Attach.h"
#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"
#include "dataplane/Readers.h"
#include "lazy/Materialize.h"
#include "planner/Pipeline.h"
#include "planner/QueueProbe.h"
#include "planner/TcBatch.h"
#include "tc/LiveTree.h"
#include "tc/Verify.h"

namespace sluice::daemon {

namespace fs = std::filesystem;
using namespace detail;

plan::QueuePlan Shaper::desiredPlan(plan::QueuePlan full) {
  if (lazyMode_ == config::LazyQueues::No || !fullPlan_) {
    return full;
  }
  return lazy::materialize(*fullPlan_, tracker_.active(), lazyMode_);
}

void Shaper::setLazyPlan(const config::Config& config, lazy::FullPlan full) {
  const auto previous = lazyMode_;
  const auto now = std::chrono::steady_clock::now();
  lazyMode_ = config.queues.lazyQueues;
  tracker_.setOptions(lazy::TrackerOptions{lazyMode_,
                                           std::chrono::seconds(config.queues.lazyExpireSeconds),
                                           config.queues.lazyThresholdBytes});
  if (lazyMode_ == config::LazyQueues::No) {
    fullPlan_.reset();
    tracker_.setPlan(plan::QueuePlan{}, now);
    return;
  }
  fullPlan_ = std::move(full);
  tracker_.setPlan(fullPlan_->skeleton(), now);
  if (previous == config::LazyQueues::No && bakery_ && bakery_->active()) {
    // Lazy queues switched on by a reload: what exists stays until it idles out.
    tracker_.setActive(lazy::activeIn(*bakery_->active(), lazyMode_), now);
  }
}

void Shaper::lazyLoop() {
  std::unique_lock lock(mutex_);
  while (!driftStop_) {
    if (lazyWake_.wait_for(lock, std::chrono::seconds(1), [this] { return driftStop_; })) {
      break;
    }
    lock.unlock();
    lazyTick();
    lock.lock();
  }
}

void Shaper::lazyTick() {
  const auto enabled = [this] {
    return state_ == "ready" && queueMode_ == "shape" && lazyMode_ != config::LazyQueues::No &&
           fullPlan_ && dataplane_ && bakery_;
  };
  int hostsFd = -1;
  {
    std::lock_guard lock(mutex_);
    if (!enabled()) {
      return;
    }
    hostsFd = dataplane_->hostMapFd();  // valid until stop(), which joins this thread first
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto hosts = dataplane::readHostCounters(hostsFd);  // the walk runs without the mutex
  std::lock_guard lock(mutex_);
  if (!enabled()) {
    return;
  }
  const auto msSince = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  };
  if (!hosts) {
    lazyLastError_ = "reading host counters: " + hosts.error().message();
    spdlog::warn("lazy queues: {}", lazyLastError_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const lazy::TickDecision tick = tracker_.observe(*hosts, now);
  ++lazyTicks_;
  lazyLastHosts_ = tick.hosts;
  if (tick.changed()) {
    const auto ta = std::chrono::steady_clock::now();
    auto applied = bakery_->apply(lazy::materialize(*fullPlan_, tracker_.active(), lazyMode_));
    if (!applied) {
      tracker_.revert(tick, now);
      lazyLastError_ = applied.error().message();
      spdlog::warn("lazy queues: applying {} activations and {} expirations failed: {}",
                   tick.activated.size(), tick.expired.size(), lazyLastError_);
    } else {
      lazyActivations_ += tick.activated.size();
      lazyExpirations_ += tick.expired.size();
      lazyLastError_.clear();
      plan_ = bakery_->activeShared();
      ++planVersion_;
      lazyLastApplyMs_ = msSince(ta);
      spdlog::info("lazy queues: {} activated{}{}, {} expired ({} tc ops, {} map upserts) in "
                   "{:.1f} ms",
                   tick.activated.size(), tick.activated.empty() ? "" : " e.g. ",
                   tick.activated.empty() ? "" : tick.activated.front(), tick.expired.size(),
                   applied->tcOps, applied->mapUpserts, lazyLastApplyMs_);
    }
  }
  lazyLastTickMs_ = msSince(t0);
}

nlohmann::json Shaper::lazyJson() const {
  const auto& q = active_ ? active_->config.queues : config::QueuesConfig{};
  return {{"mode", lazy::lazyModeName(lazyMode_)},
          {"expire_seconds", q.lazyExpireSeconds},
          {"threshold_bytes", q.lazyThresholdBytes ? nlohmann::json(*q.lazyThresholdBytes)
                                                   : nlohmann::json()},
          {"active_circuits", lazyMode_ == config::LazyQueues::No
                                  ? (plan_ ? plan_->circuits.size() : 0)
                                  : tracker_.active().size()},
          {"total_circuits", plan_ ? plan_->circuits.size() : 0},
          {"activations", lazyActivations_},
          {"expirations", lazyExpirations_},
          {"ticks", lazyTicks_},
          {"hosts", lazyLastHosts_},
          {"last_tick_ms", lazyLastTickMs_},
          {"last_apply_ms", lazyLastApplyMs_},
          {"error", lazyLastError_}};
}

}  // namespace sluice::daemon
