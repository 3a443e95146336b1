// Kernel tests of the netlink Applier (root, network namespaces): build generated plans of 1k
// circuits on veths, read the tree back and compare every class and leaf with the plan; the
// replace and remove paths; errors that name the failing operation; statistics of real traffic.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>

#include "netlink/Socket.h"
#include "tc/Applier.h"
#include "tc/LiveTree.h"
#include "tc/Verify.h"
#include "tests/integration/tc/TestSupport.h"

namespace sluice::tc {
namespace {

using testing::addVethPair;
using testing::makePlan;
using testing::Netns;

std::string joined(const std::vector<std::string>& lines, size_t max = 20) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < max; ++i) {
    out += "  " + lines[i] + "\n";
  }
  if (lines.size() > max) {
    out += fmt::format("  ... and {} more\n", lines.size() - max);
  }
  return out;
}

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root (network namespaces)";
    }
    ns_ = std::make_unique<Netns>();
    addVethPair(*ns_, 16);
    auto socket = netlink::Socket::open(ns_->path());
    ASSERT_TRUE(socket) << socket.error().message();
    auto clock = Psched::read();
    ASSERT_TRUE(clock) << clock.error().message();
    applier_ = std::make_unique<NetlinkApplier>(std::move(*socket), *clock);
  }

  LiveTree readBack() {
    auto live = readLiveTree(applier_->socket(), "a0");
    EXPECT_TRUE(live) << live.error().message();
    return live ? *live : LiveTree{};
  }

  void expectTreeEquals(const plan::InterfacePlan& p) {
    const LiveTree live = readBack();
    const auto diffs = compareTree(live, p);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences:\n" << joined(diffs);
  }

  std::unique_ptr<Netns> ns_;
  std::unique_ptr<NetlinkApplier> applier_;
};

size_t countClasses(const plan::InterfacePlan& p) {
  size_t n = 0;
  for (const auto& q : p.queues) {
    n += q.classes.size();
  }
  return n;
}

TEST_F(ApplierTest, Creates1kCircuitsOn8QueuesAndReadsThemBack) {
  const auto p = makePlan("a0", 8, 1000, plan::LeafKind::Pfifo);
  auto r = applier_->create(p);
  ASSERT_TRUE(r) << r.error().message();
  const LiveTree live = readBack();
  const auto htbClasses = std::count_if(live.classes.begin(), live.classes.end(),
                                        [](const LiveClass& c) { return c.kind == "htb"; });
  EXPECT_EQ(static_cast<size_t>(htbClasses), countClasses(p));
  // Every planned class and leaf, field by field (compareTree), and the structure around them.
  const auto diffs = compareTree(live, p);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences:\n" << joined(diffs);
  // Spot-check one circuit by hand so that a bug shared by compareTree and the decoders shows.
  const auto& c = p.queues[3].classes.back();
  const LiveClass* lc = live.findClass(c.classid.raw());
  ASSERT_NE(lc, nullptr);
  ASSERT_TRUE(lc->htb.has_value());
  EXPECT_EQ(lc->htb->rateBytesPerSec * 8, c.rateBitsPerSecond / 8 * 8);
  EXPECT_EQ(lc->parent, c.parent.raw());
  EXPECT_EQ(lc->leafHandle, makeHandle(c.leaf->handleMajor, 0));
  // The 40 Gbit/s link classes went through TCA_HTB_RATE64.
  const LiveClass* link = live.findClass(makeHandle(1, 1));
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->htb->rateBytesPerSec, 5'000'000'000u);
  EXPECT_GT(applier_->lastStats().messages, 2000u);
  EXPECT_LT(applier_->lastStats().sendCalls, applier_->lastStats().messages / 20)
      << "messages should be batched many per sendmsg";
}

TEST_F(ApplierTest, ReplaceChangesRatesLeavesAndStructureInPlace) {
  auto a = makePlan("a0", 8, 1000, plan::LeafKind::Pfifo);
  ASSERT_TRUE(applier_->create(a));

  // Replacing with the identical plan sends nothing.
  auto same = applier_->replace(a);
  ASSERT_TRUE(same) << same.error().message();
  EXPECT_EQ(applier_->lastStats().messages, 0u);

  auto b = a;
  auto& q0 = b.queues[0].classes;
  q0[10].rateBitsPerSecond *= 2;       // rate change
  q0[10].ceilBitsPerSecond *= 3;
  q0[11].leaf->fifoLimit = 7;           // leaf parameter change
  q0[12].leaf->kind = plan::LeafKind::Bfifo;  // leaf kind change, same handle
  q0[12].leaf->fifoLimit = 30000;
  q0[13].parent = {1, 4};               // re-parented circuit
  if (q0[13].parent == q0[13].classid) {
    q0[13].parent = {1, 5};
  }
  q0.erase(q0.begin() + 20);            // removed circuit
  plan::HtbClassPlan added = q0.back();  // new circuit
  added.classid = {1, 0x7000};
  added.leaf->handleMajor = 0x6000;
  q0.push_back(added);
  b.queues[7].defaultMinor = 3;         // queue 7 is rebuilt (HTB cannot change its default)
  b.queues.erase(b.queues.begin() + 6);  // queue 6 goes away

  auto r = applier_->replace(b);
  ASSERT_TRUE(r) << r.error().message();
  // Rebuilt queue 7 (HTB delete + add, 131 classes, 126 leaves) + 10 circuit edits + 1 fifo for
  // the dropped queue.
  EXPECT_LE(applier_->lastStats().messages, 270u) << "replace must not rebuild everything";
  expectTreeEquals(b);
  // Converged: replacing with the same plan again sends nothing.
  ASSERT_TRUE(applier_->replace(b));
  EXPECT_EQ(applier_->lastStats().messages, 0u);
  const LiveTree live = readBack();
  EXPECT_EQ(live.findClass(a.queues[0].classes[20].classid.raw()), nullptr);
  const LiveQdisc* q6 = live.qdiscAt(makeHandle(0x7FFF, 7));
  ASSERT_NE(q6, nullptr);
  EXPECT_NE(q6->kind, "htb") << "the dropped queue's HTB must be gone";
}

TEST_F(ApplierTest, AnInertR2qIsKeptAndOneAClassReadsRebuildsItsQueue) {
  auto a = makePlan("a0", 4, 200, plan::LeafKind::Pfifo);
  ASSERT_TRUE(applier_->create(a));

  // Every class carries a quantum, so HTB never reads r2q: a link-rate edit that moves only the
  // planner's r2q must not regraft the HTB qdiscs (which would drop all their classes).
  auto b = a;
  for (auto& q : b.queues) {
    q.r2q = 37;
  }
  ASSERT_TRUE(plan::r2qIsInert(b.queues[0]));
  auto r = applier_->replace(b);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(applier_->lastStats().messages, 0u);
  expectTreeEquals(b);  // the live r2q (10) differs, inert: no difference reported
  const LiveQdisc* kept = readBack().findQdisc(makeHandle(b.queues[1].major, 0));
  ASSERT_NE(kept, nullptr);
  ASSERT_TRUE(kept->htb);
  EXPECT_EQ(kept->htb->r2q, 10u) << "the inert r2q must stay as it was";

  // A class without its own quantum reads r2q: that queue (alone) is rebuilt with the new one.
  b.queues[2].classes.back().quantumBytes = 0;
  ASSERT_FALSE(plan::r2qIsInert(b.queues[2]));
  const auto diffs = compareTree(readBack(), b);
  const std::string r2qLine = fmt::format("htb {:x}: r2q/default", b.queues[2].major);
  EXPECT_TRUE(std::any_of(diffs.begin(), diffs.end(),
                          [&](const std::string& d) { return d.starts_with(r2qLine); }))
      << joined(diffs);
  r = applier_->replace(b);
  ASSERT_TRUE(r) << r.error().message();
  const size_t rebuilt = b.queues[2].classes.size() * 2 + 2;  // classes, leaves, HTB del + add
  EXPECT_LE(applier_->lastStats().messages, rebuilt);
  EXPECT_GE(applier_->lastStats().messages, b.queues[2].classes.size());
  const LiveTree live = readBack();
  const LiveQdisc* fresh = live.findQdisc(makeHandle(b.queues[2].major, 0));
  ASSERT_NE(fresh, nullptr);
  ASSERT_TRUE(fresh->htb);
  EXPECT_EQ(fresh->htb->r2q, 37u);
  EXPECT_EQ(live.findQdisc(makeHandle(b.queues[1].major, 0))->htb->r2q, 10u);
}

TEST_F(ApplierTest, HoldersSitOnEveryTxQueueAndReplaceMovesQueuesBelowThemAndBack) {
  const auto plain = makePlan("a0", 4, 200, plan::LeafKind::Pfifo);
  auto held = plain;
  held.holder = plan::HolderKind::Tbf;
  for (auto& q : held.queues) q.holder = plan::HolderKind::Tbf;
  {
    auto r = applier_->create(held);
    ASSERT_TRUE(r) << r.error().message();
  }
  expectTreeEquals(held);
  const auto holders = [&] {
    const LiveTree live = readBack();
    return std::count_if(live.qdiscs.begin(), live.qdiscs.end(),
                         [](const LiveQdisc& q) { return q.kind == "tbf"; });
  };
  EXPECT_EQ(holders(), 16) << "one holder per tx queue of the device, spare ones included";
  const LiveQdisc* htb = readBack().qdiscAt(makeHandle(0x7FFE, 1));
  ASSERT_NE(htb, nullptr);
  EXPECT_EQ(htb->handle, makeHandle(1, 0));
  // The holder encodes what `tc` makes of the line renderTcBatch writes (planner/TcBatch.h).
  testing::run(fmt::format("ip netns exec {} tc qdisc replace dev b0 root handle 7fff: mq",
                           ns_->name()));
  testing::run(fmt::format("ip netns exec {} tc qdisc replace dev b0 parent 7fff:1 handle 7ffe: "
                           "tbf rate 400000000000bit burst 4194304 limit 1514000",
                           ns_->name()));
  const auto shown = [&](const char* dev) {
    return testing::capture(
        fmt::format("ip netns exec {} tc -d qdisc show dev {} parent 7fff:1", ns_->name(), dev));
  };
  EXPECT_EQ(shown("a0"), shown("b0"));
  EXPECT_NE(shown("a0").find("tbf 7ffe:"), std::string::npos) << shown("a0");
  // A spare tx queue that lost its holder is a difference (a later rebuild grafts there), and
  // replace puts it back.
  testing::run(fmt::format("ip netns exec {} tc qdisc replace dev a0 parent 7fff:10 pfifo",
                           ns_->name()));
  const auto drift = compareTree(readBack(), held);
  ASSERT_EQ(drift.size(), 1u) << joined(drift);
  EXPECT_NE(drift[0].find("tx queue 15"), std::string::npos) << drift[0];
  {
    auto r = applier_->replace(held);
    ASSERT_TRUE(r) << r.error().message();
  }
  EXPECT_EQ(applier_->lastStats().messages, 1u);
  expectTreeEquals(held);

  // Off: each planned queue is grafted back under its mq class, the other holders go.
  {
    auto r = applier_->replace(plain);
    ASSERT_TRUE(r) << r.error().message();
  }
  expectTreeEquals(plain);
  EXPECT_EQ(holders(), 0);
  // On again: holders everywhere, the queues rebuilt below them; then nothing left to do.
  {
    auto r = applier_->replace(held);
    ASSERT_TRUE(r) << r.error().message();
  }
  expectTreeEquals(held);
  EXPECT_EQ(holders(), 16);
  {
    auto r = applier_->replace(held);
    ASSERT_TRUE(r) << r.error().message();
  }
  EXPECT_EQ(applier_->lastStats().messages, 0u);
  // Off again with a queue fewer: the dropped queue's HTB goes with its holder.
  auto plainFewer = plain;
  plainFewer.queues.pop_back();
  {
    auto r = applier_->replace(plainFewer);
    ASSERT_TRUE(r) << r.error().message();
  }
  expectTreeEquals(plainFewer);
  EXPECT_EQ(holders(), 0);
  {
    auto r = applier_->replace(held);
    ASSERT_TRUE(r) << r.error().message();
  }
  expectTreeEquals(held);
  // A queue the plan drops keeps its holder, with a FIFO below it.
  auto fewer = held;
  fewer.queues.pop_back();
  {
    auto r = applier_->replace(fewer);
    ASSERT_TRUE(r) << r.error().message();
  }
  expectTreeEquals(fewer);
  const LiveQdisc* gone = readBack().qdiscAt(makeHandle(plan::holderMajorOf(3), 1));
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->kind, "pfifo");
  EXPECT_EQ(holders(), 16);
}

TEST_F(ApplierTest, RemoveDeletesTheWholeTree) {
  const auto p = makePlan("a0", 4, 100, plan::LeafKind::Pfifo);
  ASSERT_TRUE(applier_->create(p));
  auto r = applier_->remove("a0");
  ASSERT_TRUE(r) << r.error().message();
  const LiveTree live = readBack();
  EXPECT_TRUE(live.classes.empty());
  EXPECT_EQ(live.findQdisc(makeHandle(0x7FFF, 0)), nullptr);
  // Removing again is not an error (only the kernel's default root is left).
  auto again = applier_->remove("a0");
  EXPECT_TRUE(again) << again.error().message();
}

TEST_F(ApplierTest, MissingDeviceIsAnErrorNamingIt) {
  const auto p = makePlan("nosuchdev0", 1, 2, plan::LeafKind::Pfifo);
  auto r = applier_->create(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENODEV);
  EXPECT_NE(r.error().message().find("nosuchdev0"), std::string::npos) << r.error().message();
}

TEST_F(ApplierTest, CollidingLeafHandleNamesTheOperationAndTheKernelsReason) {
  auto p = makePlan("a0", 2, 10, plan::LeafKind::Pfifo);
  // Two circuits' leaves with the same handle: the second add must fail.
  auto& classes = p.queues[1].classes;
  classes.back().leaf->handleMajor = p.queues[0].classes.back().leaf->handleMajor;
  auto r = applier_->create(p);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().errnum, 0);
  const std::string want =
      fmt::format("qdisc add dev a0 parent {} handle {}", formatHandle(classes.back().classid.raw()),
                  formatHandle(makeHandle(classes.back().leaf->handleMajor, 0)));
  EXPECT_NE(r.error().message().find(want), std::string::npos)
      << "error: " << r.error().message() << "\nwanted: " << want;
  // The kernel's extended ack explains it (net/sched/sch_api.c tc_modify_qdisc).
  EXPECT_NE(r.error().detail.find("existing qdisc"), std::string::npos) << r.error().message();
}

TEST_F(ApplierTest, CreatingTwiceFailsOnTheMqRoot) {
  const auto p = makePlan("a0", 2, 10, plan::LeafKind::Pfifo);
  ASSERT_TRUE(applier_->create(p));
  auto r = applier_->create(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, EEXIST);
  EXPECT_NE(r.error().message().find("qdisc add dev a0 parent root handle 7fff: kind mq"),
            std::string::npos)
      << r.error().message();
}

TEST_F(ApplierTest, ClassUnderAMissingQdiscNamesTheClass) {
  auto p = makePlan("a0", 1, 1, plan::LeafKind::Pfifo);
  p.queues[0].major = 9;  // the HTB qdisc becomes 9:, its classes still say 1:N
  auto r = applier_->create(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENOENT);
  EXPECT_NE(r.error().message().find("class add dev a0 parent 1: classid 1:1 kind htb"),
            std::string::npos)
      << r.error().message();
}

TEST(CapabilityProbe, ReportsBuiltInKindsInAPrivateNamespace) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root (unshare)";
  }
  auto caps = probeLeafCapabilities();
  ASSERT_TRUE(caps) << caps.error().message();
  // DESIGN §5: HTB, mq and the fifos are built into every kernel Sluice runs on.
  EXPECT_TRUE(caps->htb);
  EXPECT_TRUE(caps->mq);
  EXPECT_TRUE(caps->pfifo);
  EXPECT_TRUE(caps->bfifo);
  EXPECT_TRUE(caps->tbf) << "the holder qdisc (DESIGN §5: TBF is in this kernel)";
  const bool allLeaves = caps->cake && caps->fqCodel;
  EXPECT_EQ(caps->notes.empty(), allLeaves) << "every missing kind carries the kernel's reason";
  for (const auto& note : caps->notes) {
    std::printf("probe: %s\n", note.c_str());
  }
}

// Traffic through a class shows in that class's counters. Packets are steered the way the
// data plane does it (DESIGN §1): skb->priority = classid, queue_mapping = queue, here with a
// tiny cls_bpf program (TestSupport.h attachSteering) instead of the data plane's classifier.
TEST(ApplierTraffic, TrafficThroughACircuitShowsInItsCounters) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root (network namespaces)";
  }
  Netns a;
  Netns b;
  addVethPair(a, 4, &b);
  a.exec("ip addr add 10.77.0.1/24 dev a0");
  b.exec("ip addr add 10.77.0.2/24 dev b0");
  auto socket = netlink::Socket::open(a.path());
  ASSERT_TRUE(socket) << socket.error().message();
  NetlinkApplier applier(std::move(*socket), Psched::read().value_or(Psched::standard()));
  const auto p = makePlan("a0", 4, 40, plan::LeafKind::Pfifo);
  ASSERT_TRUE(applier.create(p));
  const plan::HtbClassPlan& target = p.queues[2].classes.back();
  const plan::HtbClassPlan& other = p.queues[2].classes[p.queues[2].classes.size() - 2];
  // queue_mapping = HTB major = tx queue + 1 (DESIGN §1: skb_tx_hash uses queue_mapping - 1).
  testing::attachSteering(a, "a0", target.classid.raw(), target.classid.major);
  // 20 UDP datagrams (bash's /dev/udp; no ping on minimal machines): 6-byte payload + UDP, IP
  // and Ethernet headers = 48 bytes on the wire each.
  a.exec("bash -c 'for i in $(seq 20); do echo hello > /dev/udp/10.77.0.2/9; done'");

  auto live = readLiveTree(applier.socket(), "a0");
  ASSERT_TRUE(live) << live.error().message();
  const LiveClass* hit = live->findClass(target.classid.raw());
  const LiveClass* miss = live->findClass(other.classid.raw());
  ASSERT_NE(hit, nullptr);
  ASSERT_NE(miss, nullptr);
  EXPECT_GE(hit->stats.packets, 20u);
  EXPECT_GE(hit->stats.bytes, 20u * 48u);
  EXPECT_EQ(miss->stats.packets, 0u);
  ASSERT_TRUE(hit->htbXstats.has_value());
  const LiveQdisc* leaf = live->findQdisc(makeHandle(target.leaf->handleMajor, 0));
  ASSERT_NE(leaf, nullptr);
  EXPECT_GE(leaf->stats.packets, 20u);
  // The parent site class aggregates its circuit's traffic.
  const LiveClass* site = live->findClass(target.parent.raw());
  ASSERT_NE(site, nullptr);
  EXPECT_GE(site->stats.packets, 20u);
}

}  // namespace
}  // namespace sluice::tc
