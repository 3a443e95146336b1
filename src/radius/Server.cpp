#include "radius/Server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace sluice::radius {

namespace {

int64_t monoSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t unixSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

IpNet sourceOf(const sockaddr_storage& ss) {
  IpNet n;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    n.isV4 = true;
    n.addr[10] = n.addr[11] = 0xFF;
    std::memcpy(n.addr.data() + 12, &a->sin_addr, 4);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(n.addr.data(), &a->sin6_addr, 16);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      n.isV4 = true;
    }
  }
  return n;
}

/// Binds a UDP socket; returns the fd and the bound port.
Result<std::pair<int, uint16_t>> bindUdp(const std::string& address, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return makeError(EINVAL, "radius bind",
                     fmt::format("'{}' is not an IPv4 or IPv6 address", address));
  }
  const auto context = fmt::format("radius bind {}:{}", address, port);
  const int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return makeError(errno, context);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    ::close(fd);
    return makeError(err, context);
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return std::pair{fd, ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port)};
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const ServerConfig& config,
                                              std::vector<Client> clients,
                                              Dispatcher::EventSink sink) {
  std::unique_ptr<Server> s(new Server());
  s->dispatcher_ =
      std::make_unique<Dispatcher>(config.dispatcher, std::move(clients), std::move(sink));
  auto acct = bindUdp(config.bindAddress, config.accountingPort);
  if (!acct) {
    return std::unexpected(acct.error());
  }
  std::tie(s->accountingFd_, s->accountingPort_) = *acct;
  if (config.coaEnabled) {
    auto coa = bindUdp(config.bindAddress, config.coaPort);
    if (!coa) {
      return std::unexpected(coa.error());  // ~Server closes the accounting socket
    }
    std::tie(s->coaFd_, s->coaPort_) = *coa;
    s->coaThread_ = std::thread([p = s.get()] { p->loop(p->coaFd_, Role::DynamicAuthorization); });
  }
  s->accountingThread_ =
      std::thread([p = s.get()] { p->loop(p->accountingFd_, Role::Accounting); });
  return s;
}

void Server::loop(int fd, Role role) {
  std::vector<uint8_t> buf(kMaxPacketBytes);
  int64_t lastExpiry = monoSec();
  while (!stopping_.load()) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 200);
    if (role == Role::Accounting && monoSec() != lastExpiry) {
      lastExpiry = monoSec();
      dispatcher_->expire(lastExpiry);
    }
    if (ready <= 0) {
      continue;
    }
    sockaddr_storage from{};
    socklen_t fromLen = sizeof(from);
    const ssize_t n =
        ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n <= 0) {
      continue;
    }
    const uint16_t port =
        ntohs(from.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&from)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&from)->sin6_port);
    const auto answer = dispatcher_->handle(std::span(buf.data(), static_cast<size_t>(n)),
                                            sourceOf(from), role, monoSec(), unixSec(), port);
    if (answer) {
      ::sendto(fd, answer->data(), answer->size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
    }
  }
}

void Server::stop() {
  stopping_.store(true);
  for (auto* t : {&accountingThread_, &coaThread_}) {
    if (t->joinable()) {
      t->join();
    }
  }
  for (int* fd : {&accountingFd_, &coaFd_}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
}

Server::~Server() {
  stop();
}

}  // namespace sluice::radius
