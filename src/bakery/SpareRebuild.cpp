// Bakery::spareQueueRebuild: the hitless rebuild on spare tx queues (bakery/SpareRebuild.h runs
// the schedule; this file executes it), and the OpRunner defaults it relies on.

#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bakery/SpareRebuild.h"
#include "common/Elapsed.h"
#include "dataplane/MapWriter.h"

namespace sluice::bakery {
namespace {

using Clock = std::chrono::steady_clock;

/// HTB qdisc, classes (parents first, as the plan orders them), then leaves of `q`.
void appendBuild(std::vector<TcOp>& ops, const std::string& ifname, const plan::HtbQueuePlan& q) {
  TcOp add;
  add.kind = TcOp::Kind::AddHtbQdisc;
  add.ifname = ifname;
  add.queue = queueHeader(q);
  ops.push_back(std::move(add));
  for (const auto& cls : q.classes) {
    ops.push_back(classOp(TcOp::Kind::AddClass, ifname, q, cls));
  }
  for (const auto& cls : q.classes) {
    if (cls.leaf && cls.leaf->kind != plan::LeafKind::None) {
      ops.push_back(classOp(TcOp::Kind::AddLeaf, ifname, q, cls));
    }
  }
}

/// The delete of the HTB qdisc on tx queue `slot` of `ifname` (below its `holder`, if any).
TcOp deleteHtb(const std::string& ifname, uint16_t slot, plan::HolderKind holder) {
  TcOp del;
  del.kind = TcOp::Kind::DeleteHtbQdisc;
  del.ifname = ifname;
  del.queue.txQueue = slot;
  del.queue.major = static_cast<uint16_t>(slot + 1);
  del.queue.holder = holder;
  return del;
}

/// Leaf handle majors in use by `p` (and the ones reserved in `used` already) are marked.
void markLeaves(const plan::QueuePlan& p, std::vector<bool>& used) {
  for (const auto& iface : p.interfaces) {
    for (const auto& q : iface.queues) {
      for (const auto& cls : q.classes) {
        if (cls.leaf && cls.leaf->kind != plan::LeafKind::None)
          used[cls.leaf->handleMajor] = true;
      }
    }
  }
}

/// `q` moved to tx queue `slot` with fresh leaf handles (it coexists with its final copy).
Result<plan::HtbQueuePlan> interimCopy(const plan::HtbQueuePlan& q, uint16_t slot,
                                       std::vector<bool>& used, uint32_t& cursor) {
  plan::HtbQueuePlan copy = q;
  const uint16_t major = static_cast<uint16_t>(slot + 1);
  for (auto& cls : copy.classes) {
    if (cls.classid.major == q.major)
      cls.classid.major = major;
    if (cls.parent.major == q.major)
      cls.parent.major = major;
    if (!cls.leaf || cls.leaf->kind == plan::LeafKind::None)
      continue;
    while (cursor < 0xFFFF && used[cursor])
      ++cursor;
    if (cursor >= 0xFFFF) {
      return makeError(ENOSPC, "rebuild on spare tx queues",
                       "no qdisc handle left for the interim copy of a queue");
    }
    used[cursor] = true;
    cls.leaf->handleMajor = static_cast<uint16_t>(cursor);
  }
  copy.txQueue = slot;
  copy.major = major;
  return copy;
}

}  // namespace

Result<uint32_t> OpRunner::txQueueCount(const std::string& ifname) {
  return makeError(ENOTSUP, "tx queue count of " + ifname, "this op runner has no kernel to read");
}

Result<uint64_t> OpRunner::htbBacklogPackets(const std::string& ifname, uint16_t, uint16_t) {
  return makeError(ENOTSUP, "HTB backlog on " + ifname, "this op runner has no kernel to read");
}

uint64_t Bakery::drainHtb(const std::string& ifname, uint16_t major, uint16_t defaultMinor) {
  const auto deadline = Clock::now() + limits_.drainTimeout;
  for (;;) {
    auto b = runner_.htbBacklogPackets(ifname, major, defaultMinor);
    if (!b || *b == 0) {
      return 0;
    }
    if (Clock::now() >= deadline) {
      return *b;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::optional<Result<ApplyReport>> Bakery::spareQueueRebuild(const plan::QueuePlan& input,
                                                             const std::string& reason,
                                                             std::string& whyNot) {
  const auto t0 = Clock::now();
  const plan::QueuePlan& active = active_->plan;
  uint32_t txQueues = UINT32_MAX;
  for (const auto& iface : input.interfaces) {
    auto n = runner_.txQueueCount(iface.ifname);
    if (!n) {
      whyNot = "tx queue count unknown: " + n.error().message();
      return std::nullopt;
    }
    txQueues = std::min(txQueues, *n);
  }
  if (input.holder != plan::HolderKind::None) {
    txQueues = std::min(txQueues, plan::kMaxHolderTxQueues);  // tx queues with a holder
  }
  auto planned = detail::planSpareRebuild(active, input, txQueues);
  if (auto* why = std::get_if<std::string>(&planned)) {
    whyNot = *why;
    return std::nullopt;
  }
  const auto& sched = std::get<detail::SpareSchedule>(planned);
  plan::QueuePlan desired = input;
  if (auto r = detail::stabilizeForSpareRebuild(desired, active, txQueues + 1); !r) {
    whyNot = r.error().message();
    return std::nullopt;
  }
  detail::relocateQueues(
      desired, std::vector<std::vector<uint16_t>>(desired.interfaces.size(), sched.finalSlot));
  if (auto r = preflight(desired, limits_, &active, true); !r) {
    whyNot = r.error().message();
    return std::nullopt;
  }

  // Interim copies (a queue that must move before its final tx queue is free).
  std::vector<bool> used(0x10000, false);
  for (uint32_t m = 0; m <= txQueues + 1 && m < 0x10000; ++m)
    used[m] = true;
  plan::markReservedMajors(used);
  markLeaves(active, used);
  std::vector<bool> clash = used;
  markLeaves(desired, used);
  uint32_t cursor = 1;
  // Stabilization keeps the link's and default class's leaf handles (an in-place rebuild changes
  // those classes in place); here the old leaf still exists when the new one is added.
  for (auto& iface : desired.interfaces) {
    for (auto& q : iface.queues) {
      for (auto& cls : q.classes) {
        if (!cls.leaf || cls.leaf->kind == plan::LeafKind::None || !clash[cls.leaf->handleMajor]) {
          continue;
        }
        while (cursor < 0xFFFF && used[cursor])
          ++cursor;
        if (cursor >= 0xFFFF) {
          whyNot = "no qdisc handle left for a new leaf beside the old tree";
          return std::nullopt;
        }
        used[cursor] = true;
        cls.leaf->handleMajor = static_cast<uint16_t>(cursor);
      }
    }
  }
  std::map<std::pair<size_t, size_t>, plan::HtbQueuePlan> interim;  // (iface, position)
  for (const auto& step : sched.steps) {
    if (step.final)
      continue;
    for (size_t i = 0; i < desired.interfaces.size(); ++i) {
      auto copy = interimCopy(desired.interfaces[i].queues[step.position], step.slot, used, cursor);
      if (!copy) {
        whyNot = copy.error().message();
        return std::nullopt;
      }
      interim[{i, step.position}] = std::move(*copy);
    }
  }
  // Addresses by queue position (the final major tells the position); prefixes that go away.
  std::map<std::pair<plan::Direction, uint16_t>, size_t> positionOf;
  for (const auto& iface : desired.interfaces) {
    for (size_t k = 0; k < iface.queues.size(); ++k) {
      positionOf[{iface.queues[k].direction, iface.queues[k].major}] = k;
    }
  }
  std::vector<std::vector<const plan::AddressMapping*>> byPosition(sched.finalSlot.size());
  std::set<IpNet> kept;
  for (const auto& a : desired.addresses) {
    auto it = a.downClass.major != 0
                  ? positionOf.find({plan::Direction::Download, a.downClass.major})
                  : positionOf.find({plan::Direction::Upload, a.upClass.major});
    if (it != positionOf.end())
      byPosition[it->second].push_back(&a);
    kept.insert(a.prefix);
  }
  std::vector<IpNet> removals;
  for (const auto& a : active.addresses) {
    if (!kept.contains(a.prefix))
      removals.push_back(a.prefix);
  }

  if (auto r = beginApply(); !r) {
    return std::unexpected(r.error());
  }
  spdlog::info(
      "bakery: rebuild ({}) on spare tx queues: {} queues, {} tx queues, {} interim "
      "cop{}",
      reason, sched.finalSlot.size(), txQueues, sched.interimCopies,
      sched.interimCopies == 1 ? "y" : "ies");
  for (const auto& st : sched.steps) {
    spdlog::debug("bakery: spare step: queue {} ({} classes) -> tx queue {}{}{}", st.position,
                  desired.interfaces.front().queues[st.position].classes.size(), st.slot,
                  st.final ? "" : " (interim)",
                  st.clearsSlot ? ", after deleting the HTB there" : "");
  }
  ApplyReport report;
  report.mode = "spare-queue-rebuild";
  report.reason = reason;
  report.planMs = msSince(t0);
  const uint64_t msgs0 = runner_.messagesSent();
  std::map<std::pair<size_t, uint16_t>, uint16_t> defaultAt;  // (iface, tx queue) -> default minor
  for (size_t i = 0; i < active.interfaces.size(); ++i) {
    for (const auto& q : active.interfaces[i].queues)
      defaultAt[{i, q.txQueue}] = q.defaultMinor;
  }
  uint64_t leftover = 0;
  const auto fail = [&](const std::string& where, const Error& e) {
    reloadRequired_ = "rebuild on spare tx queues failed " + where + ": " + e.message();
    return std::optional<Result<ApplyReport>>(std::unexpected(e));
  };
  // Prefixes that go away leave the map before any old HTB qdisc goes: planSpareRebuild lets a
  // step delete an old qdisc that still classifies them (they hold nothing in the new tree).
  if (!removals.empty()) {
    const auto tm = Clock::now();
    auto e = writer_.update({}, removals);
    report.mapMs += msSince(tm);
    if (!e) {
      return fail("removing the addresses that go away", e.error());
    }
  }
  for (const auto& step : sched.steps) {
    // The old HTB qdiscs of every interface first, then the new ones: deletes find their
    // classes in the kernel's block list before this step's new classes are put in front.
    std::vector<TcOp> ops;
    if (step.clearsSlot) {
      for (size_t i = 0; i < desired.interfaces.size(); ++i) {
        const std::string& ifname = desired.interfaces[i].ifname;
        leftover +=
            drainHtb(ifname, static_cast<uint16_t>(step.slot + 1), defaultAt[{i, step.slot}]);
        ops.push_back(deleteHtb(ifname, step.slot, desired.holder));
      }
    }
    for (size_t i = 0; i < desired.interfaces.size(); ++i) {
      const plan::HtbQueuePlan& q =
          step.final ? desired.interfaces[i].queues[step.position] : interim.at({i, step.position});
      appendBuild(ops, desired.interfaces[i].ifname, q);
      defaultAt[{i, step.slot}] = q.defaultMinor;
    }
    const auto tk = Clock::now();
    auto r = runChunked(ops);
    report.kernelMs += msSince(tk);
    if (!r) {
      return fail(fmt::format("building queue {} on tx queue {}", step.position, step.slot),
                  r.error());
    }
    std::vector<plan::AddressMapping> upserts;
    upserts.reserve(byPosition[step.position].size());
    for (const auto* a : byPosition[step.position]) {
      upserts.push_back(*a);
      if (!step.final) {
        auto& m = upserts.back();
        if (m.downClass.major != 0)
          m.downClass.major = static_cast<uint16_t>(step.slot + 1);
        if (m.upClass.major != 0)
          m.upClass.major = static_cast<uint16_t>(step.slot + 1);
      }
    }
    const auto tm = Clock::now();
    auto e = writer_.update(upserts, {});
    report.mapMs += msSince(tm);
    if (!e) {
      return fail(fmt::format("switching queue {}", step.position), e.error());
    }
    report.mapUpserts += upserts.size();
  }
  std::vector<TcOp> ops;
  for (uint16_t slot : sched.leftovers) {
    for (size_t i = 0; i < desired.interfaces.size(); ++i) {
      leftover += drainHtb(desired.interfaces[i].ifname, static_cast<uint16_t>(slot + 1),
                           defaultAt[{i, slot}]);
      ops.push_back(deleteHtb(desired.interfaces[i].ifname, slot, desired.holder));
    }
  }
  const auto tk = Clock::now();
  auto r = runChunked(ops);
  report.kernelMs += msSince(tk);
  if (!r) {
    return fail("deleting the old HTB qdiscs", r.error());
  }
  if (leftover > 0) {
    report.reason += fmt::format("; {} packets still queued in old leaves after {} ms", leftover,
                                 limits_.drainTimeout.count());
  }
  report.mapRemovals = removals.size();
  report.tcOps = runner_.messagesSent() - msgs0;
  if (auto p = persist(std::move(desired), active_->generation + 1); !p) {
    return std::unexpected(p.error());
  }
  reloadRequired_.reset();
  report.durationMs = msSince(t0);
  spdlog::info(
      "bakery: rebuild on spare tx queues done in {:.0f} ms, {} tc messages, {} map "
      "updates",
      report.durationMs, report.tcOps, sched.steps.size());
  return report;
}

}  // namespace sluice::bakery
