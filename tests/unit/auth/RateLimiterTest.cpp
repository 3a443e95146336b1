// Token buckets: burst, refill, Retry-After seconds, bounded memory.

#include <gtest/gtest.h>

#include "AuthTestSupport.h"
#include "auth/RateLimiter.h"

namespace sluice::auth {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiter, BurstThenRetryAfterUntilRefill) {
  test::FakeClock clock;
  RateLimiter limiter(RateLimit{3, milliseconds(6000)});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.take("192.0.2.1", clock.t), 0u) << i;
  }
  EXPECT_EQ(limiter.take("192.0.2.1", clock.t), 6u);  // a whole token is 6 s away
  EXPECT_EQ(limiter.wait("192.0.2.1", clock.t), 6u);
  EXPECT_EQ(limiter.take("192.0.2.2", clock.t), 0u);  // other keys are unaffected
  clock.advance(milliseconds(4500));
  EXPECT_EQ(limiter.take("192.0.2.1", clock.t), 2u);  // 1.5 s left, rounded up
  clock.advance(milliseconds(1500));
  EXPECT_EQ(limiter.take("192.0.2.1", clock.t), 0u);
  EXPECT_EQ(limiter.take("192.0.2.1", clock.t), 6u);
  clock.advance(milliseconds(60000));  // refills only up to the burst
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.take("192.0.2.1", clock.t), 0u) << i;
  }
  EXPECT_GT(limiter.take("192.0.2.1", clock.t), 0u);
}

TEST(RateLimiter, WaitDoesNotTake) {
  test::FakeClock clock;
  RateLimiter limiter(RateLimit{1, milliseconds(1000)});
  EXPECT_EQ(limiter.wait("bob", clock.t), 0u);
  EXPECT_EQ(limiter.wait("bob", clock.t), 0u);
  EXPECT_EQ(limiter.take("bob", clock.t), 0u);
  EXPECT_EQ(limiter.wait("bob", clock.t), 1u);
}

TEST(RateLimiter, MemoryIsBoundedAndDrainedBucketsSurvivePruning) {
  test::FakeClock clock;
  RateLimiter limiter(RateLimit{2, milliseconds(60000)}, 100);
  limiter.take("attacker", clock.t);
  limiter.take("attacker", clock.t);
  for (int i = 0; i < 1000; ++i) {
    limiter.take("203.0.113." + std::to_string(i), clock.t);
    clock.advance(milliseconds(1));
  }
  EXPECT_LE(limiter.size(), 100u);
  EXPECT_GT(limiter.wait("attacker", clock.t), 0u);  // still limited: the fullest were dropped
}

}  // namespace
}  // namespace sluice::auth
