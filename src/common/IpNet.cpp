#include "common/IpNet.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace sluice {

namespace {

void maskTo(std::array<uint8_t, 16>& a, uint8_t prefixLen) {
  for (int i = 0; i < 16; ++i) {
    const int bits = static_cast<int>(prefixLen) - i * 8;
    if (bits >= 8) {
      continue;
    }
    a[i] &= bits <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - bits));
  }
}

}  // namespace

std::optional<IpNet> IpNet::parse(std::string_view text) {
  if (text.empty() || text.size() > 64) {
    return std::nullopt;
  }
  std::string_view host = text;
  std::optional<unsigned> len;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    host = text.substr(0, slash);
    const auto lenText = text.substr(slash + 1);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), v);
    if (lenText.empty() || ec != std::errc{} || p != lenText.data() + lenText.size()) {
      return std::nullopt;
    }
    len = v;
  }
  char buf[65];
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';

  IpNet net;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    if (len && *len > 32) {
      return std::nullopt;
    }
    net.isV4 = true;
    net.addr[10] = 0xFF;
    net.addr[11] = 0xFF;
    std::memcpy(net.addr.data() + 12, &v4, 4);
    net.prefixLen = static_cast<uint8_t>(96 + len.value_or(32));
  } else if (inet_pton(AF_INET6, buf, &v6) == 1) {
    if (len && *len > 128) {
      return std::nullopt;
    }
    std::memcpy(net.addr.data(), &v6, 16);
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      return std::nullopt;  // belongs in the IPv4 column
    }
    net.prefixLen = static_cast<uint8_t>(len.value_or(128));
  } else {
    return std::nullopt;
  }
  auto masked = net.addr;
  maskTo(masked, net.prefixLen);
  if (masked != net.addr) {
    return std::nullopt;  // host bits set beyond the prefix: 10.0.0.1/24
  }
  return net;
}

std::string IpNet::toString() const {
  char buf[INET6_ADDRSTRLEN];
  if (isV4) {
    inet_ntop(AF_INET, addr.data() + 12, buf, sizeof buf);
    return prefixLen == 128 ? std::string(buf) : fmt::format("{}/{}", buf, prefixLen - 96);
  }
  inet_ntop(AF_INET6, addr.data(), buf, sizeof buf);
  return prefixLen == 128 ? std::string(buf) : fmt::format("{}/{}", buf, prefixLen);
}

bool IpNet::contains(const IpNet& other) const {
  if (other.prefixLen < prefixLen) {
    return false;
  }
  auto masked = other.addr;
  maskTo(masked, prefixLen);
  return masked == addr;
}

}  // namespace sluice
