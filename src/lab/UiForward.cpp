#include "lab/UiForward.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "auth/Secrets.h"
#include "auth/UsersStore.h"
#include "config/ConfigLoader.h"
#include "lab/Command.h"
#include "lab/Lab.h"

namespace fs = std::filesystem;

namespace sluice::lab {

namespace {

/// A socket address for `endpoint` (numeric, already validated by parseEndpoint).
socklen_t toSockaddr(const Endpoint& endpoint, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof(storage));
  if (endpoint.v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(endpoint.port);
    inet_pton(AF_INET6, endpoint.host.c_str(), &in6->sin6_addr);
    return sizeof(sockaddr_in6);
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(endpoint.port);
  inet_pton(AF_INET, endpoint.host.c_str(), &in4->sin_addr);
  return sizeof(sockaddr_in);
}

/// Whether a listening socket could bind `endpoint` now (SO_REUSEADDR, as socat's reuseaddr).
bool canBind(const Endpoint& endpoint) {
  const int fd = ::socket(endpoint.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage storage{};
  const socklen_t length = toSockaddr(endpoint, storage);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) == 0;
  ::close(fd);
  return ok;
}

/// socat's address syntax treats ':' and ',' as separators, also inside EXEC's command line.
std::string socatEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == ',' || c == '!' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

bool isSocat(pid_t pid) {
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(comm, name);
  return name == "socat";
}

}  // namespace

std::string Endpoint::toString() const {
  return v6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

Result<Endpoint> parseEndpoint(const std::string& text) {
  Endpoint out;
  std::string portText;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return makeError(EINVAL, fmt::format("\"{}\": expected [IPV6]:PORT", text));
    }
    out.host = text.substr(1, close - 1);
    portText = text.substr(close + 2);
    out.v6 = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return makeError(EINVAL, fmt::format("\"{}\": expected HOST:PORT or [IPV6]:PORT", text));
    }
    out.host = text.substr(0, colon);
    portText = text.substr(colon + 1);
  }
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(out.v6 ? AF_INET6 : AF_INET, out.host.c_str(), buffer) != 1) {
    return makeError(EINVAL, fmt::format("\"{}\": \"{}\" is not a numeric IPv{} address", text,
                                         out.host, out.v6 ? 6 : 4));
  }
  char* end = nullptr;
  const long port = portText.empty() ? 0 : std::strtol(portText.c_str(), &end, 10);
  if (portText.empty() || *end != '\0' || port < 1 || port > 65535) {
    return makeError(EINVAL, fmt::format("\"{}\": port must be 1..65535", text));
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

Endpoint connectTarget(const Endpoint& listen) {
  Endpoint out = listen;
  if (!out.v6 && out.host == "0.0.0.0") {
    out.host = "127.0.0.1";
  } else if (out.v6 && (out.host == "::" || out.host == "0:0:0:0:0:0:0:0")) {
    out.host = "::1";
  }
  return out;
}

Result<Endpoint> chooseUiEndpoint(const std::string& requested) {
  if (!requested.empty()) {
    auto endpoint = parseEndpoint(requested);
    if (!endpoint) {
      return std::unexpected(endpoint.error());
    }
    if (!canBind(*endpoint)) {
      return makeError(EADDRINUSE, fmt::format("cannot listen on {} for the lab's UI", requested),
                       "the address is in use or not local; pass another --ui-listen");
    }
    return endpoint;
  }
  for (uint16_t i = 0; i < kUiPortsTried; ++i) {
    Endpoint candidate{"127.0.0.1", static_cast<uint16_t>(kDefaultUiPort + i), false};
    if (canBind(candidate)) {
      return candidate;
    }
  }
  return makeError(EADDRINUSE,
                   fmt::format("ports {}..{} of 127.0.0.1 are all in use", kDefaultUiPort,
                               kDefaultUiPort + kUiPortsTried - 1),
                   "pass --ui-listen HOST:PORT");
}

nlohmann::json UiAccess::toJson() const {
  return {{"url", url},   {"listen", listen},     {"target", target},         {"netns", netns},
          {"user", user}, {"password", password}, {"forward_pid", forwardPid}};
}

UiAccess UiAccess::fromJson(const nlohmann::json& json) {
  UiAccess out;
  out.url = json.value("url", std::string());
  out.listen = json.value("listen", std::string());
  out.target = json.value("target", std::string());
  out.netns = json.value("netns", std::string());
  out.user = json.value("user", std::string());
  out.password = json.value("password", std::string());
  out.forwardPid = json.value("forward_pid", 0);
  return out;
}

Result<UiAccess> loadUiAccess(const std::string& stateDir) {
  const std::string path = stateDir + "/ui.json";
  std::ifstream in(path);
  if (!in) {
    return makeError(ENOENT, "the lab has no UI forward (" + path + " missing)");
  }
  try {
    return UiAccess::fromJson(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    return makeError(EINVAL, path, e.what());
  }
}

Result<void> saveUiAccess(const std::string& stateDir, const UiAccess& access) {
  const std::string path = stateDir + "/ui.json";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError(errno, "cannot write " + path);
  }
  ::fchmod(fd, 0600);  // an older file keeps its mode through O_CREAT
  const std::string text = access.toJson().dump(2) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    return makeError(saved, "cannot write " + path);
  }
  return {};
}

Result<std::string> createLabAdmin(const std::string& usersFile) {
  // 15 random bytes = 20 base64url characters (120 bits): typed by hand at most once.
  auto password = auth::randomToken(15);
  if (!password) {
    return std::unexpected(password.error());
  }
  auth::UsersStore store(usersFile);
  if (auto loaded = store.load(); !loaded) {
    return std::unexpected(loaded.error());
  }
  const bool exists = store.snapshot()->findUser(kLabAdminUser) != nullptr;
  auto changed = exists ? store.setPassword(kLabAdminUser, *password)
                        : store.addUser(kLabAdminUser, auth::Role::Admin, *password);
  if (!changed) {
    return std::unexpected(changed.error());
  }
  return *password;
}

Result<pid_t> startUiForward(const std::string& stateDir, const Endpoint& listen,
                             const Endpoint& target, const std::string& netns) {
  for (const auto& [tool, package] : {std::pair{"socat", "socat"}, {"nsenter", "util-linux"}}) {
    auto found = run({"sh", "-c", std::string("command -v ") + tool});
    if (!found || found->exitCode != 0) {
      return makeError(ENOENT, fmt::format("{} is not installed (Debian package {}; "
                                           "tools/install-deps.sh)",
                                           tool, package));
    }
  }
  const std::string listenAddress =
      listen.v6 ? fmt::format("TCP6-LISTEN:{},bind=[{}],reuseaddr,fork", listen.port, listen.host)
                : fmt::format("TCP4-LISTEN:{},bind={},reuseaddr,fork", listen.port, listen.host);
  const std::string inner =
      fmt::format("nsenter --net=/run/netns/{} socat STDIO {}", netns,
                  socatEscape(target.v6 ? fmt::format("TCP6:[{}]:{}", target.host, target.port)
                                        : fmt::format("TCP4:{}:{}", target.host, target.port)));
  const Argv argv{"socat", listenAddress, "EXEC:" + inner};
  const std::string logPath = stateDir + "/ui-forward.log";
  auto pid = startDetached(argv, logPath);
  if (!pid) {
    return std::unexpected(pid.error());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    if (!processAlive(*pid)) {
      return makeError(EADDRINUSE, fmt::format("the UI forward ({}) exited", describe(argv)),
                       "ui-forward.log:\n" + tailFile(logPath, 10));
    }
    if (!canBind(listen)) {  // socat holds the port: it listens
      return *pid;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-*pid, SIGKILL);
      (void)stopProcess(*pid, SIGKILL, std::chrono::milliseconds(500));
      return makeError(
          ETIMEDOUT, fmt::format("the UI forward ({}) did not listen within 5 s", describe(argv)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<int> httpStatus(const Endpoint& endpoint, const std::string& path, int timeoutMs) {
  const int fd = ::socket(endpoint.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return makeError(errno, "socket");
  }
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_storage storage{};
  const socklen_t length = toSockaddr(endpoint, storage);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    const int saved = errno;
    ::close(fd);
    return makeError(saved, "connect to " + endpoint.toString());
  }
  const std::string request = fmt::format(
      "GET {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n", path, endpoint.toString());
  std::string answer;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buffer[256];
    ssize_t got = 0;
    while (answer.find("\r\n") == std::string::npos &&
           (got = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) {
      answer.append(buffer, static_cast<size_t>(got));
    }
  }
  const int saved = errno;
  ::close(fd);
  if (answer.empty()) {
    return makeError(saved == EAGAIN ? ETIMEDOUT : saved,
                     fmt::format("GET {} on {}: no answer", path, endpoint.toString()));
  }
  int status = 0;
  if (std::sscanf(answer.c_str(), "HTTP/%*d.%*d %d", &status) != 1) {
    status = 0;
  }
  return status;
}

std::vector<std::string> stopUiForward(const std::string& stateDir) {
  std::vector<std::string> problems;
  auto access = loadUiAccess(stateDir);
  if (!access || access->forwardPid <= 0) {
    return problems;
  }
  const pid_t pid = access->forwardPid;
  if (!processAlive(pid) || !isSocat(pid)) {
    return problems;  // gone already (or the pid was reused: not ours to signal)
  }
  // The forward leads its own process group (startDetached): its per-connection children go too.
  ::kill(-pid, SIGTERM);
  if (!stopProcess(pid, SIGTERM, std::chrono::seconds(2))) {
    ::kill(-pid, SIGKILL);
    if (!stopProcess(pid, SIGKILL, std::chrono::seconds(2))) {
      problems.push_back(fmt::format("the UI forward (socat, pid {}) did not stop", pid));
    }
  }
  return problems;
}

Result<UiAccess> openLabUi(const std::string& stateDir, const std::string& configPath,
                           const std::string& netns, const Endpoint& listen) {
  Diagnostics diags;
  const auto config = config::loadConfig(configPath, diags);
  if (!config) {
    std::string all;
    for (const Diagnostic& d : diags.errors()) {
      all += d.toString() + "\n";
    }
    return makeError(EINVAL, "cannot read the lab config " + configPath, all);
  }
  auto served = parseEndpoint(config->sluice.webserverListen);
  if (!served) {
    return std::unexpected(served.error());
  }
  UiAccess access;
  access.listen = listen.toString();
  access.target = connectTarget(*served).toString();
  access.netns = netns;
  const bool tls = !config->sluice.tlsCertificate.empty() && !config->sluice.tlsPrivateKey.empty();
  access.url = fmt::format("{}://{}/", tls ? "https" : "http", access.listen);
  access.user = kLabAdminUser;
  auto password = createLabAdmin(auth::usersFilePath(*config));
  if (!password) {
    return std::unexpected(password.error());
  }
  access.password = *password;
  auto pid = startUiForward(stateDir, listen, connectTarget(*served), netns);
  if (!pid) {
    return std::unexpected(pid.error());
  }
  access.forwardPid = *pid;
  if (auto saved = saveUiAccess(stateDir, access); !saved) {
    (void)stopUiForward(stateDir);
    return std::unexpected(saved.error());
  }
  if (!tls) {  // a TLS listener would need a handshake; the forward is checked by binding then
    auto status = httpStatus(listen, "/health", 5000);
    if (!status || *status != 200) {
      (void)stopUiForward(stateDir);
      return makeError(
          EPROTO, fmt::format("GET /health through the UI forward {} -> {}: {}", access.listen,
                              access.target,
                              status ? fmt::format("HTTP {}", *status) : status.error().message()));
    }
  }
  return access;
}

}  // namespace sluice::lab
