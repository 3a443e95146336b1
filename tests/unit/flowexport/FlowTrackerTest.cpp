// The flow table -> delta records rules: idle end, FIN/RST end, active timeout, eviction,
// re-created entries, link-layer bytes removed, and the direction of each record.

#include "flowexport/FlowTracker.h"

#include <gtest/gtest.h>

#include <cstring>

#include "WireRead.h"

namespace sluice::flowexport {
namespace {

constexpr uint64_t kS = 1'000'000'000ull;

sluice_flow_key tcpKey(bool ipv6 = false) {
  sluice_flow_key k{};
  const auto local = ipv6 ? test::v6(20) : test::v4(100, 64, 1, 20);
  const auto remote = ipv6 ? test::v6(10) : test::v4(192, 0, 2, 10);
  std::memcpy(k.local, local.data(), 16);
  std::memcpy(k.remote, remote.data(), 16);
  k.local_port = 51234;
  k.remote_port = 443;
  k.proto = 6;
  return k;
}

sluice_flow flowWith(uint64_t startNs, uint64_t lastNs, uint64_t down, uint64_t downPackets,
                     uint64_t up, uint64_t upPackets) {
  sluice_flow f{};
  f.start_ns = startNs;
  f.last_ns = lastNs;
  f.bytes[SLUICE_DIR_DOWN] = down;
  f.packets[SLUICE_DIR_DOWN] = downPackets;
  f.bytes[SLUICE_DIR_UP] = up;
  f.packets[SLUICE_DIR_UP] = upPackets;
  return f;
}

struct Harness {
  FlowTracker tracker{TrackerOptions{30 * kS, 60 * kS, 1 * kS, 14}};
  std::vector<ExportRecord> observe(const sluice_flow_key& k, const sluice_flow& f, uint64_t now) {
    std::vector<ExportRecord> out;
    tracker.observe(std::span(&k, 1), std::span(&f, 1), now, out);
    return out;
  }
};

TEST(FlowTracker, IdleFlowIsReportedOnceWithBothDirections) {
  Harness h;
  const auto k = tcpKey();
  const auto f = flowWith(100 * kS, 105 * kS, 1'514'000, 1000, 66'000, 1000);
  EXPECT_TRUE(h.observe(k, f, 106 * kS).empty());  // active, not idle yet
  EXPECT_TRUE(h.observe(k, f, 134 * kS).empty());  // 29 s quiet
  auto out = h.observe(k, f, 135 * kS);            // 30 s quiet: ended
  ASSERT_EQ(out.size(), 2u);
  const ExportRecord& down = out[0];
  EXPECT_EQ(down.direction, Direction::kDownload);
  EXPECT_EQ(down.src, test::v4(192, 0, 2, 10));  // the remote end sent it
  EXPECT_EQ(down.dst, test::v4(100, 64, 1, 20));
  EXPECT_EQ(down.srcPort, 443);
  EXPECT_EQ(down.dstPort, 51234);
  EXPECT_EQ(down.bytes, 1'514'000u - 14'000);  // Ethernet headers removed: IP octets
  EXPECT_EQ(down.packets, 1000u);
  EXPECT_EQ(down.inputInterface, kInterfaceInternet);
  EXPECT_EQ(down.outputInterface, kInterfaceSubscriber);
  EXPECT_EQ(down.firstNs, 100 * kS);
  EXPECT_EQ(down.lastNs, 105 * kS);
  EXPECT_FALSE(down.ipv6);
  const ExportRecord& up = out[1];
  EXPECT_EQ(up.direction, Direction::kUpload);
  EXPECT_EQ(up.src, test::v4(100, 64, 1, 20));
  EXPECT_EQ(up.srcPort, 51234);
  EXPECT_EQ(up.dstPort, 443);
  EXPECT_EQ(up.bytes, 66'000u - 14'000);
  EXPECT_EQ(up.inputInterface, kInterfaceSubscriber);
  EXPECT_TRUE(h.observe(k, f, 200 * kS).empty());  // nothing new: not reported again
}

TEST(FlowTracker, ActiveTimeoutReportsDeltasThatSumToTheFlow) {
  Harness h;
  const auto k = tcpKey();
  uint64_t total = 0;
  uint64_t packets = 0;
  auto add = [&](const std::vector<ExportRecord>& out) {
    for (const auto& r : out) {
      if (r.direction == Direction::kDownload) {
        total += r.bytes + 14 * r.packets;
        packets += r.packets;
      }
    }
  };
  add(h.observe(k, flowWith(0, 30 * kS, 3'000'000, 2000, 10, 1), 30 * kS));
  EXPECT_EQ(packets, 0u);
  auto first = h.observe(k, flowWith(0, 60 * kS, 6'000'000, 4000, 10, 1), 60 * kS);
  add(first);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].firstNs, 0u);
  EXPECT_EQ(first[0].lastNs, 60 * kS);
  EXPECT_EQ(total, 6'000'000u);
  add(h.observe(k, flowWith(0, 90 * kS, 9'000'000, 6000, 10, 1), 90 * kS));
  auto second = h.observe(k, flowWith(0, 120 * kS, 12'500'000, 8500, 10, 1), 120 * kS);
  add(second);
  ASSERT_EQ(second.size(), 1u);  // the upload direction carried nothing new
  EXPECT_EQ(second[0].bytes, 6'500'000u - 4500 * 14);
  EXPECT_EQ(second[0].packets, 4500u);
  EXPECT_EQ(second[0].firstNs, 60 * kS);  // continues where the previous report ended
  auto last = h.observe(k, flowWith(0, 125 * kS, 13'000'000, 9000, 10, 1), 155 * kS);
  add(last);
  EXPECT_EQ(total, 13'000'000u);
  EXPECT_EQ(packets, 9000u);
}

TEST(FlowTracker, FinInBothDirectionsOrRstEndsAfterTheGrace) {
  Harness h;
  const auto k = tcpKey();
  auto f = flowWith(0, 10 * kS, 5000, 10, 800, 10);
  f.flags = SLUICE_FLOW_FIN_DOWN;
  EXPECT_TRUE(h.observe(k, f, 12 * kS).empty());  // one FIN: still open
  f.flags |= SLUICE_FLOW_FIN_UP;
  EXPECT_TRUE(h.observe(k, f, 10 * kS + kS / 2).empty());  // within the grace
  auto out = h.observe(k, f, 11 * kS);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].tcpFlags, 0x01);
  auto g = flowWith(50 * kS, 51 * kS, 5000, 10, 800, 10);
  g.flags = SLUICE_FLOW_RST;
  auto key2 = tcpKey();
  key2.local_port = 1;
  auto reset = h.observe(key2, g, 52 * kS);
  ASSERT_EQ(reset.size(), 2u);
  EXPECT_EQ(reset[1].tcpFlags, 0x04);
}

TEST(FlowTracker, EvictedFlowIsReportedWithItsLastCounters) {
  Harness h;
  const auto k = tcpKey(true);
  EXPECT_TRUE(h.observe(k, flowWith(0, 5 * kS, 2000, 2, 0, 0), 6 * kS).empty());
  std::vector<ExportRecord> out;
  h.tracker.observe({}, {}, 7 * kS, out);  // the entry left the table
  ASSERT_EQ(out.size(), 1u);               // one direction only: the other carried nothing
  EXPECT_TRUE(out[0].ipv6);
  EXPECT_EQ(out[0].bytes, 2000u - 28);
  EXPECT_EQ(out[0].src, test::v6(10));
  EXPECT_EQ(h.tracker.tracked(), 0u);
}

TEST(FlowTracker, RecreatedEntryCountsFromZero) {
  Harness h;
  const auto k = tcpKey();
  auto out = h.observe(k, flowWith(0, 5 * kS, 10'000, 10, 0, 0), 40 * kS);
  ASSERT_EQ(out.size(), 1u);
  // The LRU map dropped and re-created the entry: smaller counters, a new start.
  out = h.observe(k, flowWith(41 * kS, 42 * kS, 3000, 3, 0, 0), 80 * kS);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, 3000u - 42);
  EXPECT_EQ(out[0].firstNs, 41 * kS);
}

TEST(FlowTracker, FlushAllReportsWhatIsPending) {
  Harness h;
  const auto k = tcpKey();
  EXPECT_TRUE(h.observe(k, flowWith(0, 5 * kS, 1000, 1, 500, 1), 6 * kS).empty());
  std::vector<ExportRecord> out;
  h.tracker.flushAll(out);
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  h.tracker.flushAll(out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace sluice::flowexport
