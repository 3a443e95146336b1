#pragma once
// The users file: operator API users and API keys, a JSON file ([sluice] users_file, default
// <state_directory>/users.json) shared by sluiced (which reads it and records API-key use) and the
// `sluice user` / `sluice apikey` commands (which change it while sluiced runs).
//
// Format (version 1), written with mode 0600:
//   {
//     "version": 1,
//     "users": [
//       {"name": "admin", "role": "admin", "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$..",
//        "created": "2026-11-21T17:00:00Z"}
//     ],
//     "api_keys": [
//       {"name": "grafana", "role": "read-only", "hash": "sha256:<64 hex digits>",
//        "created": "2026-11-21T17:05:00Z", "last_used": "2026-11-21T17:06:00Z" | null}
//     ]
//   }
// Names: 1..64 characters of [A-Za-z0-9._@-], starting with a letter or digit; unique among users
// and (separately) among API keys. Roles: "admin", "read-only".
//
// API keys are 32 random bytes (getrandom) shown once as "sluice_" + 43 base64url characters and
// stored as SHA-256 of that text. A fast hash is the right one here: a key has 256 bits of
// entropy, so even a stolen users file cannot be brute-forced (2^256 guesses), and the cost that
// argon2 adds for low-entropy passwords buys nothing while it would put ~180 ms of CPU and 64 MiB
// on every automated request. Lookup is by hash, so the map's timing reveals nothing about the key.
//
// Writes are atomic (temporary file in the same directory, fsync, rename, fsync of the directory)
// and every change is a read-modify-write under an exclusive flock(2) on "<file>.lock", so the CLI
// and sluiced never lose each other's changes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/Password.h"
#include "common/Error.h"

namespace sluice::config {
struct Config;
}

namespace sluice::auth {

enum class Role : uint8_t { Admin, ReadOnly };

/// "admin" / "read-only".
std::string_view roleName(Role role);
/// Parses "admin" / "read-only" (exact, lowercase); nullopt otherwise.
std::optional<Role> parseRole(std::string_view text);

using WallTime = std::chrono::system_clock::time_point;

struct User {
  std::string name;
  Role role = Role::ReadOnly;
  std::string passwordHash;  ///< argon2id PHC string
  WallTime created;
};

struct ApiKey {
  std::string name;
  Role role = Role::ReadOnly;
  std::string hash;  ///< "sha256:<64 lowercase hex>" of the key text
  WallTime created;
  std::optional<WallTime> lastUsed;
};

/// The whole file's content.
struct UsersDb {
  std::vector<User> users;
  std::vector<ApiKey> apiKeys;

  const User* findUser(std::string_view name) const;
  const ApiKey* findApiKey(std::string_view name) const;
  size_t adminCount() const;
};

/// The users file for a loaded config: [sluice] users_file, or <state_directory>/users.json.
std::string usersFilePath(const config::Config& config);

/// True when `name` is a valid user or API key name (see the format above).
bool isValidName(std::string_view name);

/// "2026-11-21T17:00:00Z" (whole seconds, UTC) and back; nullopt for other text.
std::string formatWallTime(WallTime t);
std::optional<WallTime> parseWallTime(std::string_view text);

/// Parses users-file text. `fileName` is used in errors only. Every problem is an error whose
/// context names the file and the field, e.g.
///   "/var/lib/sluice/users.json: users[1].role: must be \"admin\" or \"read-only\"" (detail:
///   the offending value). errnum is EINVAL. JSON syntax errors carry the byte offset.
/// Unknown keys are errors too (a typo in "password_hash" must not silently lock a user out).
Result<UsersDb> parseUsersJson(std::string_view text, const std::string& fileName);

/// The file text for `db` (pretty-printed, users and keys in the order given, trailing newline).
std::string usersJson(const UsersDb& db);

/// Reads and parses the file. A missing file is an empty UsersDb (first run), not an error; an
/// unreadable one is an error with the path and errno.
Result<UsersDb> readUsersFile(const std::string& path);

/// Writes `db` atomically with mode 0600, creating the parent directory (0700) if missing.
Result<void> writeUsersFile(const std::string& path, const UsersDb& db);

/// What a presented API key matched.
struct ApiKeyMatch {
  std::string name;
  Role role = Role::ReadOnly;
};

/// The users file, cached in memory, reloaded when it changes on disk, changed under the file
/// lock. Thread-safe: every method may be called from any thread.
///
/// Errors of the change methods use errnum to say what went wrong, so the HTTP layer can map
/// them: EINVAL bad name/role/password (422), EEXIST name taken (409), ENOENT no such user or key
/// (404), EPERM the change would leave no admin user (409); any other errnum is a file or system
/// error (500). context is a sentence for the operator, e.g. "user \"bob\" already exists".
class UsersStore {
 public:
  /// `params` are used for new password hashes (tests pass cheap ones).
  explicit UsersStore(std::string path, PasswordParams params = kDefaultPasswordParams);

  const std::string& path() const { return path_; }

  /// Loads the file now (missing = empty). On error the previous content stays in use.
  Result<void> load();

  /// Reloads if the file's identity (inode, size, mtime) changed since the last load; checks
  /// the disk at most once per `minInterval` (stat is cheap, but this runs on every request).
  /// On a parse error the previous content stays in use and the error is returned (and kept in
  /// lastLoadError() until a good load) so the daemon can log it once.
  Result<void> refresh(std::chrono::milliseconds minInterval = std::chrono::milliseconds(1000));

  /// The current content (immutable snapshot; cheap to copy the pointer).
  std::shared_ptr<const UsersDb> snapshot() const;

  /// The error of the last failed load or refresh, empty after a good one.
  std::string lastLoadError() const;

  /// Adds a user with an argon2id hash of `password` (hashing costs ~180 ms of CPU with the defaults).
  Result<void> addUser(std::string_view name, Role role, std::string_view password);
  /// Replaces a user's password. Sessions of that user end (Authenticator compares hashes).
  Result<void> setPassword(std::string_view name, std::string_view password);
  /// Changes a user's role (applies at their next request); EPERM if that would leave no admin.
  Result<void> setRole(std::string_view name, Role role);
  /// Removes a user; EPERM if they are the last admin.
  Result<void> removeUser(std::string_view name);

  /// Creates an API key and returns its text ("sluice_" + 43 base64url characters). The text is
  /// not stored anywhere; show it to the operator once.
  Result<std::string> addApiKey(std::string_view name, Role role);
  /// Deletes the key named `name`; requests with it fail from then on.
  Result<void> revokeApiKey(std::string_view name);

  /// The key whose hash matches `keyText`, or nullopt. Records the use in memory; the file's
  /// last_used is rewritten at most once per minute per key (a write per request would be
  /// wasteful), and stays accurate to that minute.
  std::optional<ApiKeyMatch> matchApiKey(std::string_view keyText);

 private:
  /// A file's identity: a rename or an in-place write changes at least one field.
  struct FileId {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtimeNs = 0;
    bool operator==(const FileId&) const = default;
  };
  FileId statFile() const;
  template <typename Change>
  Result<void> change(Change&& apply);  ///< flock, read, apply(UsersDb&), write, adopt
  void adopt(UsersDb db, FileId id);

  std::string path_;
  PasswordParams params_;
  mutable std::mutex mutex_;  ///< guards the members below
  std::shared_ptr<const UsersDb> db_;
  FileId fileId_{};
  std::string lastLoadError_;
  std::chrono::steady_clock::time_point lastCheck_{};
  std::unordered_map<std::string, WallTime> lastUsedWrites_;  ///< key name → last write
};

}  // namespace sluice::auth
