// The users file: round trip, mode 0600, and errors that name the file and the field.

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "AuthTestSupport.h"
#include "auth/UsersStore.h"
#include "config/Config.h"

namespace sluice::auth {
namespace {

using test::kCheapParams;
using test::TempDir;
using ::testing::HasSubstr;

const std::string kHash =
    "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$q6HS1kB0Zl9Q0lq5rL3mNAP8Nh3Z8dO8B8nqGg5nqkc";

UsersDb sampleDb() {
  UsersDb db;
  const WallTime t0 = *parseWallTime("2026-11-21T17:00:00Z");
  db.users.push_back(User{"admin", Role::Admin, *hashPassword("password1", kCheapParams), t0});
  db.users.push_back(User{"noc.viewer", Role::ReadOnly, kHash, t0 + std::chrono::seconds(5)});
  db.apiKeys.push_back(ApiKey{"grafana", Role::ReadOnly, "sha256:" + std::string(64, 'a'), t0,
                              t0 + std::chrono::hours(1)});
  db.apiKeys.push_back(ApiKey{"deploy", Role::Admin, "sha256:" + std::string(64, 'b'), t0,
                              std::nullopt});
  return db;
}

TEST(UsersFile, RoundTripKeepsEveryFieldWithMode0600) {
  TempDir dir;
  const std::string path = dir.file("state/users.json");  // parent directory created
  const UsersDb db = sampleDb();
  ASSERT_TRUE(writeUsersFile(path, db));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = readUsersFile(path);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->users.size(), 2u);
  ASSERT_EQ(back->apiKeys.size(), 2u);
  EXPECT_EQ(back->users[0].name, "admin");
  EXPECT_EQ(back->users[0].role, Role::Admin);
  EXPECT_EQ(back->users[0].passwordHash, db.users[0].passwordHash);
  EXPECT_EQ(back->users[1].created, db.users[1].created);
  EXPECT_EQ(back->users[1].role, Role::ReadOnly);
  EXPECT_EQ(back->apiKeys[0].hash, db.apiKeys[0].hash);
  EXPECT_EQ(back->apiKeys[0].lastUsed, db.apiKeys[0].lastUsed);
  EXPECT_FALSE(back->apiKeys[1].lastUsed.has_value());
  EXPECT_EQ(usersJson(*back), usersJson(db));
  EXPECT_THAT(test::slurp(path), HasSubstr("\"created\": \"2026-11-21T17:00:05Z\""));
}

TEST(UsersFile, MissingFileIsEmptyAndPathFollowsConfig) {
  TempDir dir;
  auto db = readUsersFile(dir.file("nope.json"));
  ASSERT_TRUE(db);
  EXPECT_TRUE(db->users.empty());
  config::Config config;
  config.sluice.stateDirectory = "/var/lib/sluice";
  EXPECT_EQ(usersFilePath(config), "/var/lib/sluice/users.json");
  config.sluice.usersFile = "/etc/sluice/users.json";
  EXPECT_EQ(usersFilePath(config), "/etc/sluice/users.json");
}

std::string userEntry(const std::string& fields) {
  return R"({"version": 1, "users": [{"name": "admin", "role": "admin", "password_hash": ")" +
         kHash + R"(", "created": "2026-11-21T17:00:00Z"}, {)" + fields + "}]}";
}

std::string errorOf(const std::string& text) {
  auto db = parseUsersJson(text, "/var/lib/sluice/users.json");
  EXPECT_FALSE(db) << text;
  if (db) {
    return {};
  }
  EXPECT_EQ(db.error().errnum, EINVAL);
  return db.error().context + " | " + db.error().detail;
}

TEST(UsersFile, CorruptFilesNameTheFileAndTheField) {
  const std::string ok = R"("name": "bob", "role": "read-only", "password_hash": ")" + kHash +
                         R"(", "created": "2026-11-21T17:00:00Z")";
  ASSERT_TRUE(parseUsersJson(userEntry(ok), "f"));

  EXPECT_THAT(errorOf("{\"version\": 1, \"users\": [}"),
              HasSubstr("/var/lib/sluice/users.json: not valid JSON at byte 26"));
  EXPECT_THAT(errorOf("[]"), HasSubstr("users.json: (top level): must be an object"));
  EXPECT_THAT(errorOf(R"({"version": 2, "users": []})"),
              HasSubstr("users.json: version: must be 1 (the only format this Sluice reads) | 2"));
  EXPECT_THAT(errorOf(R"({"version": 1, "users": {}})"),
              HasSubstr("users.json: users: must be an array"));
  EXPECT_THAT(errorOf(R"({"version": 1, "userz": []})"), HasSubstr("users.json: userz: unknown key"));
  EXPECT_THAT(errorOf(userEntry(R"("name": "bob", "role": "superuser", "password_hash": ")" +
                                kHash + R"(", "created": "2026-11-21T17:00:00Z")")),
              HasSubstr("users.json: users[1].role: must be \"admin\" or \"read-only\" | "
                        "\"superuser\""));
  EXPECT_THAT(errorOf(userEntry(R"("name": "bob", "role": "admin", "created": "2026-11-21T17:00:00Z")")),
              HasSubstr("users.json: users[1].password_hash: missing"));
  EXPECT_THAT(errorOf(userEntry(R"("name": "bob", "role": "admin", "password_hash": "hunter22", "created": "2026-11-21T17:00:00Z")")),
              HasSubstr("users[1].password_hash: must be an argon2id hash"));
  EXPECT_THAT(errorOf(userEntry(R"("name": "bob", "role": "admin", "pasword_hash": "x")")),
              HasSubstr("users[1].pasword_hash: unknown key"));
  EXPECT_THAT(errorOf(userEntry(R"("name": "bad name", "role": "admin")")),
              HasSubstr("users[1].name: must be 1..64 characters"));
  EXPECT_THAT(errorOf(userEntry(R"("name": 7)")), HasSubstr("users[1].name: must be a string | 7"));
  EXPECT_THAT(errorOf(userEntry(R"("name": "admin", "role": "admin", "password_hash": ")" + kHash +
                                R"(", "created": "2026-11-21T17:00:00Z")")),
              HasSubstr("users[1].name: duplicate name | \"admin\""));
  EXPECT_THAT(errorOf(userEntry(R"("name": "bob", "role": "admin", "password_hash": ")" + kHash +
                                R"(", "created": "yesterday")")),
              HasSubstr("users[1].created: must be a UTC time"));
  EXPECT_THAT(errorOf(R"({"version": 1, "api_keys": [{"name": "k", "role": "admin", "hash": "abc", "created": "2026-11-21T17:00:00Z"}]})"),
              HasSubstr("users.json: api_keys[0].hash: must be \"sha256:\" and 64 lowercase hex"));
}

TEST(UsersFile, UnreadableFileIsAnErrorWithThePath) {
  TempDir dir;
  const std::string path = dir.file("users.json");
  std::filesystem::create_directories(path);  // a directory cannot be read as a file
  auto db = readUsersFile(path);
  ASSERT_FALSE(db);
  EXPECT_THAT(db.error().context, HasSubstr(path));
}

TEST(UsersFile, NamesAndTimes) {
  EXPECT_TRUE(isValidName("admin"));
  EXPECT_TRUE(isValidName("noc.ops-1@isp"));
  EXPECT_FALSE(isValidName(""));
  EXPECT_FALSE(isValidName(".hidden"));
  EXPECT_FALSE(isValidName("a b"));
  EXPECT_FALSE(isValidName(std::string(65, 'a')));
  const auto t = parseWallTime("2024-02-29T23:59:59Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(formatWallTime(*t), "2024-02-29T23:59:59Z");
  EXPECT_FALSE(parseWallTime("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parseWallTime("2023-02-28 00:00:00Z"));
}

}  // namespace
}  // namespace sluice::auth
