#pragma once
// Reading big-endian fields back out of an encoded packet, for the byte-layout tests.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "flowexport/Record.h"

namespace sluice::flowexport::test {

inline uint16_t be16(const std::vector<uint8_t>& p, size_t at) {
  return static_cast<uint16_t>(p.at(at) << 8 | p.at(at + 1));
}
inline uint32_t be32(const std::vector<uint8_t>& p, size_t at) {
  return uint32_t{be16(p, at)} << 16 | be16(p, at + 2);
}
inline uint64_t be64(const std::vector<uint8_t>& p, size_t at) {
  return uint64_t{be32(p, at)} << 32 | be32(p, at + 4);
}

/// An IPv4 address in the data plane's v4-mapped form.
inline std::array<uint8_t, 16> v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}
/// 2001:db8::LAST.
inline std::array<uint8_t, 16> v6(uint8_t last) {
  return {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
}

/// A record with distinct values in every field.
inline ExportRecord sampleRecord(bool ipv6 = false) {
  ExportRecord r;
  r.ipv6 = ipv6;
  r.src = ipv6 ? v6(1) : v4(192, 0, 2, 10);
  r.dst = ipv6 ? v6(2) : v4(100, 64, 1, 20);
  r.srcPort = 443;
  r.dstPort = 51234;
  r.protocol = 6;
  r.tcpFlags = 0x01;
  r.bytes = 123456;
  r.packets = 99;
  r.firstNs = 5'000'000'000ull;  // 5 s after boot
  r.lastNs = 9'250'000'000ull;
  r.direction = Direction::kDownload;
  r.inputInterface = kInterfaceInternet;
  r.outputInterface = kInterfaceSubscriber;
  return r;
}

/// Boot 10 s ago, at 2026-12-07 00:00:00.5 UTC.
inline ExportClock sampleClock() {
  return ExportClock{10'000'000'000ull, 1'796'601'600'500'000'000ull};
}

}  // namespace sluice::flowexport::test
