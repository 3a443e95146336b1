// sluice user add|list|remove|passwd and sluice apikey add|list|revoke: the operator API's users
// file (auth/UsersStore.h), changed directly under its file lock; a running sluiced notices the
// change by itself.

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/UsersStore.h"
#include "cli/Commands.h"
#include "config/ConfigLoader.h"

namespace sluice::cli {

namespace {

using nlohmann::json;

constexpr const char* kDefaultConfig = "/etc/lqos.conf";

struct UsersOptions {
  std::string config = kDefaultConfig;
  std::string usersFile;  ///< overrides the config's users_file
  std::string name;
  std::string role;
  bool passwordStdin = false;
  bool json = false;
};

// --config and --users-file on every leaf command, so they can follow the arguments.
void addFileOptions(CLI::App* cmd, UsersOptions& o) {
  cmd->add_option("--config", o.config, "lqos.conf naming [sluice] users_file / state_directory")
      ->capture_default_str();
  cmd->add_option("--users-file", o.usersFile, "the users file itself (instead of --config)");
}

void addRoleOption(CLI::App* cmd, UsersOptions& o) {
  cmd->add_option("--role", o.role, "admin (everything) or read-only (GET only)")
      ->required()
      ->check(CLI::IsMember({"admin", "read-only"}));
}

// Operator-facing text of an error: the store's sentence, plus strerror for system errors.
std::string describe(const Error& e) {
  std::string out = e.context;
  const bool sentence = e.errnum == EINVAL || e.errnum == EEXIST || e.errnum == ENOENT ||
                        e.errnum == EPERM;
  if (!sentence && e.errnum != 0) {
    out += fmt::format(": {}", std::strerror(e.errnum));
  }
  if (!e.detail.empty()) {
    out += fmt::format(" ({})", e.detail);
  }
  return out;
}

int fail(const std::string& message) {
  fmt::print(stderr, "sluice: {}\n", message);
  return 1;
}

std::optional<std::string> usersFile(const UsersOptions& o) {
  if (!o.usersFile.empty()) {
    return o.usersFile;
  }
  Diagnostics diags;
  const auto config = config::loadConfig(o.config, diags);
  for (const Diagnostic& d : diags.errors()) {
    fmt::print(stderr, "{}\n", d.toString());
  }
  if (!config) {
    fail(fmt::format("cannot read the config {} (pass --config PATH or --users-file PATH)",
                     o.config));
    return std::nullopt;
  }
  return auth::usersFilePath(*config);
}

// One line from `in` without its line ending.
std::string readLine(std::istream& in) {
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

std::optional<std::string> promptHidden(const std::string& prompt) {
  fmt::print(stderr, "{}", prompt);
  std::fflush(stderr);
  termios old{};
  const bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  const std::string line = readLine(std::cin);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  }
  fmt::print(stderr, "\n");
  if (!std::cin && line.empty()) {
    return std::nullopt;
  }
  return line;
}

// The new password: the first line of standard input with --password-stdin, else asked twice on
// the terminal without echo.
std::optional<std::string> readNewPassword(const UsersOptions& o) {
  if (o.passwordStdin) {
    return readLine(std::cin);
  }
  if (::isatty(STDIN_FILENO) == 0) {
    fail("standard input is not a terminal: pass --password-stdin and write the password to it");
    return std::nullopt;
  }
  const auto first = promptHidden(fmt::format("New password for {}: ", o.name));
  const auto second = first ? promptHidden("Repeat it: ") : std::nullopt;
  if (!first || !second) {
    fail("no password given");
    return std::nullopt;
  }
  if (*first != *second) {
    fail("the two passwords differ; nothing changed");
    return std::nullopt;
  }
  return first;
}

// Runs `body(store)` on the users file the options name; returns the exit code.
template <typename Body>
int withStore(const UsersOptions& o, Body body) {
  const auto path = usersFile(o);
  if (!path) {
    return 1;
  }
  auth::UsersStore store(*path);
  if (auto loaded = store.load(); !loaded) {
    return fail(describe(loaded.error()));
  }
  return body(store, *path);
}

std::string lastUsedText(const std::optional<auth::WallTime>& t) {
  return t ? auth::formatWallTime(*t) : "never";
}

int userAdd(const UsersOptions& o) {
  return withStore(o, [&](auth::UsersStore& store, const std::string& path) {
    const auto password = readNewPassword(o);
    if (!password) {
      return 1;
    }
    if (auto ok = store.addUser(o.name, *auth::parseRole(o.role), *password); !ok) {
      return fail(describe(ok.error()));
    }
    fmt::print("added user {} ({}) to {}\n", o.name, o.role, path);
    return 0;
  });
}

int userPasswd(const UsersOptions& o) {
  return withStore(o, [&](auth::UsersStore& store, const std::string& path) {
    if (store.snapshot()->findUser(o.name) == nullptr) {
      return fail(fmt::format("no user \"{}\" in {}", o.name, path));
    }
    const auto password = readNewPassword(o);
    if (!password) {
      return 1;
    }
    if (auto ok = store.setPassword(o.name, *password); !ok) {
      return fail(describe(ok.error()));
    }
    fmt::print("changed the password of {} (their sessions end)\n", o.name);
    return 0;
  });
}

int userRemove(const UsersOptions& o) {
  return withStore(o, [&](auth::UsersStore& store, const std::string&) {
    if (auto ok = store.removeUser(o.name); !ok) {
      return fail(describe(ok.error()));
    }
    fmt::print("removed user {}\n", o.name);
    return 0;
  });
}

int userList(const UsersOptions& o) {
  return withStore(o, [&](auth::UsersStore& store, const std::string& path) {
    const auto db = store.snapshot();
    if (o.json) {
      json users = json::array();
      for (const auth::User& u : db->users) {
        users.push_back({{"name", u.name},
                         {"role", auth::roleName(u.role)},
                         {"created", auth::formatWallTime(u.created)}});
      }
      fmt::print("{}\n", json{{"users", users}}.dump(2));
      return 0;
    }
    if (db->users.empty()) {
      fmt::print("no users in {} (first run: sluice user add admin --role admin)\n", path);
      return 0;
    }
    fmt::print("{:<24} {:<10} {}\n", "NAME", "ROLE", "CREATED");
    for (const auth::User& u : db->users) {
      fmt::print("{:<24} {:<10} {}\n", u.name, auth::roleName(u.role),
                 auth::formatWallTime(u.created));
    }
    return 0;
  });
}

int apikeyAdd(const UsersOptions& o) {
  return withStore(o, [&](auth::UsersStore& store, const std::string&) {
    auto key = store.addApiKey(o.name, *auth::parseRole(o.role));
    if (!key) {
      return fail(describe(key.error()));
    }
    // The key alone on stdout (KEY=$(sluice apikey add ...)); the advice on stderr.
    fmt::print("{}\n", *key);
    fmt::print(stderr,
               "API key {} ({}): shown once, only its SHA-256 is stored. Send it as the header "
               "\"Authorization: Bearer <key>\".\n",
               o.name, o.role);
    return 0;
  });
}

int apikeyRevoke(const UsersOptions& o) {
  return withStore(o, [&](auth::UsersStore& store, const std::string&) {
    if (auto ok = store.revokeApiKey(o.name); !ok) {
      return fail(describe(ok.error()));
    }
    fmt::print("revoked API key {}\n", o.name);
    return 0;
  });
}

int apikeyList(const UsersOptions& o) {
  return withStore(o, [&](auth::UsersStore& store, const std::string&) {
    const auto db = store.snapshot();
    if (o.json) {
      json keys = json::array();
      for (const auth::ApiKey& k : db->apiKeys) {
        keys.push_back({{"name", k.name},
                        {"role", auth::roleName(k.role)},
                        {"created", auth::formatWallTime(k.created)},
                        {"last_used", k.lastUsed ? json(auth::formatWallTime(*k.lastUsed))
                                                 : json(nullptr)}});
      }
      fmt::print("{}\n", json{{"api_keys", keys}}.dump(2));
      return 0;
    }
    fmt::print("{:<24} {:<10} {:<21} {}\n", "NAME", "ROLE", "CREATED", "LAST USED");
    for (const auth::ApiKey& k : db->apiKeys) {
      fmt::print("{:<24} {:<10} {:<21} {}\n", k.name, auth::roleName(k.role),
                 auth::formatWallTime(k.created), lastUsedText(k.lastUsed));
    }
    return 0;
  });
}

// A leaf command with its own options object; `run` is called with them.
CLI::App* leaf(CLI::App* parent, const std::string& name, const std::string& help,
               std::shared_ptr<UsersOptions>& o, int (*run)(const UsersOptions&)) {
  o = std::make_shared<UsersOptions>();
  CLI::App* cmd = parent->add_subcommand(name, help);
  addFileOptions(cmd, *o);
  cmd->callback([o, run] { setExitCode(run(*o)); });
  return cmd;
}

}  // namespace

void addUserCommands(CLI::App& app) {
  std::shared_ptr<UsersOptions> o;
  CLI::App* user = app.add_subcommand("user", "Operator API users (the users file)");
  user->require_subcommand(1);
  CLI::App* add = leaf(user, "add", "Add a user (asks for the password)", o, userAdd);
  add->add_option("name", o->name, "user name")->required();
  addRoleOption(add, *o);
  add->add_flag("--password-stdin", o->passwordStdin, "read the password from standard input");
  CLI::App* passwd = leaf(user, "passwd", "Change a user's password", o, userPasswd);
  passwd->add_option("name", o->name, "user name")->required();
  passwd->add_flag("--password-stdin", o->passwordStdin, "read the password from standard input");
  CLI::App* remove = leaf(user, "remove", "Remove a user", o, userRemove);
  remove->add_option("name", o->name, "user name")->required();
  CLI::App* list = leaf(user, "list", "List users", o, userList);
  list->add_flag("--json", o->json, "print JSON");

  CLI::App* apikey = app.add_subcommand("apikey", "Operator API keys for automation");
  apikey->require_subcommand(1);
  CLI::App* keyAdd = leaf(apikey, "add", "Create a key and print it once", o, apikeyAdd);
  keyAdd->add_option("name", o->name, "key name")->required();
  addRoleOption(keyAdd, *o);
  CLI::App* keyList = leaf(apikey, "list", "List keys (names, roles, last use)", o, apikeyList);
  keyList->add_flag("--json", o->json, "print JSON");
  CLI::App* revoke = leaf(apikey, "revoke", "Delete a key", o, apikeyRevoke);
  revoke->add_option("name", o->name, "key name")->required();
}

}  // namespace sluice::cli
