// The users file's format: parsing with field-named errors, serialising, atomic writes.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/Password.h"
#include "auth/UsersStore.h"
#include "common/AtomicFile.h"
#include "config/Config.h"

namespace sluice::auth {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;  // the file lists keys in a readable order

constexpr int kFormatVersion = 1;
constexpr std::string_view kKeyHashPrefix = "sha256:";

std::unexpected<Error> fieldError(const std::string& file, const std::string& field,
                                  std::string message, const json* value = nullptr) {
  std::string detail;
  if (value != nullptr) {
    detail = value->dump(-1, ' ', false, json::error_handler_t::replace);
    if (detail.size() > 80) {
      detail = detail.substr(0, 77) + "...";
    }
  }
  return makeError(EINVAL, fmt::format("{}: {}: {}", file, field, message), std::move(detail));
}

bool isLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// Reads the object `entry` (users[i] or api_keys[i]) field by field; `allowed` lists its keys.
class EntryReader {
 public:
  EntryReader(const std::string& file, std::string where, const json& entry)
      : file_(file), where_(std::move(where)), entry_(entry) {}

  Result<void> checkKeys(std::initializer_list<std::string_view> allowed) const {
    if (!entry_.is_object()) {
      return fieldError(file_, where_, "must be an object", &entry_);
    }
    for (const auto& [key, value] : entry_.items()) {
      bool known = false;
      for (std::string_view a : allowed) {
        known = known || key == a;
      }
      if (!known) {
        return fieldError(file_, where_ + "." + key, "unknown key", &value);
      }
    }
    return {};
  }

  Result<std::string> string(std::string_view key) const {
    const std::string field = where_ + "." + std::string(key);
    const auto it = entry_.find(key);
    if (it == entry_.end()) {
      return fieldError(file_, field, "missing");
    }
    if (!it->is_string()) {
      return fieldError(file_, field, "must be a string", &*it);
    }
    return it->get<std::string>();
  }

  Result<std::string> name() const {
    auto text = string("name");
    if (text && !isValidName(*text)) {
      return fieldError(file_, where_ + ".name",
                        "must be 1..64 characters of A-Z a-z 0-9 . _ @ -, starting with a letter "
                        "or digit",
                        &entry_["name"]);
    }
    return text;
  }

  Result<Role> role() const {
    auto text = string("role");
    if (!text) {
      return std::unexpected(text.error());
    }
    const auto role = parseRole(*text);
    if (!role) {
      return fieldError(file_, where_ + ".role", "must be \"admin\" or \"read-only\"",
                        &entry_["role"]);
    }
    return *role;
  }

  Result<WallTime> time(std::string_view key) const {
    auto text = string(key);
    if (!text) {
      return std::unexpected(text.error());
    }
    const auto t = parseWallTime(*text);
    if (!t) {
      return fieldError(file_, where_ + "." + std::string(key),
                        "must be a UTC time like \"2026-11-21T17:00:00Z\"",
                        &entry_[std::string(key)]);
    }
    return *t;
  }

  const std::string& where() const { return where_; }
  const json& entry() const { return entry_; }

 private:
  const std::string& file_;
  std::string where_;
  const json& entry_;
};

Result<User> parseUser(const std::string& file, size_t index, const json& entry) {
  const EntryReader r(file, fmt::format("users[{}]", index), entry);
  if (auto ok = r.checkKeys({"name", "role", "password_hash", "created"}); !ok) {
    return std::unexpected(ok.error());
  }
  auto name = r.name();
  auto role = name ? r.role() : Result<Role>(std::unexpected(name.error()));
  if (!role) {
    return std::unexpected(role.error());
  }
  auto hash = r.string("password_hash");
  if (!hash) {
    return std::unexpected(hash.error());
  }
  if (!isArgon2idHash(*hash)) {
    return fieldError(file, r.where() + ".password_hash",
                      "must be an argon2id hash ($argon2id$v=19$m=..,t=..,p=..$salt$hash); set "
                      "one with `sluice user passwd`",
                      &entry["password_hash"]);
  }
  auto created = r.time("created");
  if (!created) {
    return std::unexpected(created.error());
  }
  return User{std::move(*name), *role, std::move(*hash), *created};
}

Result<ApiKey> parseApiKey(const std::string& file, size_t index, const json& entry) {
  const EntryReader r(file, fmt::format("api_keys[{}]", index), entry);
  if (auto ok = r.checkKeys({"name", "role", "hash", "created", "last_used"}); !ok) {
    return std::unexpected(ok.error());
  }
  auto name = r.name();
  auto role = name ? r.role() : Result<Role>(std::unexpected(name.error()));
  if (!role) {
    return std::unexpected(role.error());
  }
  auto hash = r.string("hash");
  if (!hash) {
    return std::unexpected(hash.error());
  }
  const std::string_view digest = std::string_view(*hash).substr(
      std::min(hash->size(), kKeyHashPrefix.size()));
  if (!hash->starts_with(kKeyHashPrefix) || digest.size() != 64 || !isLowerHex(digest)) {
    return fieldError(file, r.where() + ".hash", "must be \"sha256:\" and 64 lowercase hex digits",
                      &entry["hash"]);
  }
  auto created = r.time("created");
  if (!created) {
    return std::unexpected(created.error());
  }
  ApiKey k{std::move(*name), *role, std::move(*hash), *created, std::nullopt};
  const auto used = entry.find("last_used");
  if (used != entry.end() && !used->is_null()) {
    auto t = r.time("last_used");
    if (!t) {
      return std::unexpected(t.error());
    }
    k.lastUsed = *t;
  }
  return k;
}

template <typename T, typename Parse>
Result<std::vector<T>> parseList(const std::string& file, const json& doc, const char* key,
                                 Parse parse) {
  std::vector<T> out;
  const auto it = doc.find(key);
  if (it == doc.end()) {
    return out;
  }
  if (!it->is_array()) {
    return fieldError(file, key, "must be an array", &*it);
  }
  for (size_t i = 0; i < it->size(); ++i) {
    auto item = parse(file, i, (*it)[i]);
    if (!item) {
      return std::unexpected(item.error());
    }
    for (const T& earlier : out) {
      if (earlier.name == item->name) {
        return fieldError(file, fmt::format("{}[{}].name", key, i), "duplicate name",
                          &(*it)[i]["name"]);
      }
    }
    out.push_back(std::move(*item));
  }
  return out;
}

}  // namespace

std::string_view roleName(Role role) { return role == Role::Admin ? "admin" : "read-only"; }

std::optional<Role> parseRole(std::string_view text) {
  if (text == "admin") {
    return Role::Admin;
  }
  if (text == "read-only") {
    return Role::ReadOnly;
  }
  return std::nullopt;
}

const User* UsersDb::findUser(std::string_view name) const {
  for (const User& u : users) {
    if (u.name == name) {
      return &u;
    }
  }
  return nullptr;
}

const ApiKey* UsersDb::findApiKey(std::string_view name) const {
  for (const ApiKey& k : apiKeys) {
    if (k.name == name) {
      return &k;
    }
  }
  return nullptr;
}

size_t UsersDb::adminCount() const {
  size_t n = 0;
  for (const User& u : users) {
    n += u.role == Role::Admin ? 1 : 0;
  }
  return n;
}

std::string usersFilePath(const config::Config& config) {
  if (!config.sluice.usersFile.empty()) {
    return config.sluice.usersFile;
  }
  return (std::filesystem::path(config.sluice.stateDirectory) / "users.json").string();
}

bool isValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  const auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) {
    return false;
  }
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '@' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string formatWallTime(WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<WallTime> parseWallTime(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ, the form formatWallTime writes.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  const auto num = [&](size_t at, size_t len) -> int {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return -1;
      }
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
            s = num(17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
      s > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                        std::chrono::day(d)};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return WallTime(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                  std::chrono::minutes(mi) + std::chrono::seconds(s));
}

Result<UsersDb> parseUsersJson(std::string_view text, const std::string& fileName) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return makeError(EINVAL, fmt::format("{}: not valid JSON at byte {}", fileName, e.byte),
                     e.what());
  }
  if (!doc.is_object()) {
    return fieldError(fileName, "(top level)", "must be an object with \"version\", \"users\" "
                      "and \"api_keys\"", &doc);
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "version" && key != "users" && key != "api_keys") {
      return fieldError(fileName, key, "unknown key", &value);
    }
  }
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() ||
      version->get<int64_t>() != kFormatVersion) {
    return fieldError(fileName, "version", "must be 1 (the only format this Sluice reads)",
                      version == doc.end() ? nullptr : &*version);
  }
  UsersDb db;
  auto users = parseList<User>(fileName, doc, "users", parseUser);
  if (!users) {
    return std::unexpected(users.error());
  }
  auto keys = parseList<ApiKey>(fileName, doc, "api_keys", parseApiKey);
  if (!keys) {
    return std::unexpected(keys.error());
  }
  db.users = std::move(*users);
  db.apiKeys = std::move(*keys);
  return db;
}

std::string usersJson(const UsersDb& db) {
  ordered_json users = ordered_json::array();
  for (const User& u : db.users) {
    users.push_back({{"name", u.name},
                     {"role", roleName(u.role)},
                     {"password_hash", u.passwordHash},
                     {"created", formatWallTime(u.created)}});
  }
  ordered_json keys = ordered_json::array();
  for (const ApiKey& k : db.apiKeys) {
    keys.push_back({{"name", k.name},
                    {"role", roleName(k.role)},
                    {"hash", k.hash},
                    {"created", formatWallTime(k.created)},
                    {"last_used", k.lastUsed ? ordered_json(formatWallTime(*k.lastUsed)) : ordered_json(nullptr)}});
  }
  ordered_json doc = ordered_json::object();
  doc["version"] = kFormatVersion;
  doc["users"] = std::move(users);
  doc["api_keys"] = std::move(keys);
  return doc.dump(2) + "\n";
}

Result<UsersDb> readUsersFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return UsersDb{};
    }
    return makeError(errno, fmt::format("cannot read users file {}", path));
  }
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return makeError(err, fmt::format("cannot read users file {}", path));
    }
    if (n == 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return parseUsersJson(text, path);
}

Result<void> writeUsersFile(const std::string& path, const UsersDb& db) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) {
      return makeError(ec.value(), fmt::format("cannot create directory {}", dir.string()));
    }
    ::chmod(dir.c_str(), 0700);
  }
  return writeFileAtomically(path, usersJson(db), {.mode = 0600});
}

}  // namespace sluice::auth
