// argon2id hashing and verification; the encodings and constant-time comparison in Secrets.h.

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "AuthTestSupport.h"
#include "auth/Password.h"
#include "auth/Secrets.h"

namespace sluice::auth {
namespace {

using test::kCheapParams;
using ::testing::StartsWith;

TEST(Password, HashVerifiesOnlyTheRightPassword) {
  auto hash = hashPassword("correct horse battery", kCheapParams);
  ASSERT_TRUE(hash) << hash.error().message();
  EXPECT_THAT(*hash, StartsWith("$argon2id$v=19$m=64,t=1,p=1$"));
  EXPECT_TRUE(isArgon2idHash(*hash));
  EXPECT_TRUE(verifyPassword("correct horse battery", *hash));
  EXPECT_FALSE(verifyPassword("correct horse batterY", *hash));
  EXPECT_FALSE(verifyPassword("", *hash));
}

TEST(Password, DefaultParametersAreRfc9106SecondOption) {
  auto hash = hashPassword("a long enough password");
  ASSERT_TRUE(hash) << hash.error().message();
  EXPECT_THAT(*hash, StartsWith("$argon2id$v=19$m=65536,t=3,p=4$"));
  EXPECT_TRUE(verifyPassword("a long enough password", *hash));
}

TEST(Password, SaltMakesEveryHashDifferent) {
  std::set<std::string> hashes;
  for (int i = 0; i < 4; ++i) {
    auto hash = hashPassword("same password", kCheapParams);
    ASSERT_TRUE(hash);
    hashes.insert(*hash);
  }
  EXPECT_EQ(hashes.size(), 4u);
}

TEST(Password, LengthLimits) {
  auto shortOne = hashPassword("1234567", kCheapParams);
  ASSERT_FALSE(shortOne);
  EXPECT_EQ(shortOne.error().errnum, EINVAL);
  EXPECT_EQ(shortOne.error().context, "password must be 8..1024 bytes");
  EXPECT_TRUE(hashPassword("12345678", kCheapParams));
  EXPECT_FALSE(hashPassword(std::string(1025, 'x'), kCheapParams));
}

TEST(Password, MalformedHashesAreRejected) {
  const std::string good = "$argon2id$v=19$m=65536,t=3,p=4$AQIDAAAAAAAAAAAAAAAAAA$"
                           "niTTsCwQCSncWvRmgZIv2XHClkGYTeACodEdyx08D3w";
  EXPECT_TRUE(isArgon2idHash(good));
  EXPECT_TRUE(verifyPassword("password", good));  // made with libargon2 from the command line
  for (const std::string& bad : std::vector<std::string>{
           std::string("plaintext"),
           std::string("$argon2i$v=19$m=65536,t=3,p=4$AQIDAAAAAAAAAAAAAAAAAA$niTTsCwQCSncWvRm"),
           std::string("$argon2id$v=16$m=65536,t=3,p=4$AQIDAAAAAAAAAAAAAAAAAA$niTTsCwQCSncWvRm"),
           std::string("$argon2id$v=19$m=4,t=3,p=4$AQIDAAAAAAAAAAAAAAAAAA$niTTsCwQCSncWvRm"),
           std::string("$argon2id$v=19$m=65536,t=0,p=4$AQIDAAAAAAAAAAAAAAAAAA$niTTsCwQCSncWvRm"),
           std::string("$argon2id$v=19$m=99999999,t=3,p=4$AQIDAAAAAAAAAAAAAAAAAA$niTTsCwQCSnc"),
           std::string("$argon2id$v=19$m=65536,t=3,p=4$short$niTTsCwQCSncWvRmgZIv2XHClkGYTeACod"),
           std::string("$argon2id$v=19$m=65536,t=3,p=4$AQIDAAAAAAAAAAAAAAAAAA$not*base64"),
           std::string("$argon2id$v=19$m=65536,t=3,p=4$AQIDAAAAAAAAAAAAAAAAAA"),
       }) {
    EXPECT_FALSE(isArgon2idHash(bad)) << bad;
    EXPECT_FALSE(verifyPassword("password", bad)) << bad;
  }
}

TEST(Secrets, Base64UrlMatchesRfc4648Vectors) {
  const auto enc = [](std::string_view s) {
    return base64Url(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg");
  EXPECT_EQ(enc("fo"), "Zm8");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  const uint8_t high[] = {0xfb, 0xff};
  EXPECT_EQ(base64Url(high, 2), "-_8");  // the URL-safe characters, not + and /
}

TEST(Secrets, Sha256MatchesFips180Vector) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Secrets, RandomTokensAre256BitsAndDistinct) {
  auto a = randomToken(32);
  auto b = randomToken(32);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 43u);
  EXPECT_NE(*a, *b);
}

TEST(Secrets, ConstantTimeEqual) {
  EXPECT_TRUE(constantTimeEqual("abc", "abc"));
  EXPECT_TRUE(constantTimeEqual("", ""));
  EXPECT_FALSE(constantTimeEqual("abc", "abd"));
  EXPECT_FALSE(constantTimeEqual("abc", "ab"));
  EXPECT_FALSE(constantTimeEqual("", "a"));
}

}  // namespace
}  // namespace sluice::auth
