// Runs every fixture of Fixtures.cpp through BPF_PROG_TEST_RUN on a freshly loaded data plane.
// A failing fixture prints its step and the packet in hex.

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstdlib>

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

class FixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(FixtureTest, Run) {
  const Fixture& fx = GetParam();
  dataplane::DataplaneOptions opts;
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
      if (step.classid) {
        ASSERT_TRUE(run->meta.has_value()) << "no metadata";
        EXPECT_EQ(run->meta->magic, SLUICE_META_MAGIC);
        EXPECT_EQ(run->meta->classid, *step.classid)
            << std::hex << run->meta->classid << " != " << *step.classid;
        if (step.cpu) {
          EXPECT_EQ(run->meta->cpu, *step.cpu);
        }
      } else {
        EXPECT_FALSE(run->meta.has_value()) << "unexpected metadata";
      }
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

INSTANTIATE_TEST_SUITE_P(Bpf, FixtureTest, ::testing::ValuesIn(allFixtures()),
                         [](const ::testing::TestParamInfo<Fixture>& info) {
                           return info.param.name;
                         });

TEST(FixtureTable, HasAtLeastThirtyFixtures) { EXPECT_GE(allFixtures().size(), 30u); }

}  // namespace
}  // namespace sluice::bpftest
