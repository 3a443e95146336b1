// UsersStore: changes under the file lock, API keys stored hashed, reload on change.

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "AuthTestSupport.h"
#include "auth/Secrets.h"
#include "auth/UsersStore.h"

namespace sluice::auth {
namespace {

using test::kCheapParams;
using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(UsersStore, AddListRemoveWithClearRefusals) {
  TempDir dir;
  UsersStore store(dir.file("users.json"), kCheapParams);
  ASSERT_TRUE(store.load());
  EXPECT_TRUE(store.snapshot()->users.empty());

  ASSERT_TRUE(store.addUser("admin", Role::Admin, "password1"));
  ASSERT_TRUE(store.addUser("viewer", Role::ReadOnly, "password2"));
  const auto db = store.snapshot();
  ASSERT_EQ(db->users.size(), 2u);
  EXPECT_TRUE(verifyPassword("password1", db->findUser("admin")->passwordHash));

  auto again = store.addUser("admin", Role::ReadOnly, "password3");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().errnum, EEXIST);
  EXPECT_EQ(again.error().context, "user \"admin\" already exists");

  auto badName = store.addUser("no spaces", Role::Admin, "password3");
  ASSERT_FALSE(badName);
  EXPECT_EQ(badName.error().errnum, EINVAL);

  auto weak = store.addUser("short", Role::Admin, "1234");
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().errnum, EINVAL);

  auto lastAdmin = store.removeUser("admin");
  ASSERT_FALSE(lastAdmin);
  EXPECT_EQ(lastAdmin.error().errnum, EPERM);
  EXPECT_THAT(lastAdmin.error().context, HasSubstr("only admin"));

  auto missing = store.removeUser("ghost");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errnum, ENOENT);

  ASSERT_TRUE(store.removeUser("viewer"));
  EXPECT_EQ(store.snapshot()->users.size(), 1u);

  // What is on disk is what the store holds.
  auto disk = readUsersFile(store.path());
  ASSERT_TRUE(disk);
  EXPECT_EQ(usersJson(*disk), usersJson(*store.snapshot()));
}

TEST(UsersStore, SetPasswordReplacesTheHash) {
  TempDir dir;
  UsersStore store(dir.file("users.json"), kCheapParams);
  ASSERT_TRUE(store.addUser("admin", Role::Admin, "password1"));
  const std::string before = store.snapshot()->findUser("admin")->passwordHash;
  ASSERT_TRUE(store.setPassword("admin", "password2"));
  const std::string after = store.snapshot()->findUser("admin")->passwordHash;
  EXPECT_NE(before, after);
  EXPECT_TRUE(verifyPassword("password2", after));
  EXPECT_FALSE(verifyPassword("password1", after));
  auto missing = store.setPassword("ghost", "password2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errnum, ENOENT);
}

TEST(UsersStore, SetRoleKeepsAnAdmin) {
  TempDir dir;
  UsersStore store(dir.file("users.json"), kCheapParams);
  ASSERT_TRUE(store.addUser("admin", Role::Admin, "password1"));
  ASSERT_TRUE(store.addUser("viewer", Role::ReadOnly, "password2"));
  auto demote = store.setRole("admin", Role::ReadOnly);
  ASSERT_FALSE(demote);
  EXPECT_EQ(demote.error().errnum, EPERM);
  ASSERT_TRUE(store.setRole("viewer", Role::Admin));
  ASSERT_TRUE(store.setRole("admin", Role::ReadOnly));
  EXPECT_EQ(store.snapshot()->findUser("admin")->role, Role::ReadOnly);
  EXPECT_EQ(readUsersFile(store.path())->findUser("viewer")->role, Role::Admin);
  auto missing = store.setRole("ghost", Role::Admin);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errnum, ENOENT);
}

TEST(UsersStore, ApiKeysAreStoredAsSha256AndMatchOnlyThemselves) {
  TempDir dir;
  UsersStore store(dir.file("users.json"), kCheapParams);
  auto key = store.addApiKey("grafana", Role::ReadOnly);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->size(), 7u + 43u);
  EXPECT_TRUE(key->starts_with("sluice_"));
  const std::string file = test::slurp(store.path());
  EXPECT_THAT(file, Not(HasSubstr(*key)));
  EXPECT_THAT(file, HasSubstr("sha256:" + sha256Hex(*key)));

  auto match = store.matchApiKey(*key);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->name, "grafana");
  EXPECT_EQ(match->role, Role::ReadOnly);
  std::string wrong = *key;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(store.matchApiKey(wrong));
  EXPECT_FALSE(store.matchApiKey(""));

  // The use is recorded in the file (the first use always; later ones at most once a minute).
  auto disk = readUsersFile(store.path());
  ASSERT_TRUE(disk);
  ASSERT_TRUE(disk->findApiKey("grafana")->lastUsed.has_value());

  auto dup = store.addApiKey("grafana", Role::Admin);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().errnum, EEXIST);

  ASSERT_TRUE(store.revokeApiKey("grafana"));
  EXPECT_FALSE(store.matchApiKey(*key));
  auto gone = store.revokeApiKey("grafana");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().errnum, ENOENT);
}

TEST(UsersStore, ReloadsWhenAnotherWriterChangesTheFile) {
  TempDir dir;
  const std::string path = dir.file("users.json");
  UsersStore daemon(path, kCheapParams);
  ASSERT_TRUE(daemon.load());
  UsersStore cli(path, kCheapParams);  // as `sluice user add` does, in another process
  ASSERT_TRUE(cli.addUser("admin", Role::Admin, "password1"));
  EXPECT_TRUE(daemon.snapshot()->users.empty());
  ASSERT_TRUE(daemon.refresh(std::chrono::milliseconds(0)));
  ASSERT_EQ(daemon.snapshot()->users.size(), 1u);

  // A change made by one store is not lost by the other's next change (read-modify-write).
  ASSERT_TRUE(cli.addUser("viewer", Role::ReadOnly, "password2"));
  ASSERT_TRUE(daemon.addApiKey("grafana", Role::ReadOnly));
  auto disk = readUsersFile(path);
  ASSERT_TRUE(disk);
  EXPECT_EQ(disk->users.size(), 2u);
  EXPECT_EQ(disk->apiKeys.size(), 1u);
}

TEST(UsersStore, CorruptChangeKeepsTheLastGoodContentAndReportsIt) {
  TempDir dir;
  const std::string path = dir.file("users.json");
  UsersStore store(path, kCheapParams);
  ASSERT_TRUE(store.addUser("admin", Role::Admin, "password1"));
  test::spit(path, "{\"version\": 1, \"users\": [{\"name\": \"admin\", \"role\": \"root\"}]}");
  auto r = store.refresh(std::chrono::milliseconds(0));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().context, HasSubstr(path + ": users[0].role"));
  EXPECT_THAT(store.lastLoadError(), HasSubstr("users[0].role"));
  EXPECT_EQ(store.snapshot()->users.size(), 1u);  // still the last good content
  // Reported once, not on every request.
  EXPECT_TRUE(store.refresh(std::chrono::milliseconds(0)));
  // A change through the store refuses to overwrite a file it cannot read.
  auto add = store.addUser("viewer", Role::ReadOnly, "password2");
  ASSERT_FALSE(add);
  EXPECT_THAT(add.error().context, HasSubstr("users[0].role"));
}

TEST(UsersStore, ConcurrentAddsFromManyThreadsAreAllKept) {
  TempDir dir;
  const std::string path = dir.file("users.json");
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      UsersStore own(path, kCheapParams);  // separate stores: separate lock descriptors
      EXPECT_TRUE(own.addUser("user" + std::to_string(i), Role::ReadOnly, "password1"));
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  auto disk = readUsersFile(path);
  ASSERT_TRUE(disk);
  EXPECT_EQ(disk->users.size(), 8u);
}

}  // namespace
}  // namespace sluice::auth
