#include "Frames.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "PacketBuilder.h"
#include "Topology.h"

namespace sluice::realframe {
namespace {

using bpftest::PacketBuilder;

std::vector<uint8_t> withMacs(std::vector<uint8_t> frame) {
  std::memcpy(frame.data(), kSinkMac, 6);
  std::memcpy(frame.data() + 6, kSourceMac, 6);
  return frame;
}

// kFlowsPerKind flows x kSeqSteps segments, flow after flow: frame (step j, flow f) has TCP
// source port 40000 + f and sequence number 1000 + j * 2^32 / kSeqSteps.
template <typename Make>
std::vector<std::vector<uint8_t>> flows(Make make) {
  std::vector<std::vector<uint8_t>> out;
  for (int j = 0; j < kSeqSteps; ++j) {
    for (int f = 0; f < kFlowsPerKind; ++f) {
      uint32_t seq = 1000u + static_cast<uint32_t>(j) * (0x1'0000'0000ull / kSeqSteps);
      out.push_back(withMacs(make(static_cast<uint16_t>(40000 + f), seq).build()));
    }
  }
  return out;
}

plan::AddressMapping mapping(const char* prefix, int32_t circuit, uint16_t major, uint16_t minor,
                             uint32_t cpu) {
  plan::AddressMapping m;
  m.prefix = *IpNet::parse(prefix);
  m.circuit = circuit;
  m.queue = static_cast<uint16_t>(major - 1);
  m.cpu = cpu;
  m.downClass = {major, minor};
  m.upClass = {major, minor};
  return m;
}

uint32_t reloadAddress(int i) {
  return 0x64400000u + static_cast<uint32_t>(i);
}  // 100.64.0.0+i

}  // namespace

std::vector<FrameKind> frameKinds() {
  // TCP segments with kPayloadBytes of data each (an IPv4 one is then a minimal 60-byte frame).
  FrameKind v4{"IPv4 TCP",
               flows([](uint16_t sp, uint32_t seq) {
                 return PacketBuilder()
                     .ip("203.0.113.5", "10.1.2.3")
                     .tcp(sp, 443, seq)
                     .payload(kPayloadBytes);
               }),
               {"1:30"}};
  FrameKind v6{"IPv6 TCP",
               flows([](uint16_t sp, uint32_t seq) {
                 return PacketBuilder()
                     .ip("2001:db8:ffff::1", "2001:db8:1::9")
                     .tcp(sp, 443, seq)
                     .payload(kPayloadBytes);
               }),
               {"2:40"}};
  FrameKind qinq{"QinQ + PPPoE IPv4",
                 flows([](uint16_t sp, uint32_t seq) {
                   return PacketBuilder()
                       .vlan(10, 0x88a8)
                       .vlan(20)
                       .pppoe()
                       .ip("203.0.113.5", "10.1.2.4")
                       .tcp(sp, 443, seq)
                       .payload(kPayloadBytes);
                 }),
                 {"2:34"}};
  FrameKind unknown{"unknown address",
                    flows([](uint16_t sp, uint32_t seq) {
                      return PacketBuilder()
                          .ip("203.0.113.5", "10.1.7.7")
                          .tcp(sp, 443, seq)
                          .payload(kPayloadBytes);
                    }),
                    {"1:2", "2:2"}};
  FrameKind mix{"mix (the four, round robin)", {}, {"1:30", "2:40", "2:34", "1:2", "2:2"}};
  for (size_t i = 0; i < v4.frames.size(); ++i) {
    for (const FrameKind* k : {&v4, &v6, &qinq, &unknown}) {
      mix.frames.push_back(k->frames[i]);
    }
  }
  return {v4, v6, qinq, unknown, mix};
}

FrameKind reloadFrames() {
  FrameKind k{"IPv4 TCP, 256 mapped subscribers", {}, {"1:30", "2:30"}};
  for (int i = 0; i < kReloadSubscribers; ++i) {
    uint32_t a = reloadAddress((i * 389) % kReloadMappings);
    std::string dst =
        fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    k.frames.push_back(withMacs(PacketBuilder().ip("203.0.113.5", dst).tcp(40000, 443).build()));
  }
  return k;
}

std::vector<plan::AddressMapping> benchMappings(uint32_t cpu) {
  std::vector<plan::AddressMapping> out;
  out.reserve(kReloadMappings + 3);
  out.push_back(mapping("10.1.2.3", 3, 1, 0x30, cpu));
  out.push_back(mapping("10.1.2.4", 4, 2, 0x34, cpu));
  out.push_back(mapping("2001:db8:1::/48", 5, 2, 0x40, cpu));
  for (int i = 0; i < kReloadMappings; ++i) {
    uint32_t a = reloadAddress(i);
    plan::AddressMapping m;
    m.prefix.isV4 = true;
    m.prefix.prefixLen = 128;
    m.prefix.addr[10] = 0xff;
    m.prefix.addr[11] = 0xff;
    uint32_t be = htonl(a);
    std::memcpy(&m.prefix.addr[12], &be, 4);
    m.circuit = 10 + i;
    m.queue = static_cast<uint16_t>(i % 2);
    m.cpu = cpu;
    m.downClass = {static_cast<uint16_t>(1 + i % 2), 0x30};
    m.upClass = m.downClass;
    out.push_back(m);
  }
  return out;
}

void writeTrafgenConfig(const std::vector<std::vector<uint8_t>>& frames, const std::string& path) {
  std::ofstream f(path);
  for (const auto& frame : frames) {
    f << "{ ";
    for (size_t i = 0; i < frame.size(); ++i) {
      f << fmt::format("{}0x{:02x}", i ? ", " : "", frame[i]);
    }
    f << " }\n";
  }
  if (!f.good()) {
    throw std::runtime_error("cannot write trafgen configuration " + path);
  }
}

}  // namespace sluice::realframe
