#pragma once
// The lab's web UI and operator API on the host's loopback. sluiced listens inside the shaper
// namespace (its `[sluice] webserver_listen`, default 127.0.0.1:9123 there), which the host cannot
// reach. `lab up` therefore starts a forwarder in the host's namespace:
//
//   host netns                                      netns shaper
//   socat TCP-LISTEN 127.0.0.1:9180 (fork) ─► per connection:
//                                             nsenter --net=/run/netns/shaper socat STDIO
//                                                 TCP 127.0.0.1:9123 ─────────► sluiced
//
// Each accepted connection gets its own socat child that enters the shaper namespace (nsenter,
// util-linux) and connects to sluiced there. Nothing in the host's network configuration changes
// (no link, address or route): the only trace is a listening socket on loopback, owned by a
// process group that `lab down` kills. socat (Debian package socat) does the byte shuffling; the
// lab writes no proxy of its own.
//
// The lab also creates an administrator for the UI (user "admin", a generated password) in the
// lab daemon's users file and writes the URL and credentials to <state dir>/ui.json (mode 0600).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"

namespace sluice::lab {

/// The first port tried on the host when no address is given; the next kUiPortsTried - 1 ports
/// follow when it is taken.
inline constexpr uint16_t kDefaultUiPort = 9180;
inline constexpr uint16_t kUiPortsTried = 20;
inline constexpr const char* kLabAdminUser = "admin";

/// A TCP endpoint as "HOST:PORT" or "[V6]:PORT" splits into.
struct Endpoint {
  std::string host;  ///< without brackets
  uint16_t port = 0;
  bool v6 = false;

  /// "127.0.0.1:9180" / "[::1]:9180".
  std::string toString() const;
};

/// Parses "HOST:PORT" or "[V6]:PORT" where HOST is a numeric IPv4 or IPv6 address. Errors:
/// EINVAL naming `text` (no port, port outside 1..65535, host not a numeric address).
Result<Endpoint> parseEndpoint(const std::string& text);

/// Where to connect to reach a server listening on `listen` from inside its namespace: the
/// wildcard addresses 0.0.0.0 and :: become 127.0.0.1 and ::1, anything else stays.
Endpoint connectTarget(const Endpoint& listen);

/// The host endpoint for the forward: `requested` when set (it must be free: EADDRINUSE names
/// it), else the first free port of 127.0.0.1:kDefaultUiPort.. (kUiPortsTried ports; EADDRINUSE
/// when all are taken). "Free" = a socket can bind it now.
Result<Endpoint> chooseUiEndpoint(const std::string& requested);

/// What the forward and the admin look like; persisted as <state dir>/ui.json (0600).
struct UiAccess {
  std::string url;       ///< "http://127.0.0.1:9180/" (https when sluiced serves TLS)
  std::string listen;    ///< the host endpoint, "127.0.0.1:9180"
  std::string target;    ///< sluiced's endpoint inside the namespace
  std::string netns;     ///< the namespace sluiced runs in
  std::string user;      ///< kLabAdminUser
  std::string password;  ///< generated
  int forwardPid = 0;    ///< the socat process group's leader; 0 = no forward running

  nlohmann::json toJson() const;
  static UiAccess fromJson(const nlohmann::json& json);
};

/// Reads <stateDir>/ui.json. ENOENT when the lab has no UI access.
Result<UiAccess> loadUiAccess(const std::string& stateDir);

/// Adds the user kLabAdminUser with role admin and a generated 20-character password to
/// `usersFile` (replacing the password when the user exists). Costs one argon2id hash (~180 ms
/// of CPU, 64 MiB; docs/auth.md). Returns the password. Errors: the users file's
/// (auth/UsersStore.h).
Result<std::string> createLabAdmin(const std::string& usersFile);

/// Starts the forwarder (see above) from `listen` on the host to `target` in namespace `netns`,
/// detached in its own process group (log: <stateDir>/ui-forward.log), and waits up to 5 s until
/// it accepts connections. Returns its pid. Errors: ENOENT when socat or nsenter is missing
/// (names the package), EADDRINUSE/ETIMEDOUT when it does not come up (detail: its log).
Result<pid_t> startUiForward(const std::string& stateDir, const Endpoint& listen,
                             const Endpoint& target, const std::string& netns);

/// Sends `GET path` over plain HTTP/1.0 to `endpoint` and returns the status code (0 when the
/// answer is not HTTP). Errors: the socket's errno (ECONNREFUSED when nothing listens), ETIMEDOUT
/// after `timeoutMs`.
Result<int> httpStatus(const Endpoint& endpoint, const std::string& path, int timeoutMs);

/// Stops the forward recorded in <stateDir>/ui.json (SIGTERM to its process group, SIGKILL after
/// 2 s), only when that pid is still a socat process. Returns problems as text (empty = clean or
/// nothing to stop).
std::vector<std::string> stopUiForward(const std::string& stateDir);

/// Writes `access` to <stateDir>/ui.json with mode 0600.
Result<void> saveUiAccess(const std::string& stateDir, const UiAccess& access);

/// All of the above for a running lab daemon: reads `configPath` (the lab's lqos.conf) for
/// sluiced's webserver_listen, TLS and users file, creates the admin, starts the forward from
/// `listen` to `netns`, checks that GET /health answers 200 through it, and saves ui.json.
/// Errors: an unreadable config, the users file's, startUiForward's, and EPROTO when /health
/// does not answer 200 through the forward (the forward is stopped again then).
Result<UiAccess> openLabUi(const std::string& stateDir, const std::string& configPath,
                           const std::string& netns, const Endpoint& listen);

}  // namespace sluice::lab
