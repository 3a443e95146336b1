#include "auth/UsersStore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "auth/Secrets.h"

namespace sluice::auth {

namespace {

// last_used is rewritten at most this often per key (UsersStore::matchApiKey).
constexpr auto kLastUsedResolution = std::chrono::seconds(60);
constexpr std::string_view kApiKeyPrefix = "sluice_";

// An exclusive flock(2) on "<users file>.lock", held for one read-modify-write.
class FileLock {
 public:
  ~FileLock() {
    if (fd_ >= 0) {
      ::close(fd_);  // releases the lock
    }
  }
  Result<void> acquire(const std::string& usersFile) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(usersFile).has_parent_path() ? fs::path(usersFile).parent_path()
                                                               : fs::path(".");
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
      fs::create_directories(dir, ec);
      if (ec) {
        return makeError(ec.value(), fmt::format("cannot create directory {}", dir.string()));
      }
      ::chmod(dir.c_str(), 0700);
    }
    const std::string path = usersFile + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      return makeError(errno, fmt::format("cannot open lock file {}", path));
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        return makeError(errno, fmt::format("cannot lock {}", path));
      }
    }
    return {};
  }

 private:
  int fd_ = -1;
};

std::unexpected<Error> refuse(int errnum, std::string sentence) {
  return makeError(errnum, std::move(sentence));
}

Result<void> checkName(std::string_view what, std::string_view name) {
  if (!isValidName(name)) {
    return refuse(EINVAL, fmt::format("{} name \"{}\" must be 1..64 characters of A-Z a-z 0-9 . _ "
                                      "@ -, starting with a letter or digit",
                                      what, name));
  }
  return {};
}

WallTime wallNow() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace

UsersStore::UsersStore(std::string path, PasswordParams params)
    : path_(std::move(path)), params_(params), db_(std::make_shared<const UsersDb>()) {}

std::shared_ptr<const UsersDb> UsersStore::snapshot() const {
  std::lock_guard lock(mutex_);
  return db_;
}

std::string UsersStore::lastLoadError() const {
  std::lock_guard lock(mutex_);
  return lastLoadError_;
}

UsersStore::FileId UsersStore::statFile() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    return FileId{};  // missing: all zero, distinct from any real file
  }
  return FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                static_cast<uint64_t>(st.st_size),
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

void UsersStore::adopt(UsersDb db, FileId id) {
  std::lock_guard lock(mutex_);
  db_ = std::make_shared<const UsersDb>(std::move(db));
  fileId_ = id;
  lastLoadError_.clear();
}

Result<void> UsersStore::load() {
  const FileId id = statFile();
  auto db = readUsersFile(path_);
  if (!db) {
    std::lock_guard lock(mutex_);
    lastLoadError_ = db.error().context + (db.error().detail.empty()
                                               ? std::string()
                                               : " (" + db.error().detail + ")");
    fileId_ = id;  // report a bad file once, not on every refresh
    return std::unexpected(db.error());
  }
  adopt(std::move(*db), id);
  return {};
}

Result<void> UsersStore::refresh(std::chrono::milliseconds minInterval) {
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (lastCheck_ != std::chrono::steady_clock::time_point{} && now - lastCheck_ < minInterval) {
      return {};
    }
    lastCheck_ = now;
  }
  const FileId id = statFile();
  {
    std::lock_guard lock(mutex_);
    if (id == fileId_) {
      return {};
    }
  }
  return load();
}

template <typename Change>
Result<void> UsersStore::change(Change&& apply) {
  FileLock lock;
  if (auto ok = lock.acquire(path_); !ok) {
    return ok;
  }
  auto db = readUsersFile(path_);
  if (!db) {
    return std::unexpected(db.error());
  }
  if (auto ok = apply(*db); !ok) {
    return ok;
  }
  if (auto ok = writeUsersFile(path_, *db); !ok) {
    return ok;
  }
  adopt(std::move(*db), statFile());
  return {};
}

Result<void> UsersStore::addUser(std::string_view name, Role role, std::string_view password) {
  if (auto ok = checkName("user", name); !ok) {
    return ok;
  }
  // Hash before taking the file lock: the lock is then held for milliseconds, not ~125 ms.
  auto hash = hashPassword(password, params_);
  if (!hash) {
    return std::unexpected(hash.error());
  }
  return change([&](UsersDb& db) -> Result<void> {
    if (db.findUser(name) != nullptr) {
      return refuse(EEXIST, fmt::format("user \"{}\" already exists", name));
    }
    db.users.push_back(User{std::string(name), role, std::move(*hash), wallNow()});
    return {};
  });
}

Result<void> UsersStore::setPassword(std::string_view name, std::string_view password) {
  auto hash = hashPassword(password, params_);
  if (!hash) {
    return std::unexpected(hash.error());
  }
  return change([&](UsersDb& db) -> Result<void> {
    for (User& u : db.users) {
      if (u.name == name) {
        u.passwordHash = std::move(*hash);
        return {};
      }
    }
    return refuse(ENOENT, fmt::format("no user \"{}\"", name));
  });
}

Result<void> UsersStore::setRole(std::string_view name, Role role) {
  return change([&](UsersDb& db) -> Result<void> {
    for (User& u : db.users) {
      if (u.name != name) {
        continue;
      }
      if (u.role == Role::Admin && role != Role::Admin && db.adminCount() == 1) {
        return refuse(EPERM, fmt::format("\"{}\" is the only admin; add another admin before "
                                         "changing its role",
                                         name));
      }
      u.role = role;
      return {};
    }
    return refuse(ENOENT, fmt::format("no user \"{}\"", name));
  });
}

Result<void> UsersStore::removeUser(std::string_view name) {
  return change([&](UsersDb& db) -> Result<void> {
    const User* user = db.findUser(name);
    if (user == nullptr) {
      return refuse(ENOENT, fmt::format("no user \"{}\"", name));
    }
    if (user->role == Role::Admin && db.adminCount() == 1) {
      return refuse(EPERM, fmt::format("\"{}\" is the only admin; add another admin before "
                                       "removing it",
                                       name));
    }
    std::erase_if(db.users, [&](const User& u) { return u.name == name; });
    return {};
  });
}

Result<std::string> UsersStore::addApiKey(std::string_view name, Role role) {
  if (auto ok = checkName("API key", name); !ok) {
    return std::unexpected(ok.error());
  }
  auto token = randomToken(32);
  if (!token) {
    return std::unexpected(token.error());
  }
  std::string text = std::string(kApiKeyPrefix) + *token;
  auto ok = change([&](UsersDb& db) -> Result<void> {
    if (db.findApiKey(name) != nullptr) {
      return refuse(EEXIST, fmt::format("API key \"{}\" already exists", name));
    }
    db.apiKeys.push_back(
        ApiKey{std::string(name), role, "sha256:" + sha256Hex(text), wallNow(), std::nullopt});
    return {};
  });
  if (!ok) {
    return std::unexpected(ok.error());
  }
  return text;
}

Result<void> UsersStore::revokeApiKey(std::string_view name) {
  return change([&](UsersDb& db) -> Result<void> {
    if (db.findApiKey(name) == nullptr) {
      return refuse(ENOENT, fmt::format("no API key \"{}\"", name));
    }
    std::erase_if(db.apiKeys, [&](const ApiKey& k) { return k.name == name; });
    return {};
  });
}

std::optional<ApiKeyMatch> UsersStore::matchApiKey(std::string_view keyText) {
  const std::string hash = "sha256:" + sha256Hex(keyText);
  const auto db = snapshot();
  const ApiKey* found = nullptr;
  // Every key is compared (constant time each), so the scan's timing does not depend on which
  // key matched; it only ever sees hashes anyway.
  for (const ApiKey& k : db->apiKeys) {
    if (constantTimeEqual(k.hash, hash)) {
      found = &k;
    }
  }
  if (found == nullptr) {
    return std::nullopt;
  }
  ApiKeyMatch match{found->name, found->role};
  const WallTime now = wallNow();
  if (!found->lastUsed || now - *found->lastUsed >= kLastUsedResolution) {
    bool due = false;
    {
      std::lock_guard lock(mutex_);
      auto& pending = lastUsedWrites_[found->name];
      due = now - pending >= kLastUsedResolution;
      if (due) {
        pending = now;
      }
    }
    if (due) {
      // Best effort: a failed write only loses the timestamp, never the request.
      (void)change([&](UsersDb& fresh) -> Result<void> {
        for (ApiKey& k : fresh.apiKeys) {
          if (k.name == match.name && k.hash == hash) {
            k.lastUsed = now;
          }
        }
        return {};
      });
    }
  }
  return match;
}

}  // namespace sluice::auth
