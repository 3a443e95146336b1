// Bakery: applying a change set (chunked, within kernel memory), a first build, reconciling to
// a plan, and apply(): the diff, the fast path, and the change set it falls back to. Rebuilds
// and observe mode: BakeryRebuild.cpp.

#include "bakery/Bakery.h"

#include <chrono>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bakery/FastPatch.h"
#include "bakery/SpareRebuild.h"
#include "common/Elapsed.h"
#include "dataplane/MapWriter.h"
#include "tc/Applier.h"

namespace sluice::bakery {
namespace {

using Clock = std::chrono::steady_clock;

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


}  // namespace sluice::bakery
