// The helper probe and the mode it gives the data plane: a refused helper is reported with the
// verifier's reason (a socket filter may not call bpf_xdp_adjust_meta on any kernel), and the
// data plane's mode follows the probe unless forced off.

#include <gtest/gtest.h>

#include <string>

#include "dataplane/Dataplane.h"

namespace sluice::dataplane {
namespace {

TEST(HelperProbe, ARefusedHelperIsFalseWithTheVerifiersReason) {
  std::string refusal;
  auto allowed = probeHelper(BPF_PROG_TYPE_SOCKET_FILTER, BPF_FUNC_xdp_adjust_meta, &refusal);
  ASSERT_TRUE(allowed) << allowed.error().message();
  EXPECT_FALSE(*allowed);
  EXPECT_NE(refusal.find("xdp_adjust_meta"), std::string::npos) << refusal;
}

TEST(HelperProbe, AnAllowedHelperIsTrue) {
  auto allowed = probeHelper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_head);
  ASSERT_TRUE(allowed) << allowed.error().message();
  EXPECT_TRUE(*allowed);
}

DataplaneOptions small(XdpMetadata metadata) {
  DataplaneOptions o;
  o.lpmCapacity = o.flowCapacity = o.hotCacheCapacity = o.hostCapacity = 64;
  o.xdpMetadata = metadata;
  return o;
}

TEST(DataplaneMode, FollowsTheProbeUnlessForcedOff) {
  std::string refusal;
  auto allowed = probeXdpAdjustMeta(&refusal);
  ASSERT_TRUE(allowed) << allowed.error().message();
  auto dp = Dataplane::open(small(XdpMetadata::Auto));
  ASSERT_TRUE(dp) << dp.error().message();
  EXPECT_EQ((*dp)->mode().xdpMetadata, *allowed);
  if (*allowed) {
    EXPECT_EQ((*dp)->mode().reason, "XDP metadata: tc classifies from XDP's decision");
  } else {
    EXPECT_NE((*dp)->mode().reason.find("unavailable on this kernel"), std::string::npos);
    EXPECT_NE((*dp)->mode().reason.find(refusal), std::string::npos);
  }
  auto off = Dataplane::open(small(XdpMetadata::Off));
  ASSERT_TRUE(off) << off.error().message();
  EXPECT_FALSE((*off)->mode().xdpMetadata);
  EXPECT_NE((*off)->mode().reason.find("off by configuration"), std::string::npos);
}

TEST(DataplaneMode, TheDecisionTraceIsOnlyForTracedLoads) {
  auto dp = Dataplane::open(small(XdpMetadata::Off));
  ASSERT_TRUE(dp) << dp.error().message();
  EXPECT_FALSE((*dp)->takeXdpDecision());
}

}  // namespace
}  // namespace sluice::dataplane
