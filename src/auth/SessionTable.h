#pragma once
// Server-side login sessions: random 256-bit ids (the cookie value) mapped to the user, a bound
// CSRF token (synchronizer token pattern, OWASP CSRF Prevention Cheat Sheet) and expiry times.
// Sessions live in sluiced's memory only: a restart logs everyone out, which is acceptable for an
// operator UI and means no session secret is ever on disk.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/RateLimiter.h"
#include "common/Error.h"

namespace sluice::auth {

struct SessionLimits {
  std::chrono::seconds idle{30 * 60};        ///< ends after this long without a request
  std::chrono::seconds absolute{12 * 3600};  ///< ends this long after login regardless
  size_t maxSessions = 10000;                ///< beyond it the least recently used one ends
};

struct Session {
  std::string user;
  std::string passwordHash;  ///< the user's hash at login: a password change ends the session
  std::string csrfToken;     ///< 43 base64url characters (256 bits)
  SteadyTime created{};
  SteadyTime lastSeen{};
};

/// Not thread-safe (Authenticator locks). The table is keyed by SHA-256 of the id, so lookup
/// timing says nothing about valid ids and a memory dump holds no usable cookie.
class SessionTable {
 public:
  explicit SessionTable(SessionLimits limits = {});

  /// A new session for `user`; returns its id (43 base64url characters, 256 random bits).
  Result<std::string> create(std::string user, std::string passwordHash, SteadyTime now);

  /// The live session with this id, its lastSeen set to `now`; nullopt if unknown or expired
  /// (an expired one is removed). The pointer is valid until the next call on the table.
  Session* find(std::string_view id, SteadyTime now);

  /// Ends the session with this id (unknown ids are ignored).
  void remove(std::string_view id);

  /// Ends every session of `user`.
  void removeUser(std::string_view user);

  /// Drops expired sessions; Authenticator calls it now and then.
  void expire(SteadyTime now);

  size_t size() const { return sessions_.size(); }
  const SessionLimits& limits() const { return limits_; }

 private:
  bool expired(const Session& s, SteadyTime now) const;

  SessionLimits limits_;
  std::unordered_map<std::string, Session> sessions_;  ///< key: sha256Hex(id)
};

}  // namespace sluice::auth
