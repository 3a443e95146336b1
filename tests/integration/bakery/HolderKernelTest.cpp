// The holder qdisc level ([sluice] queue_holder = "tbf", planner/QueuePlan.h HolderKind) on a real
// kernel. Two namespaces: "shaper" holds lan0 and wan0 (4 tx queues each, the bakery's tree on
// both), their peers lanp and wanp sit in "peer". A UDP stream (about 20k packets/s) runs from the
// shaper over lan0 to the peer while the bakery rebuilds the tree on spare tx queues again and
// again. Every rebuild adds and deletes HTB qdiscs on lan0's tx queues:
//   - without holders each of those is an mq graft, which deactivates the whole device
//     (net/sched/sch_mq.c mq_graft -> dev_deactivate) and drops what arrives meanwhile on every
//     tx queue: the control run must lose packets, or this test could not tell anything;
//   - with a TBF holder on every tx queue they are tbf grafts, which swap one queue's child:
//     not one packet may be lost.
// Lost = packets the sender sent - packets the peer's lanp received (IPv6 off and a permanent
// neighbour entry, so nothing else crosses the link).

#include <gtest/gtest.h>

#include <unistd.h>

#include <future>
#include <memory>

#include <fmt/format.h>

#include "BakeryTestUtil.h"
#include "KernelTestUtil.h"
#include "bakery/NetlinkOpRunner.h"
#include "tc/LiveTree.h"
#include "tests/integration/tc/TestSupport.h"

namespace sluice::bakery {
namespace {

using tc::testing::Netns;
using tc::testing::run;

using tc::testing::capture;

class HolderKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root (network namespaces)";
    }
    shaper_ = std::make_unique<Netns>();
    peer_ = std::make_unique<Netns>();
    for (const auto* ns : {shaper_.get(), peer_.get()}) {
      ns->exec("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    }
    for (const char* dev : {"lan", "wan"}) {
      run(fmt::format("ip -n {} link add {}0 numtxqueues 4 numrxqueues 4 type veth peer name {}p "
                      "numtxqueues 4 numrxqueues 4 netns {}",
                      shaper_->name(), dev, dev, peer_->name()));
      run(fmt::format("ip -n {} link set {}0 up", shaper_->name(), dev));
      run(fmt::format("ip -n {} link set {}p up", peer_->name(), dev));
    }
    run(fmt::format("ip -n {} addr add 10.213.7.1/24 dev lan0", shaper_->name()));
    run(fmt::format("ip -n {} addr add 10.213.7.2/24 dev lanp", peer_->name()));
    const std::string mac =
        capture(fmt::format("ip netns exec {} cat /sys/class/net/lanp/address", peer_->name()));
    run(fmt::format("ip -n {} neigh replace 10.213.7.2 lladdr {} dev lan0 nud permanent",
                    shaper_->name(), mac.substr(0, mac.find('\n'))));
    auto socket = netlink::Socket::open(shaper_->path());
    ASSERT_TRUE(socket) << socket.error().message();
    auto clock = tc::Psched::read();
    ASSERT_TRUE(clock) << clock.error().message();
    runner_ = std::make_unique<NetlinkOpRunner>(std::move(*socket), *clock);
    limits_.memoryAvailableBytes = 0;
    limits_.memoryReserveBytes = 64ull << 20;
  }

  uint64_t peerRxPackets() {
    return std::stoull(capture(fmt::format(
        "ip netns exec {} cat /sys/class/net/lanp/statistics/rx_packets", peer_->name())));
  }

  struct StreamResult {
    uint64_t sent = 0;
    uint64_t received = 0;
    int rebuilds = 0;
  };

  /// Sends a paced UDP stream for `seconds` while `bakery` rebuilds on spare tx queues.
  StreamResult streamThroughRebuilds(Bakery& bakery, const plan::QueuePlan& plan, double seconds) {
    const uint64_t rx0 = peerRxPackets();
    const std::string sender = fmt::format(
        "ip netns exec {} python3 -c '\n"
        "import socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "n, t0 = 0, time.monotonic()\n"
        "while True:\n"
        "    now = time.monotonic() - t0\n"
        "    if now >= {}: break\n"
        "    while n < int(now * 20000):\n"
        "        try: s.sendto(bytes(18), (\"10.213.7.2\", 9))\n"
        "        except OSError: pass\n"
        "        n += 1\n"
        "print(n)'",
        shaper_->name(), seconds);
    auto sent = std::async(std::launch::async, [&] { return capture(sender); });
    StreamResult result;
    ::usleep(200'000);
    while (sent.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      auto r = bakery.rebuild(plan, "holder test");
      EXPECT_TRUE(r) << r.error().message();
      if (r) {
        EXPECT_EQ(r->mode, "spare-queue-rebuild") << r->reason;
      }
      ++result.rebuilds;
      ::usleep(20'000);
    }
    result.sent = std::stoull(sent.get());
    ::usleep(100'000);
    result.received = peerRxPackets() - rx0;
    return result;
  }

  std::unique_ptr<Netns> shaper_;
  std::unique_ptr<Netns> peer_;
  Limits limits_;
  std::unique_ptr<NetlinkOpRunner> runner_;
};

TEST_F(HolderKernelTest, SpareQueueRebuildsLoseNothingWithHoldersAndLoseWithout) {
  const auto m = testing::smallIsp(40);
  StreamResult lossy;
  StreamResult holder;
  {
    testing::TempDir dir;
    dataplane::RecordingMapWriter writer;
    Bakery bakery(*runner_, writer, dir.path(), limits_);
    const auto plain = kernelLeaves(testing::planOf(m));
    ASSERT_TRUE(bakery.apply(plain));
    lossy = streamThroughRebuilds(bakery, plain, 2.0);
  }
  {
    // A new bakery without state: its build finds the tree without holders and reconciles it
    // (the applier grafts a holder on every tx queue and rebuilds each queue below it).
    testing::TempDir dir;
    dataplane::RecordingMapWriter writer;
    Bakery bakery(*runner_, writer, dir.path(), limits_);
    const auto held = withHolder(kernelLeaves(testing::planOf(m)), plan::HolderKind::Tbf);
    auto built = bakery.apply(held);
    ASSERT_TRUE(built) << built.error().message();
    auto diffs = runner_->liveDifferences(*bakery.active());
    ASSERT_TRUE(diffs) << diffs.error().message();
    EXPECT_TRUE(diffs->empty()) << joined(*diffs);
    holder = streamThroughRebuilds(bakery, held, 2.0);
    diffs = runner_->liveDifferences(*bakery.active());
    ASSERT_TRUE(diffs) << diffs.error().message();
    EXPECT_TRUE(diffs->empty()) << joined(*diffs);
    for (const char* dev : {"lan0", "wan0"}) {
      auto live = tc::readLiveTree(runner_->socket(), dev);
      ASSERT_TRUE(live) << live.error().message();
      for (uint16_t t = 0; t < 4; ++t) {  // a holder on every tx queue, spares included
        const tc::LiveQdisc* q = live->qdiscAt(plan::mqClassOf(t).raw());
        ASSERT_NE(q, nullptr) << dev << " tx queue " << t;
        EXPECT_EQ(q->kind, "tbf") << dev << " tx queue " << t;
        EXPECT_EQ(q->handle, tc::makeHandle(plan::holderMajorOf(t), 0));
      }
    }
  }
  fmt::print("without holders: {} rebuilds, {} sent, {} received, {} lost\n", lossy.rebuilds,
             lossy.sent, lossy.received, lossy.sent - lossy.received);
  fmt::print("with TBF holders: {} rebuilds, {} sent, {} received, {} lost\n", holder.rebuilds,
             holder.sent, holder.received, holder.sent - holder.received);
  ASSERT_GT(lossy.rebuilds, 5);
  ASSERT_GT(holder.rebuilds, 5);
  EXPECT_GT(lossy.sent, lossy.received) << "the control run lost nothing: the test shows nothing";
  EXPECT_EQ(holder.sent, holder.received) << "packets lost across rebuilds with holders";
}

TEST_F(HolderKernelTest, SwitchingHoldersOnOrOffRebuildsFromTheMqRoot) {
  testing::TempDir dir;
  dataplane::RecordingMapWriter writer;
  Bakery bakery(*runner_, writer, dir.path(), limits_);
  const auto plain = kernelLeaves(testing::planOf(testing::smallIsp(40)));
  const auto held = withHolder(plain, plan::HolderKind::Tbf);
  ASSERT_TRUE(bakery.apply(plain));
  for (const auto* want : {&held, &plain, &held}) {
    auto r = bakery.apply(*want);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->mode, "bypass-rebuild") << r->reason;
    EXPECT_NE(r->reason.find("queue holder changed"), std::string::npos) << r->reason;
    auto diffs = runner_->liveDifferences(*bakery.active());
    ASSERT_TRUE(diffs) << diffs.error().message();
    EXPECT_TRUE(diffs->empty()) << joined(*diffs);
    auto live = tc::readLiveTree(runner_->socket(), "lan0");
    ASSERT_TRUE(live) << live.error().message();
    int holders = 0;
    for (const auto& q : live->qdiscs) holders += q.kind == "tbf" ? 1 : 0;
    EXPECT_EQ(holders, want == &held ? 4 : 0);
    EXPECT_EQ(writer.table().size(), bakery.active()->addresses.size());
  }
  // The state file keeps the holder: a restarted bakery finds nothing to change.
  ASSERT_TRUE(bakery.flush());
  Bakery again(*runner_, writer, dir.path(), limits_);
  auto loaded = again.load();
  ASSERT_TRUE(loaded) << loaded.error().message();
  auto r = again.apply(held);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->tcOps, 0u) << r->mode << ": " << r->reason;
}

}  // namespace
}  // namespace sluice::bakery
