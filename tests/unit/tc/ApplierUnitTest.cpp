// Unit tests without a kernel: applyPlan's interface handling through a recording TcApplier,
// leaf fallback, and decoders fed with our own encoders' output.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "netlink/Message.h"
#include "tc/Applier.h"
#include "tc/Cake.h"
#include "tc/FqCodel.h"

namespace sluice::tc {
namespace {

/// Records every call; what the bakery's tests will use instead of the kernel.
class RecordingApplier final : public TcApplier {
 public:
  Result<void> create(const plan::InterfacePlan& p) override {
    calls.push_back(fmt::format("create {} queues={}", p.ifname, p.queues.size()));
    return {};
  }
  Result<void> replace(const plan::InterfacePlan& p) override {
    calls.push_back(fmt::format("replace {} queues={}", p.ifname, p.queues.size()));
    return {};
  }
  Result<void> remove(const std::string& ifname) override {
    calls.push_back("remove " + ifname);
    return failRemove ? Result<void>(makeError(EPERM, "remove " + ifname)) : Result<void>{};
  }
  std::vector<std::string> calls;
  bool failRemove = false;
};

plan::QueuePlan twoInterfaces(bool stick) {
  plan::QueuePlan p;
  for (int i = 0; i < 2; ++i) {
    plan::InterfacePlan iface;
    iface.ifname = stick ? "eth0" : (i == 0 ? "eth1" : "eth0");
    for (int q = 0; q < 3; ++q) {
      plan::HtbQueuePlan hq;
      hq.txQueue = static_cast<uint16_t>(i * 3 + q);
      hq.major = static_cast<uint16_t>(hq.txQueue + 1);
      iface.queues.push_back(hq);
    }
    p.interfaces.push_back(iface);
  }
  return p;
}

TEST(ApplyPlan, BridgeAppliesEachInterface) {
  RecordingApplier rec;
  ASSERT_TRUE(applyPlan(rec, twoInterfaces(false), ApplyMode::Create));
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"create eth1 queues=3", "create eth0 queues=3"}));
}

TEST(ApplyPlan, OnAStickMergesBothDirectionsIntoOneTree) {
  RecordingApplier rec;
  ASSERT_TRUE(applyPlan(rec, twoInterfaces(true), ApplyMode::Replace));
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"replace eth0 queues=6"}));
}

TEST(ApplyPlan, StopsAtTheFirstError) {
  RecordingApplier rec;
  rec.failRemove = true;
  auto r = applyPlan(rec, twoInterfaces(false), ApplyMode::Remove);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, EPERM);
  EXPECT_EQ(rec.calls.size(), 1u);
}

plan::QueuePlan cakePlan() {
  plan::QueuePlan p = twoInterfaces(false);
  plan::HtbClassPlan c;
  c.leaf = plan::LeafSpec{plan::LeafKind::Cake, 0x100};
  p.interfaces[0].queues[0].classes.push_back(c);
  c.leaf = plan::LeafSpec{plan::LeafKind::Pfifo, 0x101};
  p.interfaces[0].queues[0].classes.push_back(c);
  return p;
}

TEST(LeafFallback, RefusesWithoutAFallbackAndNamesTheKind) {
  auto p = cakePlan();
  LeafCapabilities caps;
  caps.pfifo = true;
  caps.notes = {"cake: Specified qdisc kind is unknown"};
  auto r = applyLeafFallback(p, caps, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("cake"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("kind is unknown"), std::string::npos);
  EXPECT_EQ(p.interfaces[0].queues[0].classes[0].leaf->kind, plan::LeafKind::Cake);
}

TEST(LeafFallback, ReplacesOnlyMissingKindsAndCountsThem) {
  auto p = cakePlan();
  LeafCapabilities caps;
  caps.pfifo = true;
  caps.bfifo = true;
  auto r = applyLeafFallback(p, caps, plan::LeafKind::Bfifo);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->replacedLeaves, 1u);
  EXPECT_EQ(p.interfaces[0].queues[0].classes[0].leaf->kind, plan::LeafKind::Bfifo);
  EXPECT_EQ(p.interfaces[0].queues[0].classes[0].leaf->handleMajor, 0x100);
  EXPECT_EQ(p.interfaces[0].queues[0].classes[1].leaf->kind, plan::LeafKind::Pfifo);
  EXPECT_FALSE(applyLeafFallback(p = cakePlan(), caps, plan::LeafKind::FqCodel));
}

TEST(LeafFallback, DropsTbfHoldersTheKernelCannotMakeAndSaysWhy) {
  auto p = cakePlan();
  plan::setHolder(p, plan::HolderKind::Tbf);
  LeafCapabilities caps;
  caps.cake = caps.pfifo = true;
  caps.notes = {"tbf: Specified qdisc kind is unknown"};
  auto r = applyLeafFallback(p, caps, std::nullopt);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->holderDropped,
            "queue_holder = \"tbf\" but tbf: Specified qdisc kind is unknown; the HTB qdiscs sit "
            "directly under mq, so rebuilds and queue count changes drop packets on every tx "
            "queue");
  EXPECT_EQ(p.holder, plan::HolderKind::None);
  for (const auto& iface : p.interfaces) {
    EXPECT_EQ(iface.holder, plan::HolderKind::None);
    for (const auto& q : iface.queues) {
      EXPECT_EQ(q.holder, plan::HolderKind::None);
    }
  }
  EXPECT_EQ(r->replacedLeaves, 0u);
  // With sch_tbf the holders stay.
  auto kept = cakePlan();
  plan::setHolder(kept, plan::HolderKind::Tbf);
  caps.tbf = true;
  r = applyLeafFallback(kept, caps, std::nullopt);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->holderDropped, "");
  EXPECT_EQ(kept.holder, plan::HolderKind::Tbf);
}

/// The TCA_OPTIONS payload of the only message of `b` (after nlmsghdr, tcmsg and TCA_KIND).
std::span<const uint8_t> optionsOf(const netlink::Batch& b, size_t kindLen) {
  const size_t kindAttr = (4 + kindLen + 1 + 3) & ~size_t{3};
  return b.bytesOf(0).subspan(16 + 20 + kindAttr + 4);
}

TEST(Decoders, CakeDecodesWhatTheEncoderSent) {
  plan::CakeParams p;
  p.bandwidthBitsPerSecond = 123'456'789;
  p.diffserv = plan::CakeDiffserv::Diffserv3;
  p.rttUs = 140'000;
  p.ackFilter = true;
  p.wash = true;
  p.splitGso = false;
  p.overheadBytes = -8;
  p.mpuBytes = 72;
  p.memlimitBytes = 1u << 20;
  netlink::Batch b;
  encodeCake(b, Verb::Add, TcTarget{1, "x", 0x10000, 0x10002}, p);
  auto decoded = decodeCake(optionsOf(b, 4));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, normalizeCake(p));
}

TEST(Decoders, FqCodelInPlaceChangeOmitsFlows) {
  plan::FqCodelParams p{2000, 2048, 4000, 80'000, 1000, false, 1u << 22};
  netlink::Batch full;
  encodeFqCodel(full, Verb::Add, TcTarget{1, "x", 0x10000, 0x10002}, p);
  netlink::Batch change;
  encodeFqCodel(change, Verb::Replace, TcTarget{1, "x", 0x10000, 0x10002}, p, false);
  EXPECT_EQ(full.bytesOf(0).size(), change.bytesOf(0).size() + 8);  // one u32 attribute less
  auto decoded = decodeFqCodel(optionsOf(full, 8));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, p);
  // The kernel keeps codel times in 1024 ns units: 5 ms reads back as 4999 us.
  EXPECT_EQ(normalizeFqCodel(plan::FqCodelParams{}).targetUs, 4999u);
  EXPECT_EQ(normalizeFqCodel(plan::FqCodelParams{}).intervalUs, 99999u);
}

}  // namespace
}  // namespace sluice::tc
