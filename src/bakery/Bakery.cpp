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
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// Memory the add ops of ops[first, last) will take in the kernel (objectMemoryBytes figures).
uint64_t forecastBytes(const std::vector<TcOp>& ops, size_t first, size_t last) {
  uint64_t bytes = 0;
  for (size_t i = first; i < last; ++i) {
    const TcOp& op = ops[i];
    if (op.kind == TcOp::Kind::AddClass) {
      bytes += objectMemoryBytes("htb_class");
    } else if (op.kind == TcOp::Kind::AddHtbQdisc) {
      bytes += objectMemoryBytes("htb_qdisc");
    } else if (op.kind == TcOp::Kind::AddLeaf) {
      bytes += objectMemoryBytes(tc::leafKindName(op.leaf.kind));
    }
  }
  return bytes;
}

}  // namespace

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

Result<void> Bakery::runChunked(const std::vector<TcOp>& ops) {
  const size_t chunk = std::max<size_t>(limits_.chunkOps, 1);
  for (size_t first = 0; first < ops.size(); first += chunk) {
    const size_t last = std::min(ops.size(), first + chunk);
    const uint64_t need = forecastBytes(ops, first, last);
    if (need > 0) {
      auto avail = memoryAvailable(limits_);
      if (!avail) {
        return std::unexpected(avail.error());
      }
      if (*avail < need + limits_.memoryReserveBytes) {
        return makeError(ENOMEM,
                         fmt::format("apply ops {}..{} of {}", first + 1, last, ops.size()),
                         fmt::format("they need about {} KiB of kernel memory; {} KiB are "
                                     "available and {} KiB stay in reserve",
                                     need >> 10, *avail >> 10, limits_.memoryReserveBytes >> 10));
      }
    }
    std::vector<TcOp> part(ops.begin() + static_cast<ptrdiff_t>(first),
                           ops.begin() + static_cast<ptrdiff_t>(last));
    if (auto r = runner_.run(part); !r) {
      return r;
    }
  }
  return {};
}

Result<ApplyReport> Bakery::runChangeSet(const ChangeSet& cs, ApplyReport report,
                                         const plan::QueuePlan* desired) {
  const auto t0 = Clock::now();
  const uint64_t msgs0 = runner_.messagesSent();
  auto tk = Clock::now();
  auto addRun = runChunked(cs.addPhase);
  report.kernelMs += msSince(tk);
  if (auto& r = addRun; !r) {
    // Nothing maps to the new classes yet: the old tree still classifies everything.
    reloadRequired_ = "apply failed before the mapping switch: " + r.error().message();
    return std::unexpected(r.error());
  }
  if (cs.bumpEpoch) {
    const auto tm = Clock::now();
    auto e = writer_.update(cs.upserts, cs.removals);
    report.mapMs += msSince(tm);
    if (!e) {
      reloadRequired_ = "address map update failed: " + e.error().message();
      return std::unexpected(e.error());
    }
  }
  std::vector<TcOp> deletes = cs.deletePhase;
  if (report.mode == "hitless-rebuild" && !deletes.empty()) {
    // Let the old leaves drain: nothing maps to them any more since the epoch bump.
    std::map<std::string, std::vector<plan::TcHandle>> old;
    for (const auto& op : deletes) {
      if (op.kind == TcOp::Kind::DeleteClass && op.cls.role == plan::ClassRole::Circuit) {
        old[op.ifname].push_back(op.cls.classid);
      }
    }
    const auto deadline = Clock::now() + limits_.drainTimeout;
    for (;;) {
      uint64_t backlog = 0;
      bool known = true;
      for (const auto& [ifname, classids] : old) {
        auto b = runner_.backlogPackets(ifname, classids);
        if (!b) {
          known = false;
          break;
        }
        backlog += *b;
      }
      if (!known || backlog == 0) {
        break;
      }
      if (Clock::now() >= deadline) {
        report.reason += fmt::format("; {} packets still queued in old leaves after {} ms",
                                     backlog, limits_.drainTimeout.count());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  tk = Clock::now();
  auto deleteRun = runChunked(deletes);
  report.kernelMs += msSince(tk);
  if (auto& r = deleteRun; !r) {
    // The new tree classifies; leftovers of the old one are unreferenced.
    reloadRequired_ = "apply failed after the mapping switch: " + r.error().message();
    const uint32_t gen = active_ ? active_->generation : 0;
    if (desired != nullptr) {
      (void)persist(*desired, gen);
    }
    return std::unexpected(r.error());
  }
  report.counts = cs.counts;
  report.tcOps = runner_.messagesSent() > msgs0 ? runner_.messagesSent() - msgs0 : cs.tcOpCount();
  report.mapUpserts = cs.upserts.size();
  report.mapRemovals = cs.removals.size();
  report.durationMs += msSince(t0);
  return report;
}

Result<ApplyReport> Bakery::build(plan::QueuePlan desired) {
  const auto t0 = Clock::now();
  // Leaves off the spare tx queues' HTB majors, so that a later rebuild can use them.
  std::shared_ptr<const plan::QueuePlan> input;
  std::set<std::string> devices;
  for (const auto& iface : desired.interfaces)
    devices.insert(iface.ifname);
  for (const auto& dev : devices) {
    if (auto n = runner_.txQueueCount(dev)) {
      if (!input)
        input = std::make_shared<const plan::QueuePlan>(desired);
      detail::freeSpareMajors(desired, dev, *n);
    }
  }
  if (auto r = preflight(desired, limits_); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = beginApply(); !r) {
    return std::unexpected(r.error());
  }
  ApplyReport report;
  report.mode = "build";
  ChangeSet cs = diff(plan::QueuePlan{}, desired);
  detail::interleaveQueues(cs.addPhase);  // queue by queue: what a later rebuild deletes together
  const uint64_t msgs0 = runner_.messagesSent();
  // Roots first, alone: a device that already has a Sluice tree (a restart without state) is
  // adopted through reconcile instead.
  std::vector<TcOp> roots;
  while (!cs.addPhase.empty() && cs.addPhase.front().kind == TcOp::Kind::AddRoot) {
    roots.push_back(cs.addPhase.front());
    cs.addPhase.erase(cs.addPhase.begin());
  }
  auto rr = runner_.run(roots);
  if (!rr && rr.error().errnum == EEXIST) {
    auto rec = runner_.reconcile(desired);
    if (!rec) {
      reloadRequired_ = "build failed: " + rec.error().message();
      return std::unexpected(rec.error());
    }
    report.mode = "build";
    report.reason = "a Sluice tree existed without active state; reconciled it with the plan";
  } else if (!rr) {
    reloadRequired_ = "build failed: " + rr.error().message();
    return std::unexpected(rr.error());
  } else if (auto r = runChunked(cs.addPhase); !r) {
    reloadRequired_ = "build failed: " + r.error().message();
    return std::unexpected(r.error());
  }
  auto e = writer_.publish(desired.addresses);
  if (!e) {
    reloadRequired_ = "address map publish failed: " + e.error().message();
    return std::unexpected(e.error());
  }
  report.counts = cs.counts;
  report.tcOps = runner_.messagesSent() - msgs0;
  report.mapUpserts = desired.addresses.size();
  if (auto r = persist(std::move(desired), buildGeneration_); !r) {
    return std::unexpected(r.error());
  }
  // A build uses the planner's numbers (but leaf handles moved off spare tx queues' majors).
  takeLastInput(input ? std::move(input)
                      : std::shared_ptr<const plan::QueuePlan>(active_, &active_->plan));
  reloadRequired_.reset();
  report.durationMs = msSince(t0);
  return report;
}

Result<ApplyReport> Bakery::reconcileTo(plan::QueuePlan desired) {
  const auto t0 = Clock::now();
  if (auto r = beginApply(); !r) {
    return std::unexpected(r.error());
  }
  const uint64_t msgs0 = runner_.messagesSent();
  ApplyReport report;
  report.mode = "reconcile";
  report.reason = *reloadRequired_;
  const auto tk = Clock::now();
  if (auto r = runner_.reconcile(desired); !r) {
    return std::unexpected(r.error());
  }
  report.kernelMs = msSince(tk);
  const auto tm = Clock::now();
  if (auto e = writer_.publish(desired.addresses); !e) {
    return std::unexpected(e.error());
  }
  report.mapMs = msSince(tm);
  report.tcOps = runner_.messagesSent() - msgs0;
  report.mapUpserts = desired.addresses.size();
  if (auto r = persist(std::move(desired), active_->generation); !r) {
    return std::unexpected(r.error());
  }
  reloadRequired_.reset();
  report.durationMs = msSince(t0);
  return report;
}

void Bakery::discard(plan::QueuePlan plan) {
  if (!limits_.persistInBackground) {
    return;  // freed here
  }
  auto dead = std::make_shared<const plan::QueuePlan>(std::move(plan));
  {
    std::lock_guard lock(mutex_);
    graveyard_.push_back(std::move(dead));
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { writerLoop(); });
    }
  }
  wake_.notify_all();
}

void Bakery::takeLastInput(std::shared_ptr<const plan::QueuePlan> input) {
  auto map = detail::correspondence(*input, active_->plan);
  if (!map) {
    lastInput_.reset();  // no fast path until a general apply re-establishes it
    lastCircuitMap_.clear();
    return;
  }
  lastInput_ = std::move(input);
  lastCircuitMap_ = std::move(*map);
}

Result<ApplyReport> Bakery::apply(plan::QueuePlan desired) {
  const auto t0 = Clock::now();
  takeWriteError();
  if (!active_) {
    buildGeneration_ = 0;
    return build(std::move(desired));
  }
  const auto tp = Clock::now();
  if (lastInput_ && !reloadRequired_ &&
      (limits_.lpmCapacity == 0 || desired.addresses.size() <= limits_.lpmCapacity)) {
    if (auto fast = detail::fastPatch(*lastInput_, active_->plan, lastCircuitMap_, desired)) {
      ApplyReport report;
      report.planMs = msSince(tp);
      if (fast->changes.empty()) {
        report.mode = "noop";
        discard(std::move(desired));
        report.durationMs = msSince(t0);
        return report;
      }
      report.mode = "incremental";
      if (auto r = beginApply(); !r) {
        return std::unexpected(r.error());
      }
      auto done = runChangeSet(fast->changes, report, nullptr);
      if (!done) {
        return done;
      }
      const auto ts = Clock::now();
      // The active plan is patched (in place unless a snapshot holds it); the old input is freed
      // in the background.
      if (auto r = persistPatch(fast->patch); !r) {
        return std::unexpected(r.error());
      }
      if (limits_.persistInBackground) {
        {
          std::lock_guard lock(mutex_);
          graveyard_.push_back(std::move(lastInput_));
        }
        wake_.notify_all();
      }
      lastInput_ = std::make_shared<const plan::QueuePlan>(std::move(desired));
      done->persistMs = msSince(ts);
      done->durationMs = msSince(t0);
      return done;
    }
  }
  plan::QueuePlan original = desired;
  if (auto r = stabilizeHandles(desired, active_->plan); !r) {
    if (r.error().errnum == ENOSPC) {
      return bypassRebuild(original, r.error().message());
    }
    return std::unexpected(r.error());
  }
  if (auto r = preflight(desired, limits_, &active_->plan, false); !r) {
    return std::unexpected(r.error());
  }
  if (reloadRequired_) {
    auto rec = reconcileTo(desired);
    if (rec || rec.error().errnum != ENOTSUP) {
      return rec;
    }
  }
  ChangeSet cs = diff(active_->plan, desired);
  if (cs.rebuildReason) {
    return rebuild(original, *cs.rebuildReason);
  }
  ApplyReport report;
  report.planMs = msSince(tp);
  if (cs.empty()) {
    report.mode = "noop";
    reloadRequired_.reset();
    if (!lastInput_) {
      // Same tree; take the stabilized plan as active so that it corresponds position by
      // position with its input (the fast path's precondition). Written in the background.
      if (auto r = persist(std::move(desired), active_->generation); !r) {
        return std::unexpected(r.error());
      }
      takeLastInput(std::make_shared<const plan::QueuePlan>(std::move(original)));
    } else {
      discard(std::move(desired));
      discard(std::move(original));
    }
    report.durationMs = msSince(t0);
    return report;
  }
  report.mode = "incremental";
  if (auto r = beginApply(); !r) {
    return std::unexpected(r.error());
  }
  auto done = runChangeSet(cs, report, &desired);
  if (!done) {
    return done;
  }
  const auto ts = Clock::now();
  if (auto r = persist(std::move(desired), active_->generation); !r) {
    return std::unexpected(r.error());
  }
  takeLastInput(std::make_shared<const plan::QueuePlan>(std::move(original)));
  done->persistMs = msSince(ts);
  reloadRequired_.reset();
  done->durationMs = msSince(t0);
  return done;
}

Result<ApplyReport> Bakery::rebuild(plan::QueuePlan desired, std::string reason) {
  const auto t0 = Clock::now();
  takeWriteError();
  if (!active_) {
    buildGeneration_ = 0;
    return build(std::move(desired));
  }
  // The holders are the mq root's children: neither spare tx queues nor the same HTB qdiscs can
  // change them, only a tree made anew (the diff's reason says so already).
  if (desired.holder != active_->plan.holder && !active_->plan.interfaces.empty()) {
    return bypassRebuild(desired, reason);
  }
  std::string whyNotSpare;
  if (auto spare = spareQueueRebuild(desired, reason, whyNotSpare)) {
    return std::move(*spare);
  }
  spdlog::warn(
      "bakery: rebuild ({}) not on spare tx queues ({}); building beside the old tree "
      "in the same HTB qdiscs",
      reason, whyNotSpare);
  reason += "; beside the old tree in the same HTB qdiscs, not on spare tx queues: " + whyNotSpare;
  const plan::QueuePlan original = desired;
  if (auto r = stabilizeForRebuild(desired, active_->plan); !r) {
    return bypassRebuild(original, reason + "; two trees do not fit: " + r.error().message());
  }
  if (auto r = preflight(desired, limits_, &active_->plan, true); !r) {
    return bypassRebuild(original, reason + "; two trees do not fit: " + r.error().message());
  }
  ChangeSet cs = diff(active_->plan, desired);
  if (cs.rebuildReason) {
    return bypassRebuild(original, reason + "; " + *cs.rebuildReason);
  }
  ApplyReport report;
  report.mode = "hitless-rebuild";
  report.reason = reason;
  if (auto r = beginApply(); !r) {
    return std::unexpected(r.error());
  }
  auto done = runChangeSet(cs, report, &desired);
  if (!done) {
    return done;
  }
  if (auto r = persist(std::move(desired), active_->generation + 1); !r) {
    return std::unexpected(r.error());
  }
  reloadRequired_.reset();
  done->durationMs = msSince(t0);
  return done;
}

Result<ApplyReport> Bakery::bypassRebuild(plan::QueuePlan desired, std::string reason) {
  const auto t0 = Clock::now();
  if (auto r = preflight(desired, limits_); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = beginApply(); !r) {
    return std::unexpected(r.error());
  }
  const uint64_t msgs0 = runner_.messagesSent();
  // Classification bypass: no mapping, so traffic takes the default path while the tree is
  // rebuilt (shaped by nothing but never dropped by Sluice).
  if (auto e = writer_.publish({}); !e) {
    reloadRequired_ = "bypass rebuild: clearing the address map failed: " + e.error().message();
    return std::unexpected(e.error());
  }
  std::vector<TcOp> drops;
  std::set<std::string> seen;
  for (const auto& iface : active_->plan.interfaces) {
    if (seen.insert(iface.ifname).second) {
      TcOp op;
      op.kind = TcOp::Kind::DeleteRoot;
      op.ifname = iface.ifname;
      drops.push_back(op);
    }
  }
  if (auto r = runner_.run(drops); !r) {
    reloadRequired_ = "bypass rebuild: removing the old tree failed: " + r.error().message();
    return std::unexpected(r.error());
  }
  buildGeneration_ = active_->generation + 1;
  active_.reset();
  auto built = build(std::move(desired));
  if (!built) {
    return built;
  }
  built->mode = "bypass-rebuild";
  built->reason = reason;
  built->tcOps = runner_.messagesSent() - msgs0;
  built->durationMs = msSince(t0);
  return built;
}

Result<ApplyReport> Bakery::enterObserve(const std::vector<std::string>& interfaces) {
  const auto t0 = Clock::now();
  const uint64_t msgs0 = runner_.messagesSent();
  ApplyReport report;
  report.mode = "observe";
  if (auto r = beginApply(); !r) {
    return std::unexpected(r.error());
  }
  // Mappings first: from this epoch on nothing classifies into the tree that is going away.
  auto e = writer_.publish({});
  if (!e) {
    return std::unexpected(e.error());
  }
  report.mapRemovals = active_ ? active_->plan.addresses.size() : 0;
  plan::QueuePlan observed;
  if (active_) {
    observed.queueCount = active_->plan.queueCount;
    observed.queueCpu = active_->plan.queueCpu;
    observed.onAStick = active_->plan.onAStick;
    observed.holder = active_->plan.holder;  // the mq roots stay, with their holders
  }
  std::set<std::string> seen;
  for (const auto& name : interfaces) {
    if (seen.insert(name).second) {
      observed.interfaces.push_back(plan::InterfacePlan{name, {}, observed.holder});
    }
  }
  if (active_) {
    // Keep the mq roots: only the HTB qdiscs go (each mq class gets a default FIFO back).
    ChangeSet cs = diff(active_->plan, observed);
    std::vector<TcOp> ops;
    for (const auto& op : cs.deletePhase) {
      if (op.kind == TcOp::Kind::DeleteHtbQdisc || op.kind == TcOp::Kind::DeleteRoot) {
        ops.push_back(op);
      }
    }
    for (const auto& op : cs.addPhase) {
      if (op.kind == TcOp::Kind::AddRoot) {
        ops.insert(ops.begin(), op);
      }
    }
    if (auto r = runner_.run(ops); !r) {
      reloadRequired_ = "entering observe failed: " + r.error().message();
      return std::unexpected(r.error());
    }
  } else if (!interfaces.empty()) {
    std::vector<TcOp> roots;
    for (const auto& iface : observed.interfaces) {
      TcOp op;
      op.kind = TcOp::Kind::AddRoot;
      op.ifname = iface.ifname;
      roots.push_back(op);
    }
    auto r = runner_.run(roots);
    if (!r && r.error().errnum != EEXIST) {
      return std::unexpected(r.error());
    }
  }
  const uint32_t gen = active_ ? active_->generation : 0;
  if (auto r = persist(std::move(observed), gen); !r) {
    return std::unexpected(r.error());
  }
  report.tcOps = runner_.messagesSent() - msgs0;
  report.durationMs = msSince(t0);
  return report;
}

Result<std::vector<std::string>> Bakery::checkDrift() {
  if (!active_) {
    return std::vector<std::string>{};
  }
  auto diffs = runner_.liveDifferences(active_->plan);
  if (!diffs) {
    return diffs;
  }
  if (!diffs->empty()) {
    std::string cause = fmt::format("drift: {} differences between the kernel and the active "
                                    "state, first: {}",
                                    diffs->size(), diffs->front());
    reloadRequired_ = std::move(cause);
  }
  return diffs;
}

}  // namespace sluice::bakery
