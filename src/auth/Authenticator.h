#pragma once
// Authentication and authorization of the operator API on TCP (docs/auth.md,
// /api contract: POST /api/login, /api/logout, GET /api/me, X-CSRF-Token, Bearer keys, roles).
// The Unix control socket needs none of this (file permissions are its access control).
//
// Integration in the HTTP server (one call per request, plus the three auth routes):
//
//   auth::Authenticator authn(auth::AuthOptions{.usersFile = auth::usersFilePath(config),
//                                               .secureCookie = tlsEnabled});
//   if (auto r = authn.open(); !r) { refuse to serve TCP; log r.error().message(); }
//   if (!authn.hasUsers()) { log auth::firstRunMessage(authn.usersFile(), configPath); }
//
//   // every request except POST /api/login, GET /api/openapi.json and static files:
//   auth::AuthResult who = authn.authorize(req.method_string(), req[http::field::cookie],
//                                          req["X-CSRF-Token"], req[http::field::authorization]);
//   if (!who) { respond who.error().status with {"error": who.error().reason}; }
//   // admin-only routes (users, API keys, PUT /api/config) even for GET:
//   if (!who->isAdmin()) { 403 {"error": "admin role required"}; }
//
//   // POST /api/login {"username","password"}:
//   auto in = authn.login(username, password, clientAddress);
//   if (!in) { status in.error().status (401 or 429); 429 also sends
//              "Retry-After: <in.error().retryAfterSeconds>"; }
//   else { 200 {"user": in->principal.name, "role": roleName(in->principal.role),
//               "csrf_token": in->principal.csrfToken}, header "Set-Cookie: " + in->setCookie; }
//   // POST /api/logout (after authorize, so CSRF is checked): header
//   //   "Set-Cookie: " + authn.logout(req[http::field::cookie]); 200 {}.
//   // GET /api/me: {"user": who->name, "role": roleName(who->role), "csrf_token": who->csrfToken}.
//   // /api/users and /api/apikeys: authn.users() (UsersStore.h; its errnum → HTTP status table).
//
// Threading: every method is thread-safe. login() runs argon2id (~180 ms of CPU, 64 MiB) outside
// the internal lock; call it off the I/O thread (e.g. boost::asio::post to a small thread pool or
// the daemon's worker) so a login does not stall other connections. At most
// AuthOptions::maxConcurrentVerifications argon2 runs happen at once; further logins wait.
//
// Advice to the HTTP layer (not enforced here): require Content-Type: application/json on
// POST /api/login (a cross-site form cannot send it without a CORS preflight, which the server
// does not grant), never answer CORS preflights, and for GET /api/ws check that Origin matches
// the Host (SameSite=Strict already keeps the cookie off cross-site requests in browsers).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>

#include "auth/RateLimiter.h"
#include "auth/SessionTable.h"
#include "auth/UsersStore.h"
#include "common/Error.h"

namespace sluice::auth {

/// Cookie name of the session id.
inline constexpr std::string_view kSessionCookie = "sluice_session";
/// Request header carrying the CSRF token on state-changing requests.
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct AuthOptions {
  std::string usersFile;  ///< usersFilePath(config)
  PasswordParams passwordParams = kDefaultPasswordParams;  ///< for passwords set through users()
  SessionLimits sessions;
  /// Login attempts per client address (every attempt takes a token): 10 at once, then one per
  /// 6 s (10/min). Failed attempts per user name (only failures take a token, so an attacker
  /// cannot lock a user out by guessing from one address without also being limited by address):
  /// 5 at once, then one per 12 s (5/min). OWASP Authentication Cheat Sheet: throttle by both.
  RateLimit perAddress{10, std::chrono::milliseconds(6000)};
  RateLimit perUser{5, std::chrono::milliseconds(12000)};
  /// Add "; Secure" to the cookie (set when serving TLS; a reverse proxy doing TLS should set it
  /// too, but then the browser talks HTTPS to the proxy, so the operator must opt in).
  bool secureCookie = false;
  /// Concurrent argon2 verifications (each holds memoryKiB of RAM for ~125..500 ms).
  uint32_t maxConcurrentVerifications = 2;
  /// Steady clock for session expiry and rate limits; tests inject their own.
  std::function<SteadyTime()> now = [] { return std::chrono::steady_clock::now(); };
};

/// Who made a request.
struct Principal {
  enum class Via : uint8_t { Session, ApiKey };
  std::string name;  ///< user name, or API key name
  Role role = Role::ReadOnly;
  Via via = Via::Session;
  std::string csrfToken;  ///< the session's CSRF token (empty for API keys)

  bool isAdmin() const { return role == Role::Admin; }
};

/// Why a request was refused. status: 401 (no or bad credentials; the client should log in),
/// 403 (authenticated but not allowed: CSRF token missing/wrong, or read-only role on a
/// state-changing method), 429 (login rate limited; retryAfterSeconds ≥ 1 for Retry-After).
/// reason is one short sentence for the {"error": ...} body; it never echoes a secret.
/// (login() can also answer 500 when the kernel refuses random bytes for a session id.)
struct Denial {
  int status = 401;
  std::string reason;
  uint32_t retryAfterSeconds = 0;
};

using AuthResult = std::expected<Principal, Denial>;

struct LoginSuccess {
  Principal principal;    ///< via Session, csrfToken set
  std::string setCookie;  ///< the Set-Cookie header value
};

/// True for GET, HEAD and OPTIONS (RFC 9110 §9.2.1 safe methods); every other method changes
/// state and needs the CSRF token (sessions) and the admin role.
bool isSafeMethod(std::string_view method);

/// The value of cookie `name` in a Cookie request header ("a=1; sluice_session=xyz"), or empty.
std::string_view cookieValue(std::string_view cookieHeader, std::string_view name);

/// The message sluiced logs when it serves TCP with no users (first run):
///   "no operator API users in <usersFile>: create the first administrator with
///    `sluice user add admin --role admin [--config <configPath>]` (it asks for the password)".
/// `configPath` is the config sluiced was started with ("" leaves --config out).
std::string firstRunMessage(const std::string& usersFile, const std::string& configPath);

class Authenticator {
 public:
  explicit Authenticator(AuthOptions options);

  /// Loads the users file. An error (unreadable or corrupt file; context names file and field)
  /// means the TCP API must not serve: fail closed. A missing file is fine (no users yet).
  /// The dummy hash for unknown-user logins is made by the first login, known user or not, so
  /// that every first login pays it alike (one argon2id hash, ~125 ms and its 64 MiB, which at
  /// start-up came on top of a whole network's model: issue 5's RSS budget).
  Result<void> open();

  const std::string& usersFile() const { return store_.path(); }
  /// False on first run: log firstRunMessage(). Logins fail with 401 until a user exists.
  bool hasUsers() const;

  /// Decides one request. `method` as sent ("GET"); the other arguments are the raw header
  /// values, empty when absent.
  ///  - `authorization` non-empty: must be "Bearer <API key>" (scheme case-insensitive) naming a
  ///    live key, else 401. No CSRF check (not a browser credential). The cookie is ignored.
  ///  - else the sluice_session cookie must name a live session (401 "not logged in" /
  ///    "session expired"); the user must still exist with the same password hash (else 401
  ///    "session ended: ..."); the role is the user's current role.
  ///  - state-changing method with a session: `csrfHeader` must equal the session's token
  ///    (constant time), else 403.
  ///  - state-changing method and read-only role: 403 "read-only role: ...".
  /// Also reloads the users file if it changed (at most one stat per second).
  AuthResult authorize(std::string_view method, std::string_view cookieHeader,
                       std::string_view csrfHeader, std::string_view authorization);

  /// Checks a user name and password (rate limited per `clientAddress`, the peer's IP as text,
  /// and per user name); on success creates a session. Denials: 429 with retryAfterSeconds,
  /// 401 "wrong user name or password" (same answer and similar time for unknown users), 401
  /// pointing at `sluice user add` when no users exist.
  std::expected<LoginSuccess, Denial> login(std::string_view user, std::string_view password,
                                            std::string_view clientAddress);

  /// Ends the session named by the Cookie header (if any) and returns the Set-Cookie value that
  /// clears the cookie in the browser.
  std::string logout(std::string_view cookieHeader);

  /// The users file (list, add, remove, passwd, API keys) for /api/users and /api/apikeys.
  /// Removing a user or changing their password ends their sessions at their next request.
  UsersStore& users() { return store_; }

  /// Number of live sessions (for status and tests).
  size_t sessionCount();

 private:
  std::string cookieFor(std::string_view id, std::chrono::seconds maxAge) const;
  void ensureDummyHash();
  AuthResult authorizeKey(std::string_view method, std::string_view authorization);
  AuthResult authorizeSession(std::string_view method, std::string_view cookieHeader,
                              std::string_view csrfHeader);

  AuthOptions options_;
  UsersStore store_;
  std::mutex mutex_;  ///< guards sessions_, perAddress_, perUser_
  SessionTable sessions_;
  RateLimiter perAddress_;
  RateLimiter perUser_;
  std::counting_semaphore<64> verifySlots_;
  std::once_flag dummyOnce_;
  std::string dummyHash_;  ///< verified against for unknown users (equal timing)
  SteadyTime lastExpire_{};
};

}  // namespace sluice::auth
