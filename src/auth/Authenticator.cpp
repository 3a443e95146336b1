#include "auth/Authenticator.h"

#include <fmt/format.h>

#include "auth/Secrets.h"

namespace sluice::auth {

namespace {

// Sessions are swept for expiry at most this often (find() also drops an expired one it meets).
constexpr auto kExpireSweep = std::chrono::seconds(60);
// Longer user names are cut before they key a rate-limit bucket (valid names are ≤ 64).
constexpr size_t kMaxBucketKey = 128;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::unexpected<Denial> deny(int status, std::string reason, uint32_t retryAfter = 0) {
  return std::unexpected(Denial{status, std::move(reason), retryAfter});
}

constexpr std::string_view kReadOnlyReason =
    "read-only role: only GET requests are allowed (an admin can change this user's role)";

}  // namespace

bool isSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

std::string_view cookieValue(std::string_view cookieHeader, std::string_view name) {
  while (!cookieHeader.empty()) {
    const size_t semi = cookieHeader.find(';');
    const std::string_view pair = trim(cookieHeader.substr(0, semi));
    cookieHeader = semi == std::string_view::npos ? std::string_view() : cookieHeader.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return {};
}

std::string firstRunMessage(const std::string& usersFile, const std::string& configPath) {
  return fmt::format(
      "no operator API users in {}: create the first administrator with `sluice user add admin "
      "--role admin{}` (it asks for the password)",
      usersFile, configPath.empty() ? std::string() : " --config " + configPath);
}

Authenticator::Authenticator(AuthOptions options)
    : options_(std::move(options)),
      store_(options_.usersFile, options_.passwordParams),
      sessions_(options_.sessions),
      perAddress_(options_.perAddress),
      perUser_(options_.perUser),
      verifySlots_(std::clamp<std::ptrdiff_t>(options_.maxConcurrentVerifications, 1, 64)) {}

Result<void> Authenticator::open() {
  return store_.load();
}

void Authenticator::ensureDummyHash() {
  std::call_once(dummyOnce_, [this] {
    auto hash = hashPassword("sluice-dummy-password", options_.passwordParams);
    dummyHash_ = hash ? *hash : std::string();
  });
}

bool Authenticator::hasUsers() const { return !store_.snapshot()->users.empty(); }

size_t Authenticator::sessionCount() {
  std::lock_guard lock(mutex_);
  sessions_.expire(options_.now());
  return sessions_.size();
}

std::string Authenticator::cookieFor(std::string_view id, std::chrono::seconds maxAge) const {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kSessionCookie, id,
                     maxAge.count(), options_.secureCookie ? "; Secure" : "");
}

AuthResult Authenticator::authorize(std::string_view method, std::string_view cookieHeader,
                                    std::string_view csrfHeader, std::string_view authorization) {
  // A corrupt file keeps the last good content; the daemon logs lastLoadError().
  (void)store_.refresh();
  if (!trim(authorization).empty()) {
    return authorizeKey(method, authorization);
  }
  return authorizeSession(method, cookieHeader, csrfHeader);
}

AuthResult Authenticator::authorizeKey(std::string_view method, std::string_view authorization) {
  authorization = trim(authorization);
  const size_t space = authorization.find(' ');
  if (space == std::string_view::npos ||
      !equalsIgnoreCase(authorization.substr(0, space), "Bearer")) {
    return deny(401, "Authorization must be \"Bearer <API key>\"");
  }
  const std::string_view key = trim(authorization.substr(space + 1));
  const auto match = key.empty() ? std::nullopt : store_.matchApiKey(key);
  if (!match) {
    return deny(401, "invalid or revoked API key");
  }
  if (!isSafeMethod(method) && match->role != Role::Admin) {
    return deny(403, std::string(kReadOnlyReason));
  }
  return Principal{match->name, match->role, Principal::Via::ApiKey, {}};
}

AuthResult Authenticator::authorizeSession(std::string_view method, std::string_view cookieHeader,
                                           std::string_view csrfHeader) {
  const std::string_view id = cookieValue(cookieHeader, kSessionCookie);
  if (id.empty()) {
    return deny(401, "not logged in");
  }
  const auto db = store_.snapshot();
  const SteadyTime now = options_.now();
  std::lock_guard lock(mutex_);
  if (now - lastExpire_ >= kExpireSweep) {
    sessions_.expire(now);
    lastExpire_ = now;
  }
  Session* session = sessions_.find(id, now);
  if (session == nullptr) {
    return deny(401, "session expired or unknown; log in again");
  }
  const User* user = db->findUser(session->user);
  if (user == nullptr || user->passwordHash != session->passwordHash) {
    sessions_.remove(id);
    return deny(401, "session ended: the user was removed or its password changed");
  }
  if (!isSafeMethod(method)) {
    if (!constantTimeEqual(csrfHeader, session->csrfToken)) {
      return deny(403, fmt::format("missing or wrong {} header (GET /api/me returns the token)",
                                   kCsrfHeader));
    }
    if (user->role != Role::Admin) {
      return deny(403, std::string(kReadOnlyReason));
    }
  }
  return Principal{user->name, user->role, Principal::Via::Session, session->csrfToken};
}

std::expected<LoginSuccess, Denial> Authenticator::login(std::string_view user,
                                                         std::string_view password,
                                                         std::string_view clientAddress) {
  const std::string userKey(user.substr(0, kMaxBucketKey));
  {
    const SteadyTime now = options_.now();
    std::lock_guard lock(mutex_);
    if (const uint32_t wait = perAddress_.take(clientAddress.substr(0, kMaxBucketKey), now)) {
      return deny(429, "too many login attempts from this address", wait);
    }
    if (const uint32_t wait = perUser_.wait(userKey, now)) {
      return deny(429, "too many failed logins for this user", wait);
    }
  }
  (void)store_.refresh(std::chrono::milliseconds(0));
  const auto db = store_.snapshot();
  if (db->users.empty()) {
    return deny(401, firstRunMessage(store_.path(), ""));
  }
  const User* found = db->findUser(user);
  bool ok = false;
  if (password.size() <= kMaxPasswordBytes) {
    // Unknown users are verified against a dummy hash of the same cost, so the answer's timing
    // does not tell which user names exist.
    ensureDummyHash();
    const std::string& hash = found != nullptr ? found->passwordHash : dummyHash_;
    verifySlots_.acquire();
    ok = verifyPassword(password, hash) && found != nullptr;
    verifySlots_.release();
  }
  const SteadyTime now = options_.now();
  std::lock_guard lock(mutex_);
  if (!ok) {
    perUser_.take(userKey, now);
    return deny(401, "wrong user name or password");
  }
  auto id = sessions_.create(found->name, found->passwordHash, now);
  if (!id) {
    return deny(500, "cannot create a session: " + id.error().message());
  }
  const Session* session = sessions_.find(*id, now);
  return LoginSuccess{Principal{found->name, found->role, Principal::Via::Session,
                                session->csrfToken},
                      cookieFor(*id, options_.sessions.absolute)};
}

std::string Authenticator::logout(std::string_view cookieHeader) {
  const std::string_view id = cookieValue(cookieHeader, kSessionCookie);
  if (!id.empty()) {
    std::lock_guard lock(mutex_);
    sessions_.remove(id);
  }
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}", kSessionCookie,
                     options_.secureCookie ? "; Secure" : "");
}

}  // namespace sluice::auth
