#include "synth/Addresses.h"

#include <array>
#include <stdexcept>

#include <fmt/format.h>

#include "common/IpNet.h"

namespace sluice::synth {

namespace {

constexpr uint32_t ipv4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// Vendors common in WISP and FTTH access networks (Ubiquiti, MikroTik, TP-Link, Cambium).
constexpr std::array<uint32_t, 10> kOuis = {0x245A4C, 0x788A20, 0xF09FC2, 0x7483C2, 0x488F5A,
                                            0x64D154, 0xCC2DE0, 0x50C7BF, 0x98DAC4, 0x000456};

std::string formatIpv6Prefix(uint16_t group2, uint16_t group3, uint32_t prefixLen) {
  IpNet net;
  net.isV4 = false;
  net.addr = {0x20, 0x01, 0x0d, 0xb8};
  net.addr[4] = static_cast<uint8_t>(group2 >> 8);
  net.addr[5] = static_cast<uint8_t>(group2 & 0xFF);
  net.addr[6] = static_cast<uint8_t>(group3 >> 8);
  net.addr[7] = static_cast<uint8_t>(group3 & 0xFF);
  net.prefixLen = static_cast<uint8_t>(prefixLen);
  return net.toString();
}

}  // namespace

std::string formatIpv4(uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xFF, (address >> 8) & 0xFF,
                     address & 0xFF);
}

Ipv4Allocator::Ipv4Allocator() {
  // 100.64.0.0/10 (RFC 6598 shared address space), then 10.0.0.0/8 (RFC 1918).
  pools_.push_back(
      Pool{ipv4(100, 64, 0, 0), ipv4(100, 128, 0, 0), ipv4(100, 64, 0, 1), ipv4(100, 128, 0, 0)});
  pools_.push_back(
      Pool{ipv4(10, 0, 0, 0), ipv4(11, 0, 0, 0), ipv4(10, 0, 0, 1), ipv4(11, 0, 0, 0)});
}

Ipv4Allocator::Pool& Ipv4Allocator::current(uint32_t size) {
  while (index_ < pools_.size()) {
    Pool& pool = pools_[index_];
    const uint32_t blockStart = (pool.blockFloor - size) & ~(size - 1);
    if (size == 1 ? pool.nextHost < pool.blockFloor : blockStart >= pool.nextHost) {
      return pool;
    }
    ++index_;
  }
  throw std::length_error("synth: IPv4 pools (100.64.0.0/10, 10.0.0.0/8) exhausted");
}

std::string Ipv4Allocator::host() {
  Pool& pool = current(1);
  const uint32_t address = pool.nextHost;
  pool.nextHost += 1;
  // Skip the .255 and .0 addresses: some CPE firmware refuses them.
  while ((pool.nextHost & 0xFF) == 0xFF || (pool.nextHost & 0xFF) == 0) {
    pool.nextHost += 1;
  }
  return formatIpv4(address);
}

std::string Ipv4Allocator::block(uint32_t prefixLen) {
  if (prefixLen < 24 || prefixLen > 31) {
    throw std::invalid_argument("synth: IPv4 block prefix length must be 24..31");
  }
  const uint32_t size = 1u << (32 - prefixLen);
  Pool& pool = current(size);
  const uint32_t start = (pool.blockFloor - size) & ~(size - 1);
  pool.blockFloor = start;
  return fmt::format("{}/{}", formatIpv4(start), prefixLen);
}

std::string Ipv6Allocator::prefix56() {
  if (next56_ >= (1u << 23)) {
    throw std::length_error("synth: IPv6 /56 pool (2001:db8::/33) exhausted");
  }
  const uint32_t k = next56_++;
  return formatIpv6Prefix(static_cast<uint16_t>(k >> 8), static_cast<uint16_t>((k & 0xFF) << 8),
                          56);
}

std::string Ipv6Allocator::prefix64() {
  if (next64_ >= (1u << 31)) {
    throw std::length_error("synth: IPv6 /64 pool (2001:db8:8000::/33) exhausted");
  }
  const uint32_t k = next64_++;
  return formatIpv6Prefix(static_cast<uint16_t>(0x8000 | (k >> 16)),
                          static_cast<uint16_t>(k & 0xFFFF), 64);
}

std::string macAddress(uint64_t index, uint64_t oui) {
  const uint32_t vendor = kOuis[oui % kOuis.size()];
  // Multiplying by an odd constant modulo 2^24 is a bijection; the XOR scatters low indices.
  const uint32_t low = (static_cast<uint32_t>(index * 0x9E3779u) ^ 0x5A5A5Au) & 0xFFFFFFu;
  return fmt::format("{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", vendor >> 16,
                     (vendor >> 8) & 0xFF, vendor & 0xFF, low >> 16, (low >> 8) & 0xFF, low & 0xFF);
}

}  // namespace sluice::synth
