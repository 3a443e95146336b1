#pragma once
// A kernel model for tests of the bakery (and of code that drives it): holds per device the mq
// root, HTB qdiscs, classes and leaves, applies TcOps with the kernel's rules and refuses what the
// kernel would refuse (a class under a missing parent, a duplicate qdisc handle on the device, a
// class with children deleted, a leaf kind changed in place, ...), counts operations, and can
// compare itself with a plan like tc::compareTree does with the live tree.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bakery/Bakery.h"

namespace sluice::bakery {

class ModelOpRunner final : public OpRunner {
 public:
  struct Queue {
    plan::HtbQueuePlan header;  ///< classes empty
  };
  struct Device {
    std::map<uint16_t, Queue> queues;                   ///< by HTB major
    plan::HolderKind holder = plan::HolderKind::None;   ///< created with the mq root
    std::map<uint32_t, plan::HtbClassPlan> classes;     ///< by raw classid (with leaf)
    std::set<uint16_t> qdiscMajors;                     ///< HTB and leaf handle majors in use
    /// Children per raw classid (classes with a parent minor), so "has children" is one lookup
    /// (a scan of every class per op made a 30k-circuit build quadratic: minutes).
    std::map<uint32_t, uint32_t> children;
  };

  Result<void> run(const std::vector<TcOp>& ops) override;
  Result<std::vector<std::string>> liveDifferences(const plan::QueuePlan& plan) override;
  Result<void> reconcile(const plan::QueuePlan& plan) override;
  Result<uint64_t> backlogPackets(const std::string& ifname,
                                  const std::vector<plan::TcHandle>& classids) override;
  /// ENOTSUP until setTxQueues() (the bakery then rebuilds beside the old tree).
  Result<uint32_t> txQueueCount(const std::string& ifname) override;
  /// Backlog (setBacklog) times the leaf classes of HTB `major` other than major:skipMinor.
  Result<uint64_t> htbBacklogPackets(const std::string& ifname, uint16_t major,
                                     uint16_t skipMinor) override;
  uint64_t messagesSent() const override { return opsRun_; }
  /// Tx queues every device reports (0: unknown, ENOTSUP).
  void setTxQueues(uint32_t n) { txQueues_ = n; }

  /// Runs after each successful op (tests check invariants at every step).
  void setAfterEachOp(std::function<void(const TcOp&)> hook) { afterEach_ = std::move(hook); }
  /// The op with this 0-based index (counted over the runner's life) fails with `errnum`.
  void failAt(uint64_t opIndex, int errnum) { failAt_ = opIndex; failErrno_ = errnum; }
  /// Backlog every existing leaf reports (drain tests).
  void setBacklog(uint64_t packets) { backlog_ = packets; }

  const std::map<std::string, Device>& devices() const { return devices_; }
  /// True when some queue of direction `d` on some device has class `classid`.
  bool hasClass(plan::Direction d, plan::TcHandle classid) const;
  uint64_t opsRun() const { return opsRun_; }
  const std::vector<TcOp>& log() const { return log_; }

 private:
  Result<void> apply(const TcOp& op);

  std::map<std::string, Device> devices_;
  std::function<void(const TcOp&)> afterEach_;
  std::vector<TcOp> log_;
  uint64_t opsRun_ = 0;
  uint32_t txQueues_ = 0;
  uint64_t failAt_ = UINT64_MAX;
  int failErrno_ = 0;
  uint64_t backlog_ = 0;
};

}  // namespace sluice::bakery
