// The exporter's own behaviour over a loopback UDP socket (no privileges): templates on the
// timer and not with every packet, v5 dropping IPv6 records into the dropped counter, counters
// and their Prometheus text.

#include "flowexport/Exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "WireRead.h"
#include "config/ConfigLoader.h"

namespace sluice::flowexport {
namespace {

constexpr uint64_t kS = 1'000'000'000ull;

/// A UDP socket on 127.0.0.1 standing in for a collector.
struct Receiver {
  int fd = -1;
  uint16_t port = 0;
  Receiver() {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Receiver() { close(fd); }
  /// Every packet that arrives within `ms`.
  std::vector<std::vector<uint8_t>> drain(int ms = 300) {
    std::vector<std::vector<uint8_t>> out;
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, ms) > 0) {
      std::vector<uint8_t> buf(65536);
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      buf.resize(static_cast<size_t>(std::max<ssize_t>(n, 0)));
      out.push_back(std::move(buf));
      ms = 50;
    }
    return out;
  }
};

sluice_flow_key key(bool ipv6) {
  sluice_flow_key k{};
  const auto l = ipv6 ? test::v6(20) : test::v4(100, 64, 0, 2);
  const auto r = ipv6 ? test::v6(10) : test::v4(192, 0, 2, 1);
  std::memcpy(k.local, l.data(), 16);
  std::memcpy(k.remote, r.data(), 16);
  k.local_port = 1000;
  k.remote_port = 2000;
  k.proto = 17;
  return k;
}

sluice_flow idleFlow(uint64_t lastNs) {
  sluice_flow f{};
  f.start_ns = lastNs - kS;
  f.last_ns = lastNs;
  f.bytes[SLUICE_DIR_UP] = 1042;
  f.packets[SLUICE_DIR_UP] = 1;
  return f;
}

FlowSettings settingsFor(uint16_t port, WireFormat format) {
  FlowSettings s;
  s.enabled = true;
  s.flowTimeoutSeconds = 5;
  s.templateRefreshSeconds = 10;
  s.collectors = {{"127.0.0.1", port, format}};
  return s;
}

ExportClock at(uint64_t monoNs) {
  return ExportClock{monoNs, 1'796'601'600ull * kS + monoNs};
}

TEST(FlowExporter, TemplatesGoOutOnTheirTimerNotWithEveryPacket) {
  Receiver rx;
  auto e = FlowExporter::create(settingsFor(rx.port, WireFormat::kIpfix), 14);
  ASSERT_TRUE(e.has_value()) << e.error().message();
  (*e)->tick({}, {}, at(100 * kS));  // first tick: templates, even without records
  auto first = rx.drain();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(test::be16(first[0], 16), 2);  // a template set
  const sluice_flow_key k = key(false);
  const sluice_flow f = idleFlow(100 * kS);
  (*e)->tick(std::span(&k, 1), std::span(&f, 1), at(106 * kS));  // idle: one record
  auto data = rx.drain();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(test::be16(data[0], 16), kTemplateIpv4) << "no templates before 10 s passed";
  EXPECT_EQ(test::be32(data[0], 8), 0u);  // no data record before this message
  (*e)->tick(std::span(&k, 1), std::span(&f, 1), at(109 * kS));
  EXPECT_TRUE(rx.drain(150).empty()) << "nothing due: nothing sent";
  (*e)->tick(std::span(&k, 1), std::span(&f, 1), at(110 * kS));  // 10 s after the first
  auto refresh = rx.drain();
  ASSERT_EQ(refresh.size(), 1u);
  EXPECT_EQ(test::be16(refresh[0], 16), 2);
  EXPECT_EQ(test::be32(refresh[0], 8), 1u);  // the one data record sent so far
  (*e)->stop();
  const auto c = (*e)->counters();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].recordsSent, 1u);
  EXPECT_EQ(c[0].packetsSent, 3u);
  EXPECT_EQ(c[0].bytesSent, first[0].size() + data[0].size() + refresh[0].size());
}

TEST(FlowExporter, V5CountsIpv6RecordsAsDroppedAndMetricsSayIt) {
  Receiver rx;
  auto e = FlowExporter::create(settingsFor(rx.port, WireFormat::kNetflowV5), 14);
  ASSERT_TRUE(e.has_value());
  const sluice_flow_key keys[] = {key(false), key(true)};
  const sluice_flow flows[] = {idleFlow(10 * kS), idleFlow(10 * kS)};
  (*e)->tick(keys, flows, at(20 * kS));
  auto packets = rx.drain();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(test::be16(packets[0], 0), 5);
  EXPECT_EQ(test::be16(packets[0], 2), 1);
  EXPECT_EQ(test::be32(packets[0], 24 + 20), 1042u - 14);  // dOctets: the IP packet
  (*e)->stop();
  const std::string text = (*e)->prometheus();
  EXPECT_NE(text.find("sluice_flow_export_records_total{collector=\"127.0.0.1:" +
                      std::to_string(rx.port) + "\",version=\"5\",result=\"sent\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("version=\"5\",result=\"dropped\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE sluice_flow_export_packets_total counter"), std::string::npos);
  EXPECT_NE(text.find("sluice_flow_export_bytes_total{collector=\"127.0.0.1:" +
                      std::to_string(rx.port) + "\",version=\"5\"} 72\n"),
            std::string::npos)
      << text;
}

TEST(FlowExporter, StopExportsWhatIsPendingAndRefusesNoCollector) {
  Receiver rx;
  auto e = FlowExporter::create(settingsFor(rx.port, WireFormat::kNetflowV9), 14);
  ASSERT_TRUE(e.has_value());
  const sluice_flow_key k = key(false);
  const sluice_flow f = idleFlow(10 * kS);
  (*e)->tick(std::span(&k, 1), std::span(&f, 1), at(11 * kS));  // not idle yet: templates only
  EXPECT_EQ(rx.drain().size(), 1u);
  (*e)->stop();  // shutdown: the pending record goes out
  auto last = rx.drain();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(test::be16(last[0], 0), 9);
  EXPECT_EQ(test::be16(last[0], 2), 1);
  EXPECT_EQ(test::be32(last[0], 12), 1u);  // the second packet of the stream
  FlowSettings none;
  auto refused = FlowExporter::create(none, 14);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().errnum, EINVAL);
}

TEST(FlowExporter, FromConfigHonoursTheSwitchAndTheStickHeader) {
  Receiver rx;
  auto load = [&rx](bool enabled) {
    const std::string text = fmt::format(
        "[single_interface]\ninterface = \"eth0\"\ninternet_vlan = 2\nnetwork_vlan = 3\n"
        "[queues]\ndownlink_bandwidth_mbps = 100\nuplink_bandwidth_mbps = 100\n"
        "[flows]\nnetflow_enabled = {}\nnetflow_ip = \"127.0.0.1\"\nnetflow_port = {}\n"
        "netflow_version = 5\n",
        enabled, rx.port);
    Diagnostics diags;
    auto config = config::parseConfig(text, "lqos.conf", diags);
    EXPECT_TRUE(config.has_value());
    return FlowExporter::fromConfig(config.value_or(config::Config{}), "lqos.conf");
  };
  auto off = load(false);
  ASSERT_TRUE(off.has_value()) << off.error().message();
  EXPECT_EQ(*off, nullptr);  // LibreQoS would export here: ip, port and version are set
  auto on = load(true);
  ASSERT_TRUE(on.has_value()) << on.error().message();
  ASSERT_NE(*on, nullptr);
  const sluice_flow_key k = key(false);
  sluice_flow f = idleFlow(10 * kS);
  f.bytes[SLUICE_DIR_UP] = 1046;  // one tagged frame: 14 + 4 + 1028 bytes of IP
  (*on)->tick(std::span(&k, 1), std::span(&f, 1), at(41 * kS));  // idle 31 s > 30 s default
  auto packets = rx.drain();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(test::be32(packets[0], 24 + 20), 1028u);  // on a stick 18 bytes of link header
}

}  // namespace
}  // namespace sluice::flowexport
