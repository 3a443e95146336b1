// The bakery on a real kernel (root, its own network namespace): a planner-built tree on a veth
// pair (lan0 = download, wan0 = upload, 4 tx queues each; this kernel has no CAKE/fq_codel, so
// CAKE leaves become pfifo and fq_codel leaves bfifo), then every change class applied through
// NetlinkOpRunner. After each apply the live dump must equal the active plan (tc::compareTree),
// and the kernel messages are counted: speed and address changes are O(1).

#include <gtest/gtest.h>

#include <unistd.h>

#include <fmt/format.h>

#include <set>
#include <span>

#include "BakeryTestUtil.h"
#include "KernelTestUtil.h"
#include "bakery/NetlinkOpRunner.h"
#include "tc/LiveTree.h"
#include "tests/integration/tc/TestSupport.h"

namespace sluice::bakery {
namespace {

using tc::testing::Netns;

class BakeryKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root (network namespaces)";
    }
    ns_ = std::make_unique<Netns>();
    tc::testing::run(fmt::format("ip -n {} link add lan0 numtxqueues 4 numrxqueues 4 type veth "
                                 "peer name wan0 numtxqueues 4 numrxqueues 4",
                                 ns_->name()));
    tc::testing::run(fmt::format("ip -n {} link set lan0 up", ns_->name()));
    tc::testing::run(fmt::format("ip -n {} link set wan0 up", ns_->name()));
    auto socket = netlink::Socket::open(ns_->path());
    ASSERT_TRUE(socket) << socket.error().message();
    auto clock = tc::Psched::read();
    ASSERT_TRUE(clock) << clock.error().message();
    runner_ = std::make_unique<NetlinkOpRunner>(std::move(*socket), *clock);
    limits_.memoryAvailableBytes = 0;  // the real MemAvailable
    limits_.memoryReserveBytes = 64ull << 20;
    bakery_ = std::make_unique<Bakery>(*runner_, writer_, dir_.path(), limits_);
  }

  ApplyReport apply(const model::Model& m) {
    auto r = bakery_->apply(kernelLeaves(testing::planOf(m)));
    EXPECT_TRUE(r) << r.error().message();
    expectLiveEqualsActive();
    return r ? *r : ApplyReport{};
  }

  void expectLiveEqualsActive() {
    ASSERT_NE(bakery_->active(), nullptr);
    auto diffs = runner_->liveDifferences(*bakery_->active());
    ASSERT_TRUE(diffs) << diffs.error().message();
    EXPECT_TRUE(diffs->empty()) << diffs->size() << " differences:\n" << joined(*diffs);
    std::map<IpNet, plan::AddressMapping> want;
    for (const auto& a : bakery_->active()->addresses) want.emplace(a.prefix, a);
    EXPECT_EQ(writer_.table(), want);
  }

  std::unique_ptr<Netns> ns_;
  testing::TempDir dir_;
  Limits limits_;
  std::unique_ptr<NetlinkOpRunner> runner_;
  dataplane::RecordingMapWriter writer_;
  std::unique_ptr<Bakery> bakery_;
};

TEST_F(BakeryKernelTest, EveryChangeClassLandsInTheKernelWithItsOwnOpsOnly) {
  auto m = testing::smallIsp(60);
  auto r = apply(m);
  EXPECT_EQ(r.mode, "build");
  EXPECT_GT(r.tcOps, 250u);

  r = apply(m);
  EXPECT_EQ(r.mode, "noop");
  EXPECT_EQ(r.tcOps, 0u);

  // Speed change: one HTB class change per direction, nothing else.
  m.shaped.circuits[7].downloadMaxMbps = 123;
  m.shaped.circuits[7].uploadMaxMbps = 45;
  r = apply(m);
  EXPECT_EQ(r.mode, "incremental");
  EXPECT_EQ(r.tcOps, 2u);
  EXPECT_EQ(r.counts[ChangeKind::SpeedChange], 1u);

  // Address added / moved: map only.
  m.shaped.circuits[8].devices[0].ipv4.push_back(*IpNet::parse("100.64.90.0/29"));
  m.shaped.circuits[9].devices[0].ipv4.push_back(m.shaped.circuits[10].devices[0].ipv4[0]);
  m.shaped.circuits[10].devices[0].ipv4.clear();
  const size_t calls = writer_.calls().size();
  r = apply(m);
  EXPECT_EQ(r.tcOps, 0u);
  EXPECT_EQ(writer_.calls().size(), calls + 1);

  // Circuit added in the middle of the list: 2 classes + 2 leaves.
  testing::insertCircuit(m, 5, "new-1", "AP-B1", 70, 20, "100.64.91.1");
  r = apply(m);
  EXPECT_EQ(r.tcOps, 4u);
  EXPECT_EQ(r.counts[ChangeKind::CircuitAdded], 1u);

  // SQM kind change (CAKE → fq_codel, here pfifo → bfifo): a leaf with a rotated handle, per
  // direction; the class stays.
  m.shaped.circuits[11].sqm = {model::SqmKind::FqCodel, model::SqmKind::FqCodel};
  r = apply(m);
  EXPECT_EQ(r.tcOps, 2u);
  EXPECT_EQ(r.counts[ChangeKind::SqmChange], 1u);

  // Parent move: staged add, remap, delete.
  auto& mover = m.shaped.circuits[12];
  mover.parentNode = mover.parentNode == "AP-A1" ? "AP-A2" : "AP-A1";
  r = apply(m);
  EXPECT_EQ(r.counts[ChangeKind::ParentMove], 1u);
  EXPECT_EQ(r.tcOps, 6u);

  // Node speed change.
  m.network.nodes[m.network.find("AP-B2")].downloadMbps = 444;
  r = apply(m);
  EXPECT_EQ(r.counts[ChangeKind::NodeSpeedChange], 1u);
  EXPECT_LE(r.tcOps, 4u);

  // Circuit removed: two class deletes (the leaves go with their classes).
  testing::eraseCircuit(m, "c30");
  r = apply(m);
  EXPECT_EQ(r.tcOps, 2u);
  EXPECT_EQ(r.counts[ChangeKind::CircuitRemoved], 1u);
  EXPECT_FALSE(bakery_->reloadRequired());

  // A restart diffs against the persisted state: nothing to do.
  ASSERT_TRUE(bakery_->flush());
  Bakery restarted(*runner_, writer_, dir_.path(), limits_);
  ASSERT_TRUE(restarted.load());
  auto again = restarted.apply(kernelLeaves(testing::planOf(m)));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->mode, "noop");
}

/// The op runner without its tx queue count: the rebuild stays in the same HTB qdiscs.
class NoSpareRunner final : public OpRunner {
 public:
  explicit NoSpareRunner(OpRunner& inner) : inner_(inner) {}
  Result<void> run(const std::vector<TcOp>& ops) override { return inner_.run(ops); }
  Result<std::vector<std::string>> liveDifferences(const plan::QueuePlan& p) override {
    return inner_.liveDifferences(p);
  }
  Result<uint64_t> backlogPackets(const std::string& ifname,
                                  const std::vector<plan::TcHandle>& classids) override {
    return inner_.backlogPackets(ifname, classids);
  }
  uint64_t messagesSent() const override { return inner_.messagesSent(); }

 private:
  OpRunner& inner_;
};

/// Records mappings and checks the live kernel after every map write: every mapping's classes
/// exist (download on lan0, upload on wan0), and tx queues 0..queues-1 of both devices hold an
/// HTB qdisc (unknown addresses go to their default classes, bpf/lookup.h).
class LiveCheckingWriter final : public dataplane::MapWriter {
 public:
  LiveCheckingWriter(NetlinkOpRunner& runner, uint16_t queues) : runner_(runner), queues_(queues) {}
  Result<uint32_t> publish(std::span<const plan::AddressMapping> m) override {
    auto r = inner.publish(m);
    check();
    return r;
  }
  Result<uint32_t> update(std::span<const plan::AddressMapping> u,
                          std::span<const IpNet> rm) override {
    auto r = inner.update(u, rm);
    check();
    return r;
  }
  Result<uint32_t> bumpEpoch() override { return inner.bumpEpoch(); }

  dataplane::RecordingMapWriter inner;
  int writes = 0;
  std::string firstProblem;

 private:
  void check() {
    ++writes;
    std::map<std::string, std::set<uint32_t>> classes;
    for (const char* dev : {"lan0", "wan0"}) {
      auto live = tc::readLiveTree(runner_.socket(), dev);
      if (!live) {
        note(live.error().message());
        return;
      }
      for (const auto& c : live->classes)
        classes[dev].insert(c.classid);
      for (uint16_t t = 0; t < queues_; ++t) {
        const tc::LiveQdisc* q = live->qdiscAt(tc::makeHandle(plan::kMqMajor, t + 1));
        if (q == nullptr || q->kind != "htb") {
          note(fmt::format("write {}: {} tx queue {} holds no HTB qdisc", writes, dev, t));
        }
      }
    }
    for (const auto& [prefix, a] : inner.table()) {
      if (!classes["lan0"].contains(a.downClass.raw()) ||
          !classes["wan0"].contains(a.upClass.raw())) {
        note(fmt::format("write {}: {} maps to {} / {}, not both live", writes, prefix.toString(),
                         a.downClass.toString(), a.upClass.toString()));
      }
    }
  }
  void note(const std::string& problem) {
    if (firstProblem.empty())
      firstProblem = problem;
  }

  NetlinkOpRunner& runner_;
  uint16_t queues_;
};

TEST_F(BakeryKernelTest, RebuildOnSpareTxQueuesKeepsEveryMappingAndDefaultClassLive) {
  // 4 tx queues, 2 shaping queues: 2 spare.
  LiveCheckingWriter writer(*runner_, 2);
  testing::TempDir dir;
  Bakery bakery(*runner_, writer, dir.path(), limits_);
  auto m = testing::smallIsp(40);
  ASSERT_TRUE(bakery.apply(kernelLeaves(testing::planOf(m))));
  const int writes = writer.writes;
  auto r = bakery.rebuild(kernelLeaves(testing::planOf(m)), "test");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "spare-queue-rebuild") << r->reason;
  EXPECT_EQ(writer.writes - writes, 3) << "one map update per queue built, one queue twice";
  EXPECT_EQ(writer.firstProblem, "");
  auto diffs = runner_->liveDifferences(*bakery.active());
  ASSERT_TRUE(diffs) << diffs.error().message();
  EXPECT_TRUE(diffs->empty()) << joined(*diffs);
  for (const char* dev : {"lan0", "wan0"}) {
    auto live = tc::readLiveTree(runner_->socket(), dev);
    ASSERT_TRUE(live);
    for (uint16_t t = 2; t < 4; ++t) {  // the spare tx queues are free again
      const tc::LiveQdisc* q = live->qdiscAt(tc::makeHandle(plan::kMqMajor, t + 1));
      EXPECT_TRUE(q == nullptr || q->kind != "htb") << dev << " tx queue " << t;
    }
  }
  // Later changes match the permuted tree: a speed change is 2 class changes.
  m.shaped.circuits[7].downloadMaxMbps = 123;
  auto speed = bakery.apply(kernelLeaves(testing::planOf(m)));
  ASSERT_TRUE(speed) << speed.error().message();
  EXPECT_EQ(speed->mode, "incremental");
  EXPECT_LE(speed->tcOps, 2u);
  auto again = bakery.rebuild(kernelLeaves(testing::planOf(m)), "again");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->mode, "spare-queue-rebuild") << again->reason;
  EXPECT_EQ(writer.firstProblem, "");
  diffs = runner_->liveDifferences(*bakery.active());
  ASSERT_TRUE(diffs) << diffs.error().message();
  EXPECT_TRUE(diffs->empty()) << joined(*diffs);
}

TEST_F(BakeryKernelTest, HitlessRebuildObserveAndDrift) {
  auto m = testing::smallIsp(40);
  apply(m);
  const uint32_t epoch = writer_.epoch();
  {
    // Without a known tx queue count: the new tree beside the old one, one epoch bump.
    ASSERT_TRUE(bakery_->flush());
    NoSpareRunner noSpare(*runner_);
    Bakery inPlace(noSpare, writer_, dir_.path(), limits_);
    ASSERT_TRUE(inPlace.load());
    auto r = inPlace.rebuild(kernelLeaves(testing::planOf(m)), "test");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->mode, "hitless-rebuild");
    EXPECT_NE(r->reason.find("not on spare tx queues"), std::string::npos) << r->reason;
    EXPECT_EQ(writer_.epoch(), epoch + 1) << "one epoch bump switches every mapping";
    ASSERT_TRUE(inPlace.flush());
  }
  bakery_ = std::make_unique<Bakery>(*runner_, writer_, dir_.path(), limits_);
  ASSERT_TRUE(bakery_->load());
  expectLiveEqualsActive();

  // Drift: a class deleted behind Sluice's back is found, and the next apply repairs it.
  const auto victim = bakery_->active()->circuits[3].downClass;
  tc::testing::run(fmt::format("ip netns exec {} tc class del dev lan0 classid {}", ns_->name(),
                               victim.toString()));
  auto drift = bakery_->checkDrift();
  ASSERT_TRUE(drift) << drift.error().message();
  EXPECT_FALSE(drift->empty());
  EXPECT_TRUE(bakery_->reloadRequired());
  apply(m);
  EXPECT_FALSE(bakery_->reloadRequired());

  // Observe: mappings cleared first, HTB qdiscs gone, mq roots kept; then shape again.
  auto obs = bakery_->enterObserve({"lan0", "wan0"});
  ASSERT_TRUE(obs) << obs.error().message();
  EXPECT_TRUE(writer_.table().empty());
  auto live = tc::readLiveTree(runner_->socket(), "lan0");
  ASSERT_TRUE(live);
  for (const auto& q : live->qdiscs) {
    EXPECT_NE(q.kind, "htb");
  }
  EXPECT_TRUE(live->classes.empty() ||
              std::none_of(live->classes.begin(), live->classes.end(),
                           [](const tc::LiveClass& c) { return c.kind == "htb"; }));
  fmt::print("observe transition: {:.2f} ms, {} tc ops\n", obs->durationMs, obs->tcOps);
  auto back = bakery_->apply(kernelLeaves(testing::planOf(m)));
  ASSERT_TRUE(back) << back.error().message();
  expectLiveEqualsActive();
}

}  // namespace
}  // namespace sluice::bakery
