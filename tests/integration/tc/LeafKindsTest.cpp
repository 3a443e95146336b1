// CAKE and fq_codel leaves through the Applier on a kernel that has them: every option
// combination the planner can emit is applied, read back and compared; then changed in place
// (replace) and compared again. Runs in the guest-kernel suite (tools/guest-tests.sh), where
// SLUICE_REQUIRE_LEAF_KINDS=1 turns a missing kind into a failure; on kernels without CAKE or
// fq_codel it skips with the kernel's reason.
//
// Needs no `ip` tool: the veth and its namespace are made through netlink (netlink/Link.h), so
// the binary also runs chrooted inside the guest.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>

#include "netlink/Link.h"
#include "tc/Applier.h"
#include "tc/LiveTree.h"
#include "tc/Verify.h"
#include "tests/integration/tc/TestSupport.h"

namespace sluice::tc {
namespace {

constexpr uint32_t kRtts[] = {100'000, 300'000, 180'000, 140'000, 120'000};  // DESIGN §4
constexpr plan::CakeDiffserv kModes[] = {plan::CakeDiffserv::Besteffort,
                                         plan::CakeDiffserv::Diffserv3,
                                         plan::CakeDiffserv::Diffserv4,
                                         plan::CakeDiffserv::Diffserv8,
                                         plan::CakeDiffserv::Precedence};

/// Every CAKE option combination: each diffserv mode x each rtt x 4 flag patterns, all 16
/// combinations of the four flags, and the optional fields (bandwidth, overhead, mpu, memlimit).
std::vector<plan::CakeParams> cakeVariants(uint32_t shift) {
  std::vector<plan::CakeParams> out;
  const auto flags = [](plan::CakeParams& p, uint32_t bits) {
    p.ackFilter = bits & 1;
    p.nat = bits & 2;
    p.wash = bits & 4;
    p.splitGso = bits & 8;
  };
  for (size_t m = 0; m < std::size(kModes); ++m) {
    for (size_t r = 0; r < std::size(kRtts); ++r) {
      for (uint32_t pattern : {0u, 15u, 5u, 10u}) {
        plan::CakeParams p;
        p.diffserv = kModes[(m + shift) % std::size(kModes)];
        p.rttUs = kRtts[(r + shift) % std::size(kRtts)];
        flags(p, pattern ^ (shift ? 15u : 0u));
        out.push_back(p);
      }
    }
  }
  for (uint32_t bits = 0; bits < 16; ++bits) {
    plan::CakeParams p;
    flags(p, (bits + shift) % 16);
    out.push_back(p);
  }
  plan::CakeParams shaped;
  shaped.bandwidthBitsPerSecond = shift ? 20'000'000 : 50'000'000;
  shaped.overheadBytes = shift ? 18 : -4;
  shaped.mpuBytes = shift ? 84 : 64;
  shaped.memlimitBytes = shift ? 8u << 20 : 4u << 20;
  out.push_back(shaped);
  return out;
}

std::vector<plan::FqCodelParams> fqCodelVariants(uint32_t shift) {
  std::vector<plan::FqCodelParams> out;
  out.push_back(plan::FqCodelParams{});
  out.push_back(plan::FqCodelParams{1000, 4096, 15'000, 300'000, 300, false, 4u << 20});
  out.push_back(plan::FqCodelParams{20480, 256, 2'500, 50'000, 3028, true, 64u << 20});
  out.push_back(plan::FqCodelParams{10240, 1024, 5'000, 100'000, 1514, false, 32u << 20});
  std::rotate(out.begin(), out.begin() + (shift % out.size()), out.end());
  return out;
}

/// Two queues; circuits alternate between them and carry the variants in order.
plan::InterfacePlan leafPlan(const std::string& ifname, uint32_t shift) {
  const auto cakes = cakeVariants(shift);
  const auto codels = fqCodelVariants(shift);
  const uint32_t circuits = static_cast<uint32_t>(cakes.size() + codels.size());
  plan::InterfacePlan p = testing::makePlan(ifname, 2, circuits, plan::LeafKind::Cake, 2);
  uint32_t i = 0;
  for (uint32_t c = 0; c < circuits; ++c) {
    auto& q = p.queues[c % 2];
    // makePlan appends circuits in order per queue after 2 + sites classes.
    auto& cls = q.classes[2 + 2 + c / 2];
    if (i < cakes.size()) {
      cls.leaf->kind = plan::LeafKind::Cake;
      cls.leaf->cake = cakes[i];
    } else {
      cls.leaf->kind = plan::LeafKind::FqCodel;
      cls.leaf->fqCodel = codels[i - cakes.size()];
    }
    ++i;
  }
  return p;
}

size_t expectedTins(plan::CakeDiffserv mode) {
  switch (mode) {
    case plan::CakeDiffserv::Besteffort:
      return 1;
    case plan::CakeDiffserv::Diffserv3:
      return 3;
    case plan::CakeDiffserv::Diffserv4:
      return 4;
    case plan::CakeDiffserv::Diffserv8:
    case plan::CakeDiffserv::Precedence:
      return 8;
  }
  return 0;
}

TEST(LeafKinds, EveryCakeAndFqCodelCombinationRoundTrips) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root";
  }
  const bool required = std::getenv("SLUICE_REQUIRE_LEAF_KINDS") != nullptr;
  auto socket = netlink::openInPrivateNamespace();
  ASSERT_TRUE(socket) << socket.error().message();
  auto caps = probeLeafCapabilities(*socket);
  ASSERT_TRUE(caps) << caps.error().message();
  if (!caps->cake || !caps->fqCodel) {
    std::string why;
    for (const auto& n : caps->notes) {
      why += n + "; ";
    }
    if (required) {
      FAIL() << "SLUICE_REQUIRE_LEAF_KINDS is set but the kernel lacks: " << why;
    }
    GTEST_SKIP() << "kernel lacks CAKE or fq_codel (run tools/guest-tests.sh): " << why;
  }
  ASSERT_TRUE(netlink::addVethPair(*socket, "a0", "b0", 4));
  ASSERT_TRUE(netlink::setLinkUp(*socket, "a0"));
  NetlinkApplier applier(std::move(*socket), Psched::read().value_or(Psched::standard()));

  const auto first = leafPlan("a0", 0);
  auto r = applier.create(first);
  ASSERT_TRUE(r) << r.error().message();
  auto live = readLiveTree(applier.socket(), "a0");
  ASSERT_TRUE(live) << live.error().message();
  auto diffs = compareTree(*live, first);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  // Statistics decode: CAKE reports one tin per class of its diffserv mode, fq_codel its xstats.
  size_t cakes = 0;
  size_t codels = 0;
  for (const auto& q : first.queues) {
    for (const auto& cls : q.classes) {
      if (!cls.leaf) {
        continue;
      }
      const LiveQdisc* leaf = live->findQdisc(makeHandle(cls.leaf->handleMajor, 0));
      ASSERT_NE(leaf, nullptr);
      if (cls.leaf->kind == plan::LeafKind::Cake) {
        ++cakes;
        ASSERT_TRUE(leaf->cakeXstats.has_value()) << formatHandle(leaf->handle);
        EXPECT_EQ(leaf->cakeXstats->tins.size(), expectedTins(cls.leaf->cake.diffserv))
            << formatHandle(leaf->handle);
        EXPECT_GT(leaf->cakeXstats->memoryLimitBytes, 0u);
      } else if (cls.leaf->kind == plan::LeafKind::FqCodel) {
        ++codels;
        EXPECT_TRUE(leaf->fqCodelXstats.has_value()) << formatHandle(leaf->handle);
      }
    }
  }
  EXPECT_EQ(cakes, cakeVariants(0).size());
  EXPECT_EQ(codels, fqCodelVariants(0).size());

  // Every leaf changes every option in place (including back to diffserv3, which `tc` cannot).
  const auto second = leafPlan("a0", 1);
  r = applier.replace(second);
  ASSERT_TRUE(r) << r.error().message();
  live = readLiveTree(applier.socket(), "a0");
  ASSERT_TRUE(live) << live.error().message();
  diffs = compareTree(*live, second);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  // Kind swaps: CAKE leaves become fq_codel and the other way round, same handles.
  auto third = second;
  for (auto& q : third.queues) {
    for (auto& cls : q.classes) {
      if (cls.leaf && cls.role == plan::ClassRole::Circuit) {
        cls.leaf->kind = cls.leaf->kind == plan::LeafKind::Cake ? plan::LeafKind::FqCodel
                                                                 : plan::LeafKind::Cake;
      }
    }
  }
  r = applier.replace(third);
  ASSERT_TRUE(r) << r.error().message();
  live = readLiveTree(applier.socket(), "a0");
  ASSERT_TRUE(live) << live.error().message();
  diffs = compareTree(*live, third);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  ASSERT_TRUE(applier.remove("a0"));
}

}  // namespace
}  // namespace sluice::tc
