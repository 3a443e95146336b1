// Authenticator: login, the one-call authorize (sessions, CSRF, roles, API keys), logout,
// expiry, rate limits and the first run.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "AuthTestSupport.h"
#include "auth/Authenticator.h"

namespace sluice::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using test::kCheapParams;
using ::testing::HasSubstr;

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      UsersStore setup(dir_.file("users.json"), kCheapParams);
      ASSERT_TRUE(setup.addUser("admin", Role::Admin, "admin-password"));
      ASSERT_TRUE(setup.addUser("viewer", Role::ReadOnly, "viewer-password"));
    }
    reopen();
  }

  void reopen(AuthOptions extra = {}) {
    extra.usersFile = dir_.file("users.json");
    extra.passwordParams = kCheapParams;
    extra.now = [this] { return clock_.t; };
    auth_ = std::make_unique<Authenticator>(std::move(extra));
    ASSERT_TRUE(auth_->open());
  }

  // Logs in and returns {Cookie header, CSRF token}.
  std::pair<std::string, std::string> loginAs(const std::string& user, const std::string& password) {
    auto in = auth_->login(user, password, "192.0.2.10");
    EXPECT_TRUE(in) << (in ? "" : in.error().reason);
    if (!in) {
      return {};
    }
    const std::string& c = in->setCookie;
    const std::string pair = c.substr(0, c.find(';'));
    return {"theme=dark; " + pair, in->principal.csrfToken};
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorTest, LoginSetsAHardenedCookieAndReturnsTheCsrfToken) {
  auto in = auth_->login("admin", "admin-password", "192.0.2.10");
  ASSERT_TRUE(in) << in.error().reason;
  EXPECT_EQ(in->principal.name, "admin");
  EXPECT_EQ(in->principal.role, Role::Admin);
  EXPECT_EQ(in->principal.csrfToken.size(), 43u);
  EXPECT_THAT(in->setCookie, ::testing::MatchesRegex(
                                 "sluice_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=43200; "
                                 "HttpOnly; SameSite=Strict"));
  EXPECT_EQ(auth_->sessionCount(), 1u);
}

TEST_F(AuthenticatorTest, SecureCookieWhenServingTls) {
  reopen(AuthOptions{.secureCookie = true});
  auto in = auth_->login("admin", "admin-password", "192.0.2.10");
  ASSERT_TRUE(in);
  EXPECT_THAT(in->setCookie, HasSubstr("; HttpOnly; SameSite=Strict; Secure"));
  EXPECT_THAT(auth_->logout(""), HasSubstr("Max-Age=0; HttpOnly; SameSite=Strict; Secure"));
}

TEST_F(AuthenticatorTest, WrongPasswordAndUnknownUserGetTheSameAnswer) {
  auto wrong = auth_->login("admin", "admin-passwordX", "192.0.2.10");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().status, 401);
  EXPECT_EQ(wrong.error().reason, "wrong user name or password");
  auto unknown = auth_->login("nobody", "admin-password", "192.0.2.10");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 401);
  EXPECT_EQ(unknown.error().reason, wrong.error().reason);
  EXPECT_EQ(auth_->sessionCount(), 0u);
}

TEST_F(AuthenticatorTest, SessionCanReadButNeedsTheCsrfTokenToChange) {
  const auto [cookie, csrf] = loginAs("admin", "admin-password");
  auto get = auth_->authorize("GET", cookie, "", "");
  ASSERT_TRUE(get) << get.error().reason;
  EXPECT_EQ(get->name, "admin");
  EXPECT_EQ(get->via, Principal::Via::Session);
  EXPECT_EQ(get->csrfToken, csrf);  // what GET /api/me returns

  auto noToken = auth_->authorize("POST", cookie, "", "");
  ASSERT_FALSE(noToken);
  EXPECT_EQ(noToken.error().status, 403);
  EXPECT_THAT(noToken.error().reason, HasSubstr("X-CSRF-Token"));

  std::string wrong = csrf;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "get"}) {
    auto r = auth_->authorize(method, cookie, wrong, "");
    ASSERT_FALSE(r) << method;
    EXPECT_EQ(r.error().status, 403) << method;
  }
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    EXPECT_TRUE(auth_->authorize(method, cookie, csrf, "")) << method;
  }
}

TEST_F(AuthenticatorTest, CsrfTokenOfAnotherSessionIsRefused) {
  const auto [cookieA, csrfA] = loginAs("admin", "admin-password");
  const auto [cookieB, csrfB] = loginAs("admin", "admin-password");
  EXPECT_NE(csrfA, csrfB);
  auto r = auth_->authorize("POST", cookieA, csrfB, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 403);
}

TEST_F(AuthenticatorTest, ReadOnlyUserCannotChangeAnything) {
  const auto [cookie, csrf] = loginAs("viewer", "viewer-password");
  auto get = auth_->authorize("GET", cookie, "", "");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->role, Role::ReadOnly);
  EXPECT_FALSE(get->isAdmin());
  EXPECT_TRUE(auth_->authorize("HEAD", cookie, "", ""));
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    auto r = auth_->authorize(method, cookie, csrf, "");  // with a valid CSRF token
    ASSERT_FALSE(r) << method;
    EXPECT_EQ(r.error().status, 403) << method;
    EXPECT_THAT(r.error().reason, HasSubstr("read-only role")) << method;
  }
}

TEST_F(AuthenticatorTest, NoOrUnknownCookieIs401) {
  auto none = auth_->authorize("GET", "", "", "");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().status, 401);
  EXPECT_EQ(none.error().reason, "not logged in");
  auto forged = auth_->authorize("GET", "sluice_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                 "", "");
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().status, 401);
}

TEST_F(AuthenticatorTest, LogoutEndsTheSession) {
  const auto [cookie, csrf] = loginAs("admin", "admin-password");
  ASSERT_TRUE(auth_->authorize("GET", cookie, "", ""));
  EXPECT_EQ(auth_->logout(cookie), "sluice_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  auto after = auth_->authorize("GET", cookie, "", "");
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().status, 401);
}

TEST_F(AuthenticatorTest, IdleAndAbsoluteExpiry) {
  reopen(AuthOptions{.sessions = SessionLimits{minutes(30), minutes(120), 100}});
  const auto [cookie, csrf] = loginAs("admin", "admin-password");
  clock_.advance(minutes(29));
  ASSERT_TRUE(auth_->authorize("GET", cookie, "", ""));
  clock_.advance(minutes(31));
  auto idle = auth_->authorize("GET", cookie, "", "");
  ASSERT_FALSE(idle);
  EXPECT_EQ(idle.error().status, 401);
  EXPECT_THAT(idle.error().reason, HasSubstr("expired"));

  const auto [cookie2, csrf2] = loginAs("admin", "admin-password");
  for (int i = 0; i < 4; ++i) {
    clock_.advance(minutes(29));
    ASSERT_TRUE(auth_->authorize("GET", cookie2, "", "")) << i;
  }
  clock_.advance(minutes(5));  // 121 min after login, last request 5 min ago
  EXPECT_FALSE(auth_->authorize("GET", cookie2, "", ""));
}

TEST_F(AuthenticatorTest, PasswordChangeOrRemovalEndsSessions) {
  const auto [adminCookie, adminCsrf] = loginAs("admin", "admin-password");
  const auto [viewerCookie, viewerCsrf] = loginAs("viewer", "viewer-password");
  // Changed by another process (the CLI): noticed through the file.
  UsersStore cli(dir_.file("users.json"), kCheapParams);
  ASSERT_TRUE(cli.setPassword("viewer", "new-viewer-password"));
  ASSERT_TRUE(auth_->users().refresh(milliseconds(0)));
  auto viewer = auth_->authorize("GET", viewerCookie, "", "");
  ASSERT_FALSE(viewer);
  EXPECT_EQ(viewer.error().status, 401);
  EXPECT_THAT(viewer.error().reason, HasSubstr("password changed"));
  ASSERT_TRUE(auth_->authorize("GET", adminCookie, "", ""));
  // Through the API's store.
  ASSERT_TRUE(auth_->users().addUser("admin2", Role::Admin, "password22"));
  ASSERT_TRUE(auth_->users().removeUser("admin"));
  EXPECT_FALSE(auth_->authorize("GET", adminCookie, "", ""));
  EXPECT_TRUE(loginAs("viewer", "new-viewer-password").first.size() > 0);
}

TEST_F(AuthenticatorTest, RoleIsReadFromTheFileOnEveryRequest) {
  const auto [cookie, csrf] = loginAs("viewer", "viewer-password");
  EXPECT_FALSE(auth_->authorize("POST", cookie, csrf, ""));
  // An operator edits the role by hand; the hash is unchanged so the session survives.
  UsersDb db = *readUsersFile(dir_.file("users.json"));
  for (User& u : db.users) {
    if (u.name == "viewer") {
      u.role = Role::Admin;
    }
  }
  ASSERT_TRUE(writeUsersFile(dir_.file("users.json"), db));
  ASSERT_TRUE(auth_->users().refresh(milliseconds(0)));
  EXPECT_TRUE(auth_->authorize("POST", cookie, csrf, ""));
}

TEST_F(AuthenticatorTest, ApiKeysNeedNoCsrfAndFollowTheirRole) {
  auto adminKey = auth_->users().addApiKey("deploy", Role::Admin);
  auto readKey = auth_->users().addApiKey("grafana", Role::ReadOnly);
  ASSERT_TRUE(adminKey && readKey);

  auto post = auth_->authorize("POST", "", "", "Bearer " + *adminKey);
  ASSERT_TRUE(post) << post.error().reason;
  EXPECT_EQ(post->name, "deploy");
  EXPECT_EQ(post->via, Principal::Via::ApiKey);
  EXPECT_TRUE(post->csrfToken.empty());
  EXPECT_TRUE(auth_->authorize("DELETE", "", "", "bearer  " + *adminKey + " "));

  EXPECT_TRUE(auth_->authorize("GET", "", "", "Bearer " + *readKey));
  auto readPost = auth_->authorize("POST", "", "", "Bearer " + *readKey);
  ASSERT_FALSE(readPost);
  EXPECT_EQ(readPost.error().status, 403);
  EXPECT_THAT(readPost.error().reason, HasSubstr("read-only role"));

  for (const std::string& bad :
       std::vector<std::string>{"Bearer sluice_nope", "Basic YWRtaW46eA==", "Bearer", *adminKey}) {
    auto r = auth_->authorize("GET", "", "", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 401) << bad;
  }
  // A bad key is not rescued by a valid session cookie.
  const auto [cookie, csrf] = loginAs("admin", "admin-password");
  EXPECT_FALSE(auth_->authorize("GET", cookie, csrf, "Bearer sluice_nope"));

  ASSERT_TRUE(auth_->users().revokeApiKey("deploy"));
  auto revoked = auth_->authorize("GET", "", "", "Bearer " + *adminKey);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().status, 401);
}

TEST_F(AuthenticatorTest, LoginRateLimitedPerAddress) {
  reopen(AuthOptions{.perAddress = RateLimit{3, milliseconds(6000)}});
  for (int i = 0; i < 3; ++i) {
    auto r = auth_->login("admin", "guess" + std::to_string(i) + "xxxx", "198.51.100.7");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 401);
  }
  // Even the right password is refused now, without being checked.
  auto limited = auth_->login("admin", "admin-password", "198.51.100.7");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().status, 429);
  EXPECT_EQ(limited.error().retryAfterSeconds, 6u);
  // Another address is not affected; time heals.
  EXPECT_TRUE(auth_->login("admin", "admin-password", "198.51.100.8"));
  clock_.advance(milliseconds(6000));
  EXPECT_TRUE(auth_->login("admin", "admin-password", "198.51.100.7"));
}

TEST_F(AuthenticatorTest, FailedLoginsRateLimitedPerUserAcrossAddresses) {
  reopen(AuthOptions{.perUser = RateLimit{2, milliseconds(12000)}});
  ASSERT_TRUE(auth_->login("viewer", "viewer-password", "10.0.0.1"));  // success takes nothing
  for (int i = 0; i < 2; ++i) {
    auto r = auth_->login("viewer", "wrong-password", "10.0.1." + std::to_string(i));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 401);
  }
  auto limited = auth_->login("viewer", "viewer-password", "10.0.2.1");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().status, 429);
  EXPECT_EQ(limited.error().retryAfterSeconds, 12u);
  EXPECT_THAT(limited.error().reason, HasSubstr("this user"));
  EXPECT_TRUE(auth_->login("admin", "admin-password", "10.0.2.1"));  // other users are not
}

TEST_F(AuthenticatorTest, FirstRunHasNoUsersAndSaysHowToCreateOne) {
  AuthOptions options;
  options.usersFile = dir_.file("empty/users.json");
  options.passwordParams = kCheapParams;
  Authenticator fresh(std::move(options));
  ASSERT_TRUE(fresh.open());
  EXPECT_FALSE(fresh.hasUsers());
  auto r = fresh.login("admin", "anything-at-all", "127.0.0.1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 401);
  EXPECT_THAT(r.error().reason, HasSubstr("sluice user add admin --role admin"));
  EXPECT_EQ(firstRunMessage("/var/lib/sluice/users.json", "/etc/lqos.conf"),
            "no operator API users in /var/lib/sluice/users.json: create the first administrator "
            "with `sluice user add admin --role admin --config /etc/lqos.conf` (it asks for the "
            "password)");
  EXPECT_TRUE(auth_->hasUsers());
}

TEST_F(AuthenticatorTest, CorruptUsersFileFailsClosedAtOpen) {
  test::spit(dir_.file("users.json"), "{\"version\": 1, \"users\": [{\"name\": \"admin\"}]}");
  AuthOptions options;
  options.usersFile = dir_.file("users.json");
  options.passwordParams = kCheapParams;
  Authenticator broken(std::move(options));
  auto r = broken.open();
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().context, HasSubstr("users.json: users[0].role: missing"));
  EXPECT_FALSE(broken.login("admin", "admin-password", "127.0.0.1"));
}

TEST(CookieParsing, FindsTheNamedCookie) {
  EXPECT_EQ(cookieValue("sluice_session=abc", "sluice_session"), "abc");
  EXPECT_EQ(cookieValue("a=1; sluice_session=abc; b=2", "sluice_session"), "abc");
  EXPECT_EQ(cookieValue("a=1;sluice_session=\"abc\"", "sluice_session"), "abc");
  EXPECT_EQ(cookieValue("xsluice_session=abc", "sluice_session"), "");
  EXPECT_EQ(cookieValue("", "sluice_session"), "");
  EXPECT_TRUE(isSafeMethod("GET"));
  EXPECT_FALSE(isSafeMethod("POST"));
  EXPECT_FALSE(isSafeMethod("get"));
}

}  // namespace
}  // namespace sluice::auth
