#include "stormguard/IcmpProbe.h"

#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

namespace sluice::stormguard {
namespace {

// Echo payload: the probe's tag and the request's send time are not needed in the reply for
// timing (the probe keeps the send time), so the payload is the tag and padding to 32 bytes.
constexpr size_t kPayloadBytes = 32;
constexpr size_t kIcmpHeaderBytes = 8;  // type, code, checksum, identifier, sequence (RFC 792)

// RFC 1071 Internet checksum of `len` bytes.
uint16_t internetChecksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  }
  if (len % 2 != 0) {
    sum += static_cast<uint32_t>(data[len - 1] << 8);
  }
  while (sum >> 16 != 0) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xffff);
}

bool sameAddress(const sockaddr_storage& a, const sockaddr_storage& b, bool v6) {
  if (v6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return a.ss_family == AF_INET6 && std::memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0;
  }
  const auto& x = reinterpret_cast<const sockaddr_in&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in&>(b);
  return a.ss_family == AF_INET && x.sin_addr.s_addr == y.sin_addr.s_addr;
}

}  // namespace

Result<std::unique_ptr<IcmpProbe>> IcmpProbe::open(const std::string& target) {
  std::unique_ptr<IcmpProbe> p(new IcmpProbe());
  p->target_ = target;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&p->addr_);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&p->addr_);
  if (::inet_pton(AF_INET, target.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
  } else if (::inet_pton(AF_INET6, target.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    p->v6_ = true;
  } else {
    return makeError(EINVAL, "stormguard active probe",
                     "'" + target + "' is not an IPv4 or IPv6 address");
  }
  const int family = p->v6_ ? AF_INET6 : AF_INET;
  const int proto = p->v6_ ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  p->fd_ = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
  p->kind_ = Kind::Datagram;
  if (p->fd_ < 0) {
    p->fd_ = ::socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
    p->kind_ = Kind::Raw;
    if (p->fd_ < 0) {
      return makeError(errno, "stormguard active probe: ICMP socket toward " + target,
                       "needs CAP_NET_RAW or a group inside net.ipv4.ping_group_range");
    }
  }
  std::random_device rd;
  p->tag_ = (static_cast<uint64_t>(rd()) << 32) | rd();
  p->ident_ = static_cast<uint16_t>(rd());
  return p;
}

IcmpProbe::~IcmpProbe() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool IcmpProbe::isReply(const uint8_t* buf, size_t len, const sockaddr_storage& from,
                        uint16_t seq) const {
  if (!sameAddress(from, addr_, v6_)) {
    return false;
  }
  size_t off = 0;
  if (!v6_ && kind_ == Kind::Raw) {  // raw IPv4 sockets deliver the IP header too
    if (len < sizeof(iphdr)) {
      return false;
    }
    off = static_cast<size_t>(reinterpret_cast<const iphdr*>(buf)->ihl) * 4;
  }
  if (len < off + kIcmpHeaderBytes + sizeof(tag_)) {
    return false;
  }
  const uint8_t* icmp = buf + off;
  const uint8_t replyType = v6_ ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
  if (icmp[0] != replyType || icmp[1] != 0) {
    return false;
  }
  const uint16_t gotSeq = static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
  if (gotSeq != seq) {
    return false;
  }
  if (kind_ == Kind::Raw) {  // other programs' pings share the raw socket's view
    const uint16_t gotIdent = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
    if (gotIdent != ident_) {
      return false;
    }
  }
  return std::memcmp(icmp + kIcmpHeaderBytes, &tag_, sizeof(tag_)) == 0;
}

Result<std::optional<double>> IcmpProbe::ping(double timeoutSeconds) {
  using Clock = std::chrono::steady_clock;
  const uint16_t seq = ++seq_;
  std::array<uint8_t, kIcmpHeaderBytes + kPayloadBytes> req{};
  req[0] = v6_ ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  req[4] = static_cast<uint8_t>(ident_ >> 8);
  req[5] = static_cast<uint8_t>(ident_ & 0xff);
  req[6] = static_cast<uint8_t>(seq >> 8);
  req[7] = static_cast<uint8_t>(seq & 0xff);
  std::memcpy(req.data() + kIcmpHeaderBytes, &tag_, sizeof(tag_));
  if (!v6_ && kind_ == Kind::Raw) {  // the kernel sums datagram sockets and all ICMPv6
    const uint16_t sum = internetChecksum(req.data(), req.size());
    req[2] = static_cast<uint8_t>(sum >> 8);
    req[3] = static_cast<uint8_t>(sum & 0xff);
  }
  const socklen_t alen = v6_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  const auto sent = Clock::now();
  if (::sendto(fd_, req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&addr_), alen) <
      0) {
    return makeError(errno, "stormguard active probe: echo request to " + target_);
  }
  const auto deadline =
      sent + std::chrono::duration_cast<Clock::duration>(
                 std::chrono::duration<double>(std::max(0.0, timeoutSeconds)));
  std::array<uint8_t, 1500> buf{};
  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) {
      return std::optional<double>{};
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    pollfd pfd{fd_, POLLIN, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(1, left.count())));
    if (rc < 0 && errno != EINTR) {
      return makeError(errno, "stormguard active probe: poll");
    }
    if (rc <= 0) {
      continue;
    }
    sockaddr_storage from{};
    socklen_t fromLen = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &fromLen);
    const auto received = Clock::now();
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      // A datagram socket reports the ICMP error of an earlier send (e.g. EHOSTUNREACH).
      return makeError(errno, "stormguard active probe: reply from " + target_);
    }
    if (isReply(buf.data(), static_cast<size_t>(n), from, seq)) {
      return std::optional<double>(
          std::chrono::duration<double, std::milli>(received - sent).count());
    }
  }
}

std::optional<double> blendRtt(std::optional<double> passiveMs, std::optional<double> activeMs,
                               double weight) {
  if (passiveMs && activeMs) {
    const double w = std::clamp(weight, 0.0, 1.0);
    return w * *activeMs + (1 - w) * *passiveMs;
  }
  return activeMs ? activeMs : passiveMs;
}

double activeSampleValiditySeconds(double intervalSeconds) {
  return std::clamp(3 * intervalSeconds, 5.0, 300.0);
}

}  // namespace sluice::stormguard
