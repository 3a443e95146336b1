// Bakery: rebuilds (on spare tx queues, or a bypass rebuild from the mq root), observe mode
// (the queue tree removed, the data plane kept) and drift checks against the kernel.

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

}  // namespace

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
