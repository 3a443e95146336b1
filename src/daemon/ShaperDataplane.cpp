// The Shaper (daemon/Shaper.h): data-plane lifecycle: drift checks of the live tree, the map
// descriptors shared with telemetry, and the orderly stop (detach, remove the tree, unpin).

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

std::vector<std::string> Shaper::checkDrift() {
  std::lock_guard lock(mutex_);
  return checkDriftLocked();
}

std::vector<std::string> Shaper::checkDriftLocked() {
  if (!bakery_ || state_ != "ready" || queueMode_ != "shape") {
    return {};
  }
  DriftRecord rec;
  rec.time = std::chrono::system_clock::now();
  auto diffs = bakery_->checkDrift();
  if (!diffs) {
    rec.error = diffs.error().message();
    spdlog::warn("drift check: {}", rec.error);
  } else {
    rec.differences = std::move(*diffs);
    if (!rec.differences.empty()) {
      spdlog::warn("DRIFT: the kernel tree differs from the active state in {} places (first: {})",
                   rec.differences.size(), rec.differences.front());
    }
  }
  lastDrift_ = rec;
  return rec.differences;
}

void Shaper::driftLoop() {
  std::unique_lock lock(mutex_);
  while (!driftStop_) {
    if (options_.driftInterval.count() <= 0) {
      driftWake_.wait(lock, [this] { return driftStop_; });
      break;
    }
    if (driftWake_.wait_for(lock, options_.driftInterval, [this] { return driftStop_; })) {
      break;
    }
    checkDriftLocked();
  }
}

void Shaper::stop() {
  {
    std::lock_guard lock(mutex_);
    driftStop_ = true;
  }
  driftWake_.notify_all();
  lazyWake_.notify_all();
  if (driftThread_.joinable()) {
    driftThread_.join();
  }
  if (lazyThread_.joinable()) {
    lazyThread_.join();
  }
  std::lock_guard lock(mutex_);
  if (stopped_) {
    return;
  }
  stopped_ = true;
  state_ = "stopping";
  if (options_.keepOnExit) {
    for (auto& a : xdp_) {
      a.persist();
    }
    for (auto& a : tcFilters_) {
      a.persist();
    }
    spdlog::info("stopping with --keep-on-exit: programs, maps and tree stay in place");
    return;
  }
  for (auto& a : xdp_) {
    if (auto ok = a.detach(); !ok) {
      spdlog::warn("detach XDP: {}", ok.error().message());
    }
  }
  for (auto& a : tcFilters_) {
    if (auto ok = a.detach(); !ok) {
      spdlog::warn("detach tc: {}", ok.error().message());
    }
  }
  xdp_.clear();
  tcFilters_.clear();
  if (applier_ && plan_ && queueMode_ == "shape") {
    for (const auto& tree : tc::treesByDevice(*plan_)) {
      if (auto ok = applier_->remove(tree.ifname); !ok) {
        spdlog::warn("remove tree on {}: {}", tree.ifname, ok.error().message());
      }
    }
  }
  if (dataplane_) {
    const auto pinDir = dataplane_->options().pinDir;
    writer_.reset();
    dataplane_.reset();
    std::error_code ec;
    if (!pinDir.empty()) {
      fs::remove_all(pinDir, ec);
    }
  }
  if (store_) {
    // The tree is gone: the next start builds instead of reconciling against a stale state.
    std::error_code ec;
    fs::remove(fs::path(store_->dir()) / "bakery" / "active.json", ec);
  }
  spdlog::info("stopped: programs detached, tree removed");
}

Shaper::MapFds Shaper::mapFds() const {
  std::lock_guard lock(mutex_);
  if (!dataplane_) {
    return {};
  }
  return MapFds{dataplane_->hostMapFd(), dataplane_->flowMapFd(), dataplane_->rttRingFd(),
                dataplane_->statsMapFd()};
}

}  // namespace sluice::daemon
