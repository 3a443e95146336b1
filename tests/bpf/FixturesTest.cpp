// Runs every fixture of Fixtures.cpp through BPF_PROG_TEST_RUN on a freshly loaded data plane.
// A failing fixture prints its step and the packet in hex.

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <tuple>

#include "Fixture.h"
#include "PacketBuilder.h"
#include "dataplane/Readers.h"

namespace sluice::bpftest {
namespace {

Lab& lab() {
  static Lab instance = [] {
    auto l = enterPrivateLab();
    if (!l) {
      std::fprintf(stderr, "cannot create the test namespace: %s\n", l.error().message().c_str());
      std::abort();
    }
    return *l;
  }();
  return instance;
}

int ifindexFor(Port port) {
  switch (port) {
    case Port::Internet:
      return lab().internetIfindex;
    case Port::Network:
      return lab().networkIfindex;
    case Port::Other:
      break;
  }
  return 1;  // lo: an interface the direction config does not name
}

// Auto: the mode the kernel allows, metadata asserted (skipped with the probe's reason where the
// kernel refuses bpf_xdp_adjust_meta, failed instead with SLUICE_REQUIRE_XDP_METADATA=1). Off:
// metadata forced off on every kernel; XDP's decision is read from the trace map instead.
using dataplane::XdpMetadata;

bool metadataRequired() {
  const char* v = std::getenv("SLUICE_REQUIRE_XDP_METADATA");
  return v != nullptr && std::string(v) == "1";
}

class FixtureTest : public ::testing::TestWithParam<std::tuple<Fixture, XdpMetadata>> {};

// Checks one XDP step's classification: from the metadata block, or from the trace without it.
void expectXdpDecision(const Step& step, const XdpRun& run, dataplane::Dataplane& dp) {
  std::optional<sluice_xdp_meta> decision = run.meta;
  if (!dp.mode().xdpMetadata) {
    EXPECT_FALSE(run.meta.has_value()) << "metadata written with the metadata path off";
    auto traced = dp.takeXdpDecision();
    ASSERT_TRUE(traced) << traced.error().message();
    decision = traced->magic == 0 ? std::nullopt : std::optional(*traced);
  }
  if (!step.classid) {
    EXPECT_FALSE(decision.has_value()) << "unexpected classification";
    return;
  }
  ASSERT_TRUE(decision.has_value()) << "no classification";
  EXPECT_EQ(decision->magic, SLUICE_META_MAGIC);
  EXPECT_EQ(decision->classid, *step.classid)
      << std::hex << decision->classid << " != " << *step.classid;
  if (step.cpu) {
    EXPECT_EQ(decision->cpu, *step.cpu);
  }
}

TEST_P(FixtureTest, Run) {
  const auto& [fx, metadata] = GetParam();
  dataplane::DataplaneOptions opts;
  opts.xdpMetadata = metadata;
  opts.traceXdpDecisions = metadata == XdpMetadata::Off;
  opts.internetIfindex = static_cast<uint32_t>(lab().internetIfindex);
  opts.networkIfindex = static_cast<uint32_t>(lab().networkIfindex);
  opts.onAStick = fx.mode == Mode::Stick;
  opts.internetVlan = 100;
  opts.networkVlan = 200;
  opts.lpmCapacity = 1024;
  opts.flowCapacity = 1024;
  opts.hotCacheCapacity = 1024;
  opts.hostCapacity = 1024;
  auto dp = dataplane::Dataplane::open(opts);
  ASSERT_TRUE(dp) << dp.error().message();
  if (metadata == XdpMetadata::Auto && !(*dp)->mode().xdpMetadata) {
    if (metadataRequired()) {
      FAIL() << "SLUICE_REQUIRE_XDP_METADATA=1 but " << (*dp)->mode().reason;
    }
    GTEST_SKIP() << (*dp)->mode().reason << "; the metadata-off variant of this fixture runs";
  }
  ASSERT_TRUE((*dp)->setRuntimeConfig({0, {0, 1}}));
  dataplane::BpfMapWriter writer((*dp)->lpmMapFd(), (*dp)->epochMapFd());
  auto base = baseMappings();
  ASSERT_TRUE(writer.publish(base));
  Env env{dp->get(), &writer, lab()};

  auto before = dataplane::readStats((*dp)->statsMapFd());
  ASSERT_TRUE(before);
  for (size_t i = 0; i < fx.steps.size(); ++i) {
    const Step& step = fx.steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + ", packet:\n" + hexDump(step.packet));
    if (step.before) {
      step.before(env);
      ASSERT_FALSE(::testing::Test::HasFatalFailure());
    }
    int ifindex = ifindexFor(step.port);
    if (step.hook == Hook::Xdp) {
      auto run = runXdp((*dp)->xdpProgramFd(), step.packet, ifindex);
      ASSERT_TRUE(run) << run.error().message();
      EXPECT_EQ(run->verdict, step.verdict);
      expectXdpDecision(step, *run, **dp);
    } else {
      auto run = runTc((*dp)->tcProgramFd(), step.packet, ifindex);
      ASSERT_TRUE(run) << run.error().message();
      EXPECT_EQ(run->verdict, step.verdict);
      EXPECT_EQ(run->priority, step.classid.value_or(0))
          << std::hex << run->priority << " != " << step.classid.value_or(0);
    }
  }
  auto after = dataplane::readStats((*dp)->statsMapFd());
  ASSERT_TRUE(after);
  for (const auto& [stat, delta] : fx.statDeltas) {
    EXPECT_EQ((*after)[stat] - (*before)[stat], delta) << "statistic " << stat;
  }
  if (fx.check) {
    fx.check(env);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bpf, FixtureTest,
    ::testing::Combine(::testing::ValuesIn(allFixtures()),
                       ::testing::Values(XdpMetadata::Auto, XdpMetadata::Off)),
    [](const ::testing::TestParamInfo<std::tuple<Fixture, XdpMetadata>>& info) {
      return std::get<0>(info.param).name +
             (std::get<1>(info.param) == XdpMetadata::Auto ? "_Metadata" : "_NoMetadata");
    });

TEST(FixtureTable, HasAtLeastThirtyFixtures) { EXPECT_GE(allFixtures().size(), 30u); }

}  // namespace
}  // namespace sluice::bpftest
