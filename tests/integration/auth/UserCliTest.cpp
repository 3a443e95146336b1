// The real `sluice` binary managing users and API keys: first-run admin creation with
// --password-stdin, list, passwd, remove, apikey add/list/revoke, and its refusals.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "auth/Authenticator.h"
#include "auth/UsersStore.h"

namespace sluice::auth {
namespace {

using ::testing::HasSubstr;

struct CliRun {
  int exitCode = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class UserCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("sluice-user-cli-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "lqos.conf").string();
    // users_file unset: the default <state_directory>/users.json, in a directory not yet made.
    std::ofstream(config_) << "version = \"1.5\"\nlqos_directory = \"" << dir_.string()
                           << "\"\n[bridge]\nto_internet = \"eth0\"\nto_network = \"eth1\"\n"
                           << "[sluice]\nstate_directory = \"" << (dir_ / "state").string()
                           << "\"\n";
    usersFile_ = (dir_ / "state" / "users.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `sluice <args> --config <config>` (without --config when `ownConfig`) with
  // `stdinText` on standard input.
  CliRun run(const std::string& args, const std::string& stdinText = "", bool ownConfig = false) {
    const std::string in = (dir_ / "stdin").string();
    std::ofstream(in, std::ios::trunc) << stdinText;
    const std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    const std::string command = std::string(SLUICE_CLI) + " " + args +
                                (ownConfig ? "" : " --config " + config_) + " <" + in + " >" + out + " 2>" + err;
    const int status = std::system(command.c_str());
    return CliRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }

  std::filesystem::path dir_;
  std::string config_;
  std::string usersFile_;
};

TEST_F(UserCli, FirstAdminThroughTheBinaryCanLogIn) {
  const CliRun list0 = run("user list");
  EXPECT_EQ(list0.exitCode, 0) << list0.err;
  EXPECT_THAT(list0.out, HasSubstr("no users in " + usersFile_));

  const CliRun add = run("user add admin --role admin --password-stdin", "s3cret-admin-pw\n");
  ASSERT_EQ(add.exitCode, 0) << add.out << add.err;
  EXPECT_EQ(add.out, "added user admin (admin) to " + usersFile_ + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(usersFile_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // What the binary wrote is what sluiced reads: an argon2id hash that verifies the password
  // (without the line ending) with the default parameters.
  auto db = readUsersFile(usersFile_);
  ASSERT_TRUE(db) << db.error().message();
  ASSERT_EQ(db->users.size(), 1u);
  EXPECT_EQ(db->users[0].role, Role::Admin);
  EXPECT_THAT(db->users[0].passwordHash, ::testing::StartsWith("$argon2id$v=19$m=65536,t=3,p=4$"));
  Authenticator authn(AuthOptions{.usersFile = usersFile_});
  ASSERT_TRUE(authn.open());
  auto in = authn.login("admin", "s3cret-admin-pw", "127.0.0.1");
  ASSERT_TRUE(in) << in.error().reason;
  EXPECT_EQ(in->principal.role, Role::Admin);

  const CliRun viewer = run("user add viewer --role read-only --password-stdin", "viewer-pw-1\r\n");
  ASSERT_EQ(viewer.exitCode, 0) << viewer.err;
  const CliRun list = run("user list --json");
  ASSERT_EQ(list.exitCode, 0) << list.err;
  const auto users = nlohmann::json::parse(list.out)["users"];
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1]["name"], "viewer");
  EXPECT_EQ(users[1]["role"], "read-only");
  EXPECT_THAT(list.out, ::testing::Not(HasSubstr("argon2")));  // hashes are not listed
  EXPECT_TRUE(authn.login("viewer", "viewer-pw-1", "127.0.0.1"));
}

TEST_F(UserCli, RefusalsAreClearAndChangeNothing) {
  ASSERT_EQ(run("user add admin --role admin --password-stdin", "s3cret-admin-pw\n").exitCode, 0);
  const std::string before = slurp(usersFile_);

  const CliRun dup = run("user add admin --role read-only --password-stdin", "another-pw-1\n");
  EXPECT_EQ(dup.exitCode, 1);
  EXPECT_THAT(dup.err, HasSubstr("user \"admin\" already exists"));

  const CliRun shortPw = run("user add bob --role admin --password-stdin", "short\n");
  EXPECT_EQ(shortPw.exitCode, 1);
  EXPECT_THAT(shortPw.err, HasSubstr("password must be 8..1024 bytes"));

  const CliRun badRole = run("user add bob --role root --password-stdin", "long-enough-pw\n");
  EXPECT_EQ(badRole.exitCode, 2);

  const CliRun noTty = run("user add bob --role admin", "long-enough-pw\n");
  EXPECT_EQ(noTty.exitCode, 1);
  EXPECT_THAT(noTty.err, HasSubstr("--password-stdin"));

  const CliRun last = run("user remove admin");
  EXPECT_EQ(last.exitCode, 1);
  EXPECT_THAT(last.err, HasSubstr("only admin"));

  const CliRun ghost = run("user remove ghost");
  EXPECT_EQ(ghost.exitCode, 1);
  EXPECT_THAT(ghost.err, HasSubstr("no user \"ghost\""));

  EXPECT_EQ(slurp(usersFile_), before);

  const CliRun badConfig = run("user list --config /nonexistent/lqos.conf", "", true);
  EXPECT_EQ(badConfig.exitCode, 1);
  EXPECT_THAT(badConfig.err, HasSubstr("/nonexistent/lqos.conf"));
}

TEST_F(UserCli, PasswdAndRemove) {
  ASSERT_EQ(run("user add admin --role admin --password-stdin", "s3cret-admin-pw\n").exitCode, 0);
  ASSERT_EQ(run("user add ops --role admin --password-stdin", "ops-password-1\n").exitCode, 0);
  const CliRun passwd = run("user passwd ops --password-stdin", "ops-password-2\n");
  ASSERT_EQ(passwd.exitCode, 0) << passwd.err;
  Authenticator authn(AuthOptions{.usersFile = usersFile_});
  ASSERT_TRUE(authn.open());
  EXPECT_FALSE(authn.login("ops", "ops-password-1", "127.0.0.1"));
  EXPECT_TRUE(authn.login("ops", "ops-password-2", "127.0.0.1"));
  const CliRun remove = run("user remove admin");
  ASSERT_EQ(remove.exitCode, 0) << remove.err;
  auto db = readUsersFile(usersFile_);
  ASSERT_TRUE(db);
  ASSERT_EQ(db->users.size(), 1u);
  EXPECT_EQ(db->users[0].name, "ops");
}

TEST_F(UserCli, ApiKeyShownOnceStoredHashedAndRevocable) {
  const CliRun add = run("apikey add grafana --role read-only");
  ASSERT_EQ(add.exitCode, 0) << add.err;
  ASSERT_FALSE(add.out.empty());
  const std::string key = add.out.substr(0, add.out.find('\n'));
  EXPECT_EQ(key.size(), 50u);
  EXPECT_THAT(add.err, HasSubstr("shown once"));
  EXPECT_THAT(slurp(usersFile_), ::testing::Not(HasSubstr(key)));

  Authenticator authn(AuthOptions{.usersFile = usersFile_});
  ASSERT_TRUE(authn.open());
  auto get = authn.authorize("GET", "", "", "Bearer " + key);
  ASSERT_TRUE(get) << get.error().reason;
  EXPECT_EQ(get->name, "grafana");
  auto post = authn.authorize("POST", "", "", "Bearer " + key);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.error().status, 403);

  const CliRun list = run("apikey list");
  ASSERT_EQ(list.exitCode, 0) << list.err;
  EXPECT_THAT(list.out, ::testing::ContainsRegex("grafana +read-only +[0-9T:Z-]+ +[0-9T:Z-]+"));
  EXPECT_THAT(list.out, ::testing::Not(HasSubstr(key)));

  const CliRun revoke = run("apikey revoke grafana");
  ASSERT_EQ(revoke.exitCode, 0) << revoke.err;
  ASSERT_TRUE(authn.users().refresh(std::chrono::milliseconds(0)));
  auto after = authn.authorize("GET", "", "", "Bearer " + key);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().status, 401);
  EXPECT_EQ(run("apikey revoke grafana").exitCode, 1);
}

}  // namespace
}  // namespace sluice::auth
