// The exporter against collectors nobody here wrote: one FlowExporter with three collectors at
// once (NetFlow v5, NetFlow v9 and IPFIX, each an nfcapd on a loopback port, read back with
// nfdump) and tshark capturing the IPFIX stream and decoding it with its own dissector. The flow
// table fed in holds an IPv4 TCP flow reported twice (active timeout, then FIN), a one-way IPv4
// UDP flow (idle timeout) and an IPv6 TCP flow; the decoded records must carry each flow's
// addresses, ports, protocol, direction and exact byte and packet sums.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>

#include "CollectorSupport.h"
#include "flowexport/Exporter.h"

namespace sluice::flowexport {
namespace {

constexpr uint64_t kS = 1'000'000'000ull;

struct Entry {
  sluice_flow_key key{};
  sluice_flow flow{};
};

Entry entry(const char* local, const char* remote, uint16_t localPort, uint16_t remotePort,
            uint8_t proto) {
  Entry e;
  auto put = [](const char* text, uint8_t(&out)[16]) {
    if (inet_pton(AF_INET6, text, out) != 1) {
      uint8_t v4[4];
      inet_pton(AF_INET, text, v4);
      std::memset(out, 0, 16);
      out[10] = out[11] = 0xff;
      std::memcpy(out + 12, v4, 4);
    }
  };
  put(local, e.key.local);
  put(remote, e.key.remote);
  e.key.local_port = localPort;
  e.key.remote_port = remotePort;
  e.key.proto = proto;
  return e;
}

void setCounts(Entry& e, uint64_t down, uint64_t downPackets, uint64_t up, uint64_t upPackets) {
  e.flow.bytes[SLUICE_DIR_DOWN] = down;
  e.flow.packets[SLUICE_DIR_DOWN] = downPackets;
  e.flow.bytes[SLUICE_DIR_UP] = up;
  e.flow.packets[SLUICE_DIR_UP] = upPackets;
}

void tick(FlowExporter& exporter, const std::vector<Entry>& table, const ExportClock& clock) {
  std::vector<sluice_flow_key> keys;
  std::vector<sluice_flow> flows;
  for (const Entry& e : table) {
    keys.push_back(e.key);
    flows.push_back(e.flow);
  }
  exporter.tick(keys, flows, clock);
}

/// What a collector must show: summed per (src, dst, sport, dport, proto).
struct Expected {
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint32_t input = 0;
  uint32_t output = 0;
  int direction = 0;
  bool ipv6 = false;
  double firstUnix = 0;  ///< wall clock of the earliest record's start
};
using FlowId = std::tuple<std::string, std::string, uint16_t, uint16_t, int>;

bool haveTools() {
  for (const char* tool : {"nfcapd", "nfdump", "tshark"}) {
    auto r = process::run({"sh", "-c", std::string("command -v ") + tool});
    if (!r || r->exitCode != 0) {
      return false;
    }
  }
  return true;
}

void checkDecoded(const std::string& who, const std::vector<test::DecodedFlow>& decoded,
                  const std::map<FlowId, Expected>& expected, bool hasDirection) {
  std::map<FlowId, Expected> got;
  for (const test::DecodedFlow& d : decoded) {
    Expected& g = got[FlowId{d.src, d.dst, d.srcPort, d.dstPort, d.protocol}];
    g.bytes += d.bytes;
    g.packets += d.packets;
    g.input = d.input;
    g.output = d.output;
    g.direction = d.direction;
    g.firstUnix = g.firstUnix == 0 ? d.startUnix : std::min(g.firstUnix, d.startUnix);
  }
  std::string listing;
  for (const auto& [id, g] : got) {
    listing += fmt::format("  {}:{} -> {}:{} proto {}: {} bytes {} packets in {} out {} dir {}\n",
                           std::get<0>(id), std::get<2>(id), std::get<1>(id), std::get<3>(id),
                           std::get<4>(id), g.bytes, g.packets, g.input, g.output, g.direction);
  }
  EXPECT_EQ(got.size(), expected.size()) << who << " decoded:\n" << listing;
  SCOPED_TRACE(who + " decoded:\n" + listing);
  for (const auto& [id, want] : expected) {
    SCOPED_TRACE(fmt::format("{}: {} {} -> {} {} proto {}", who, std::get<0>(id), std::get<2>(id),
                             std::get<1>(id), std::get<3>(id), std::get<4>(id)));
    auto it = got.find(id);
    ASSERT_NE(it, got.end()) << "flow missing";
    EXPECT_EQ(it->second.bytes, want.bytes);
    EXPECT_EQ(it->second.packets, want.packets);
    EXPECT_EQ(it->second.input, want.input);
    EXPECT_EQ(it->second.output, want.output);
    if (hasDirection) {
      EXPECT_EQ(it->second.direction, want.direction);
    }
    // v5/v9 carry seconds in the header: a collector's start times are within 1 s.
    EXPECT_NEAR(it->second.firstUnix, want.firstUnix, 1.5);
  }
}

TEST(FlowCollectors, NfdumpDecodesV5V9AndIpfixAndTsharkDecodesIpfix) {
  if (!haveTools()) {
    GTEST_SKIP() << "nfcapd, nfdump or tshark missing (tools/install-deps.sh installs them)";
  }
  if (geteuid() != 0) {
    GTEST_SKIP() << "tshark needs root to capture on lo";
  }
  const uint16_t p5 = test::freeUdpPort();
  const uint16_t p9 = test::freeUdpPort();
  const uint16_t p10 = test::freeUdpPort();
  auto v5 = test::Nfcapd::start(p5);
  auto v9 = test::Nfcapd::start(p9);
  auto ipfix = test::Nfcapd::start(p10);
  ASSERT_TRUE(v5 && v9 && ipfix) << "nfcapd did not start";
  auto tshark = test::TsharkCapture::start(p10);
  ASSERT_TRUE(tshark.has_value()) << tshark.error().message();

  FlowSettings settings;
  settings.enabled = true;
  settings.flowTimeoutSeconds = 30;
  settings.activeTimeoutSeconds = 1;
  settings.templateRefreshSeconds = 60;
  settings.collectors = {{"127.0.0.1", p5, WireFormat::kNetflowV5},
                         {"127.0.0.1", p9, WireFormat::kNetflowV9},
                         {"127.0.0.1", p10, WireFormat::kIpfix}};
  auto exporter = FlowExporter::create(settings, 14);
  ASSERT_TRUE(exporter.has_value()) << exporter.error().message();

  // Reading A: the TCP flow 2 s old (active timeout: reported), the UDP flow idle for 35 s.
  const ExportClock a = ExportClock::now();
  Entry tcp4 = entry("100.64.1.20", "192.0.2.10", 51234, 443, 6);
  tcp4.flow.start_ns = a.monotonicNs - 2 * kS;
  tcp4.flow.last_ns = a.monotonicNs;
  setCounts(tcp4, 1'514'000, 1000, 66'000, 1000);
  Entry udp4 = entry("100.64.1.21", "198.51.100.7", 5000, 53, 17);
  udp4.flow.start_ns = a.monotonicNs - 40 * kS;
  udp4.flow.last_ns = a.monotonicNs - 35 * kS;
  setCounts(udp4, 0, 0, 10 * 1042, 10);
  tick(**exporter, {tcp4, udp4}, a);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  // Reading B: the TCP flow closed (FIN both ways) more than the grace ago.
  const ExportClock b = ExportClock::now();
  tcp4.flow.last_ns = b.monotonicNs - 1'100'000'000ull;
  tcp4.flow.flags = SLUICE_FLOW_FIN_DOWN | SLUICE_FLOW_FIN_UP;
  setCounts(tcp4, 3'028'000, 2000, 132'000, 2000);
  tick(**exporter, {tcp4, udp4}, b);
  // Reading C: only an IPv6 flow, closed (the IPv4 ones left the table, nothing pending).
  const ExportClock c = ExportClock::now();
  Entry tcp6 = entry("2001:db8:1::20", "2001:db8:2::10", 40000, 8080, 6);
  tcp6.flow.start_ns = c.monotonicNs - 3 * kS;
  tcp6.flow.last_ns = c.monotonicNs - 2 * kS;
  tcp6.flow.flags = SLUICE_FLOW_RST;
  setCounts(tcp6, 1'000'000, 700, 50'000, 700);
  tick(**exporter, {tcp6}, c);
  (*exporter)->stop();

  const auto counters = (*exporter)->counters();
  ASSERT_EQ(counters.size(), 3u);
  EXPECT_EQ(counters[0].recordsSent, 5u);     // v5: IPv4 only
  EXPECT_EQ(counters[0].recordsDropped, 2u);  // the IPv6 flow's two records
  EXPECT_EQ(counters[1].recordsSent, 7u);
  EXPECT_EQ(counters[2].recordsSent, 7u);
  EXPECT_EQ(counters[1].recordsDropped + counters[2].recordsDropped, 0u);

  auto wall = [&a](uint64_t mono) { return static_cast<double>(a.wallMs(mono)) / 1000.0; };
  std::map<FlowId, Expected> want4{
      {{"192.0.2.10", "100.64.1.20", 443, 51234, 6},
       {3'000'000, 2000, 1, 2, 0, false, wall(tcp4.flow.start_ns)}},
      {{"100.64.1.20", "192.0.2.10", 51234, 443, 6},
       {104'000, 2000, 2, 1, 1, false, wall(tcp4.flow.start_ns)}},
      {{"100.64.1.21", "198.51.100.7", 5000, 53, 17},
       {10'280, 10, 2, 1, 1, false, wall(udp4.flow.start_ns)}},
  };
  std::map<FlowId, Expected> wantAll = want4;
  wantAll[{"2001:db8:2::10", "2001:db8:1::20", 8080, 40000, 6}] =
      Expected{990'200, 700, 1, 2, 0, true, wall(tcp6.flow.start_ns)};
  wantAll[{"2001:db8:1::20", "2001:db8:2::10", 40000, 8080, 6}] =
      Expected{40'200, 700, 2, 1, 1, true, wall(tcp6.flow.start_ns)};

  struct Case {
    const char* name;
    test::Nfcapd* collector;
    const std::map<FlowId, Expected>* want;
    bool direction;
  };
  for (const Case& k :
       {Case{"nfdump v5", &*v5, &want4, false}, Case{"nfdump v9", &*v9, &wantAll, true},
        Case{"nfdump IPFIX", &*ipfix, &wantAll, true}}) {
    std::string log;
    auto decoded = k.collector->stopAndRead(log);
    ASSERT_TRUE(decoded.has_value()) << k.name << ": " << decoded.error().message();
    checkDecoded(k.name, *decoded, *k.want, k.direction);
    // nfcapd checks the sequence numbers of every stream (v5: records, v9: packets, IPFIX:
    // data records) and counts malformed packets.
    EXPECT_NE(log.find("Sequence Errors: 0"), std::string::npos) << k.name << "\n" << log;
    EXPECT_NE(log.find("Bad Packets: 0"), std::string::npos) << k.name << "\n" << log;
  }
  auto decoded = tshark->stopAndDecode();
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
  checkDecoded("tshark IPFIX", *decoded, wantAll, true);
}

}  // namespace
}  // namespace sluice::flowexport
