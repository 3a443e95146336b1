// The UI forward's address handling (src/lab/UiForward.h), without privileges.

#include <gtest/gtest.h>

#include "lab/UiForward.h"

namespace sluice::lab {
namespace {

TEST(UiForward, ParsesV4AndBracketedV6Endpoints) {
  auto v4 = parseEndpoint("127.0.0.1:9180");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9180);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->toString(), "127.0.0.1:9180");
  auto v6 = parseEndpoint("[::1]:443");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->toString(), "[::1]:443");
}

TEST(UiForward, RefusesBadEndpointsNamingThem) {
  for (const char* bad : {"localhost:9180", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                          "::1:9180", "[::1]9180", "[::1]:", "1.2.3.4:80x", ""}) {
    auto parsed = parseEndpoint(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().errnum, EINVAL) << bad;
    EXPECT_NE(parsed.error().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << parsed.error().message();
  }
}

TEST(UiForward, WildcardListenersAreReachedOnLoopback) {
  EXPECT_EQ(connectTarget(*parseEndpoint("0.0.0.0:9123")).toString(), "127.0.0.1:9123");
  EXPECT_EQ(connectTarget(*parseEndpoint("[::]:9123")).toString(), "[::1]:9123");
  EXPECT_EQ(connectTarget(*parseEndpoint("10.1.2.3:9123")).toString(), "10.1.2.3:9123");
}

TEST(UiForward, AccessRoundTripsThroughJson) {
  UiAccess access{"http://127.0.0.1:9181/",
                  "127.0.0.1:9181",
                  "127.0.0.1:9123",
                  "shaper",
                  "admin",
                  "secret",
                  42};
  const UiAccess back = UiAccess::fromJson(access.toJson());
  EXPECT_EQ(back.url, access.url);
  EXPECT_EQ(back.listen, access.listen);
  EXPECT_EQ(back.target, access.target);
  EXPECT_EQ(back.netns, access.netns);
  EXPECT_EQ(back.password, access.password);
  EXPECT_EQ(back.forwardPid, 42);
}

}  // namespace
}  // namespace sluice::lab
