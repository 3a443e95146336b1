// Sessions: idle and absolute expiry, logout, eviction beyond the cap.

#include <gtest/gtest.h>

#include "AuthTestSupport.h"
#include "auth/SessionTable.h"

namespace sluice::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(SessionTable, IdleExpiry) {
  test::FakeClock clock;
  SessionTable table(SessionLimits{minutes(30), minutes(12 * 60), 100});
  auto id = table.create("admin", "hash", clock.t);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->size(), 43u);
  const Session* s = table.find(*id, clock.t);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->user, "admin");
  EXPECT_EQ(s->csrfToken.size(), 43u);
  EXPECT_NE(s->csrfToken, *id);
  clock.advance(minutes(29));
  EXPECT_NE(table.find(*id, clock.t), nullptr);  // and this request refreshes it
  clock.advance(minutes(29));
  EXPECT_NE(table.find(*id, clock.t), nullptr);
  clock.advance(minutes(30));
  EXPECT_EQ(table.find(*id, clock.t), nullptr);
  EXPECT_EQ(table.size(), 0u);
}

TEST(SessionTable, AbsoluteExpiryDespiteActivity) {
  test::FakeClock clock;
  SessionTable table(SessionLimits{minutes(30), minutes(60), 100});
  auto id = table.create("admin", "hash", clock.t);
  ASSERT_TRUE(id);
  for (int i = 0; i < 5; ++i) {
    clock.advance(minutes(10));
    EXPECT_NE(table.find(*id, clock.t), nullptr) << i;
  }
  clock.advance(minutes(10));
  EXPECT_EQ(table.find(*id, clock.t), nullptr);
}

TEST(SessionTable, UnknownIdsRemoveAndRemoveUser) {
  test::FakeClock clock;
  SessionTable table;
  auto a = table.create("admin", "h", clock.t);
  auto b = table.create("admin", "h", clock.t);
  auto c = table.create("viewer", "h", clock.t);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(table.find("", clock.t), nullptr);
  EXPECT_EQ(table.find("not-a-session", clock.t), nullptr);
  table.remove(*a);
  EXPECT_EQ(table.find(*a, clock.t), nullptr);
  EXPECT_NE(table.find(*b, clock.t), nullptr);
  table.removeUser("admin");
  EXPECT_EQ(table.find(*b, clock.t), nullptr);
  EXPECT_NE(table.find(*c, clock.t), nullptr);
}

TEST(SessionTable, CapEvictsTheLeastRecentlyUsed) {
  test::FakeClock clock;
  SessionTable table(SessionLimits{minutes(30), minutes(60), 3});
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(*table.create("u" + std::to_string(i), "h", clock.t));
    clock.advance(seconds(1));
  }
  ASSERT_NE(table.find(ids[0], clock.t), nullptr);  // ids[1] is now the least recently used
  auto fourth = table.create("u3", "h", clock.t);
  ASSERT_TRUE(fourth);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.find(ids[1], clock.t), nullptr);
  EXPECT_NE(table.find(ids[0], clock.t), nullptr);
  EXPECT_NE(table.find(*fourth, clock.t), nullptr);
}

}  // namespace
}  // namespace sluice::auth
