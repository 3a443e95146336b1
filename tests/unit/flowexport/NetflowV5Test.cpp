// NetFlow v5 packets checked field by field against Cisco's v5 layout (header 24 bytes, records
// 48 bytes, at most 30 records, flow_sequence counting records).

#include "flowexport/NetflowV5.h"

#include <gtest/gtest.h>

#include <numeric>

#include "WireRead.h"

namespace sluice::flowexport {
namespace {

using test::be16;
using test::be32;

TEST(NetflowV5, HeaderAndRecordFieldByField) {
  NetflowV5Encoder enc(3, 7);
  const ExportRecord r = test::sampleRecord();
  auto packets = enc.encode(std::span(&r, 1), test::sampleClock());
  ASSERT_EQ(packets.size(), 1u);
  const auto& p = packets[0];
  ASSERT_EQ(p.size(), kV5HeaderBytes + kV5RecordBytes);
  EXPECT_EQ(be16(p, 0), 5);               // version
  EXPECT_EQ(be16(p, 2), 1);               // count
  EXPECT_EQ(be32(p, 4), 10'000u);         // sys_uptime ms
  EXPECT_EQ(be32(p, 8), 1'796'601'600u);  // unix_secs
  EXPECT_EQ(be32(p, 12), 500'000'000u);   // unix_nsecs
  EXPECT_EQ(be32(p, 16), 0u);             // flow_sequence of the first packet
  EXPECT_EQ(p[20], 3);                    // engine_type
  EXPECT_EQ(p[21], 7);                    // engine_id
  EXPECT_EQ(be16(p, 22), 0);              // sampling
  const size_t o = kV5HeaderBytes;
  EXPECT_EQ(p[o + 0], 192);  // srcaddr 192.0.2.10, network order
  EXPECT_EQ(p[o + 1], 0);
  EXPECT_EQ(p[o + 2], 2);
  EXPECT_EQ(p[o + 3], 10);
  EXPECT_EQ(be32(p, o + 4), 0x64400114u);            // dstaddr 100.64.1.20
  EXPECT_EQ(be32(p, o + 8), 0u);                     // nexthop
  EXPECT_EQ(be16(p, o + 12), kInterfaceInternet);    // input
  EXPECT_EQ(be16(p, o + 14), kInterfaceSubscriber);  // output
  EXPECT_EQ(be32(p, o + 16), 99u);                   // dPkts
  EXPECT_EQ(be32(p, o + 20), 123456u);               // dOctets
  EXPECT_EQ(be32(p, o + 24), 5'000u);                // First, sysUptime ms
  EXPECT_EQ(be32(p, o + 28), 9'250u);                // Last
  EXPECT_EQ(be16(p, o + 32), 443);                   // srcport
  EXPECT_EQ(be16(p, o + 34), 51234);                 // dstport
  EXPECT_EQ(p[o + 36], 0);                           // pad1
  EXPECT_EQ(p[o + 37], 0x01);                        // tcp_flags
  EXPECT_EQ(p[o + 38], 6);                           // prot
  EXPECT_EQ(p[o + 39], 0);                           // tos
  EXPECT_EQ(be32(p, o + 40), 0u);                    // src_as, dst_as
  EXPECT_EQ(be32(p, o + 44), 0u);                    // masks, pad2
}

TEST(NetflowV5, ThirtyRecordsPerPacketAndSequenceCountsRecords) {
  NetflowV5Encoder enc;
  std::vector<ExportRecord> records(65, test::sampleRecord());
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].srcPort = static_cast<uint16_t>(1000 + i);
  }
  auto packets = enc.encode(records, test::sampleClock());
  ASSERT_EQ(packets.size(), 3u);
  const uint16_t counts[] = {30, 30, 5};
  const uint32_t sequences[] = {0, 30, 60};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(be16(packets[i], 2), counts[i]);
    EXPECT_EQ(packets[i].size(), kV5HeaderBytes + counts[i] * kV5RecordBytes);
    EXPECT_EQ(be32(packets[i], 16), sequences[i]);
  }
  // Records stay in order across packets.
  EXPECT_EQ(be16(packets[1], kV5HeaderBytes + 32), 1030);
  EXPECT_EQ(be16(packets[2], kV5HeaderBytes + 4 * kV5RecordBytes + 32), 1064);
  EXPECT_EQ(enc.sequence(), 65u);
  auto next = enc.encode(std::span(records.data(), 1), test::sampleClock());
  EXPECT_EQ(be32(next.at(0), 16), 65u);
  EXPECT_TRUE(enc.encode({}, test::sampleClock()).empty());
}

TEST(NetflowV5, CountersAbove32BitsAreSplitNotSaturated) {
  ExportRecord big = test::sampleRecord();
  big.bytes = 10'000'000'000ull;  // 10 GB in one active-timeout interval
  big.packets = 6'700'000ull;
  auto parts = splitFor32BitCounters(big);
  ASSERT_EQ(parts.size(), 3u);
  uint64_t bytes = 0;
  uint64_t packets = 0;
  for (const auto& p : parts) {
    EXPECT_LE(p.bytes, 0xffffffffull);
    bytes += p.bytes;
    packets += p.packets;
  }
  EXPECT_EQ(bytes, big.bytes);
  EXPECT_EQ(packets, big.packets);

  NetflowV5Encoder enc;
  auto packetsOut = enc.encode(std::span(&big, 1), test::sampleClock());
  ASSERT_EQ(packetsOut.size(), 1u);
  ASSERT_EQ(be16(packetsOut[0], 2), 3);
  uint64_t wireBytes = 0;
  for (size_t i = 0; i < 3; ++i) {
    wireBytes += be32(packetsOut[0], kV5HeaderBytes + i * kV5RecordBytes + 20);
  }
  EXPECT_EQ(wireBytes, big.bytes);
  EXPECT_EQ(splitFor32BitCounters(test::sampleRecord()).size(), 1u);
}

TEST(ExportClock, BootRelativeStampsBecomeWallClock) {
  const ExportClock c = test::sampleClock();  // boot + 10 s = 1796601600.5
  EXPECT_EQ(c.wallMs(5'000'000'000ull), 1'796'601'595'500ull);
  EXPECT_EQ(c.wallMs(10'000'000'000ull), 1'796'601'600'500ull);
  EXPECT_EQ(c.wallMs(10'250'000'000ull), 1'796'601'600'750ull);  // stamp after the reading
  EXPECT_EQ(c.uptimeMs(), 10'000u);
  EXPECT_EQ(c.unixSeconds(), 1'796'601'600u);
  EXPECT_EQ(c.unixNanos(), 500'000'000u);
  // A collector's v5/v9 arithmetic: wall(first) = unix time - (sysUptime - First).
  const uint64_t collectorMs = uint64_t{c.unixSeconds()} * 1000 + c.unixNanos() / 1'000'000 -
                               (c.uptimeMs() - ExportClock::uptimeMs(5'000'000'000ull));
  EXPECT_EQ(collectorMs, c.wallMs(5'000'000'000ull));
  // 60 days of uptime: the 32-bit field wraps, differences stay right modulo 2^32.
  const ExportClock late{60ull * 86400 * 1'000'000'000, c.realtimeNs};
  const uint64_t first = late.monotonicNs - 3'000'000'000ull;
  EXPECT_EQ(static_cast<uint32_t>(late.uptimeMs() - ExportClock::uptimeMs(first)), 3000u);
  const ExportClock real = ExportClock::now();
  EXPECT_GT(real.realtimeNs, 1'700'000'000ull * 1'000'000'000ull);
  EXPECT_GT(real.monotonicNs, 0u);
}

}  // namespace
}  // namespace sluice::flowexport
