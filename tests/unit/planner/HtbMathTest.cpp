#include <gtest/gtest.h>

#include "planner/HtbMath.h"
#include "planner/LeafSelection.h"

namespace sluice::plan {
namespace {

TEST(HtbMath, R2qMatchesLibreQoSValues) {
  // Values LibreQoS's own tests record for calculateR2q.
  EXPECT_EQ(computeR2q(1), 10u);
  EXPECT_EQ(computeR2q(10), 21u);
  EXPECT_EQ(computeR2q(100), 209u);
  EXPECT_EQ(computeR2q(10'000), 20834u);
  EXPECT_EQ(computeR2q(0), 10u);
}

TEST(HtbMath, QuantumIsClampedToMinimumAndMaximum) {
  const uint32_t r2q = computeR2q(10'000);
  EXPECT_EQ(computeQuantum(mbpsToBits(10'000), r2q), 59'998u);  // 1.25e9 / 20834
  EXPECT_EQ(computeQuantum(mbpsToBits(1), r2q), kMinQuantumBytes);
  EXPECT_EQ(computeQuantum(mbpsToBits(100'000), r2q), kMaxQuantumBytes);
  EXPECT_EQ(computeQuantum(mbpsToBits(100), 10), 60'000u);
  EXPECT_EQ(computeQuantum(mbpsToBits(4), 10), 50'000u);
}

TEST(HtbMath, RatesAreWholeBytes) {
  EXPECT_EQ(mbpsToBits(0.01), 10'000u);
  EXPECT_EQ(mbpsToBits(1000), 1'000'000'000u);
  EXPECT_EQ(mbpsToBits(0.0000001), 0u);
  EXPECT_EQ(mbpsToBits(12.3456789) % 8, 0u);
  EXPECT_EQ(mbpsToBytesPerSecond(-5), 0u);
}

TEST(HtbMath, QueueCount) {
  EXPECT_EQ(computeQueueCount(8, 4, std::nullopt, false), 4);
  EXPECT_EQ(computeQueueCount(2, 16, std::nullopt, false), 2);
  EXPECT_EQ(computeQueueCount(8, 4, std::nullopt, true), 2);
  EXPECT_EQ(computeQueueCount(1, 1, std::nullopt, true), 1);
  EXPECT_EQ(computeQueueCount(2, 2, 16u, false), 16);
  EXPECT_EQ(computeQueueCount(2, 2, 16u, true), 8);
  EXPECT_EQ(computeQueueCount(0, 0, std::nullopt, false), 1);
}

TEST(HtbMath, LowRateCakeRtt) {
  EXPECT_EQ(lowRateCakeRttUs(0.5), 300'000u);
  EXPECT_EQ(lowRateCakeRttUs(1), 300'000u);
  EXPECT_EQ(lowRateCakeRttUs(1.5), 180'000u);
  EXPECT_EQ(lowRateCakeRttUs(2), 180'000u);
  EXPECT_EQ(lowRateCakeRttUs(3), 140'000u);
  EXPECT_EQ(lowRateCakeRttUs(4), 120'000u);
  EXPECT_EQ(lowRateCakeRttUs(4.01), std::nullopt);
}

LeafRules cakeRules(std::optional<double> fast = std::nullopt) {
  LeafRules rules;
  rules.defaultLeaf.kind = LeafKind::Cake;
  rules.defaultLeaf.cake.diffserv = CakeDiffserv::Diffserv8;
  rules.fastQueuesFqCodelMbps = fast;
  return rules;
}

TEST(LeafSelection, DefaultLeafWithLowRateRtt) {
  const auto fast = selectCircuitLeaf(cakeRules(), model::SqmKind::Default, 100);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->kind, LeafKind::Cake);
  EXPECT_EQ(fast->cake.diffserv, CakeDiffserv::Diffserv8);
  EXPECT_EQ(fast->cake.rttUs, 100'000u);
  const auto slow = selectCircuitLeaf(cakeRules(), model::SqmKind::Default, 2);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->cake.rttUs, 180'000u);
}

TEST(LeafSelection, ExplicitRttIsKept) {
  LeafRules rules = cakeRules();
  rules.defaultLeaf.cake.rttUs = 50'000;
  EXPECT_EQ(selectCircuitLeaf(rules, model::SqmKind::Default, 1)->cake.rttUs, 50'000u);
}

TEST(LeafSelection, FastCircuitsGetFqCodel) {
  const LeafRules rules = cakeRules(500.0);
  EXPECT_EQ(selectCircuitLeaf(rules, model::SqmKind::Default, 500)->kind, LeafKind::FqCodel);
  EXPECT_EQ(selectCircuitLeaf(rules, model::SqmKind::Default, 499.9)->kind, LeafKind::Cake);
  // An explicit per-circuit choice wins over the fast-queue rule.
  EXPECT_EQ(selectCircuitLeaf(rules, model::SqmKind::Cake, 900)->kind, LeafKind::Cake);
}

TEST(LeafSelection, Overrides) {
  const LeafRules rules = cakeRules();
  EXPECT_FALSE(selectCircuitLeaf(rules, model::SqmKind::None, 100));
  const auto fq = selectCircuitLeaf(rules, model::SqmKind::FqCodel, 1);
  ASSERT_TRUE(fq);
  EXPECT_EQ(fq->kind, LeafKind::FqCodel);
  EXPECT_EQ(fq->fqCodel, FqCodelParams{});

  // `cake` when the default is not CAKE: CakeParams{} (diffserv4) with the low-rate rtt.
  LeafRules fifo;
  fifo.defaultLeaf.kind = LeafKind::Pfifo;
  const auto cake = selectCircuitLeaf(fifo, model::SqmKind::Cake, 3);
  ASSERT_TRUE(cake);
  EXPECT_EQ(cake->kind, LeafKind::Cake);
  EXPECT_EQ(cake->cake.diffserv, CakeDiffserv::Diffserv4);
  EXPECT_EQ(cake->cake.rttUs, 140'000u);
  EXPECT_EQ(selectCircuitLeaf(fifo, model::SqmKind::Default, 3)->kind, LeafKind::Pfifo);
}

TEST(LeafSelection, DefaultNoneMeansNoLeaf) {
  LeafRules rules;
  rules.defaultLeaf.kind = LeafKind::None;
  EXPECT_FALSE(selectCircuitLeaf(rules, model::SqmKind::Default, 100));
  EXPECT_FALSE(selectDefaultClassLeaf(rules));
  EXPECT_TRUE(selectCircuitLeaf(rules, model::SqmKind::FqCodel, 100));
}

}  // namespace
}  // namespace sluice::plan
