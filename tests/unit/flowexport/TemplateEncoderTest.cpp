// NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) packets checked field by field: headers, template
// sets, data sets, padding, and the two formats' different sequence numbers.

#include "flowexport/TemplateEncoder.h"

#include <gtest/gtest.h>

#include <utility>

#include "WireRead.h"

namespace sluice::flowexport {
namespace {

using test::be16;
using test::be32;
using test::be64;

// (element id, length) in template order; the times differ per format.
const std::vector<std::pair<uint16_t, uint16_t>> kV4Common = {
    {8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {1, 8}, {2, 8}, {10, 4}, {14, 4}, {61, 1}};

void expectTemplate(const std::vector<uint8_t>& p, size_t at, uint16_t id, bool ipv6, bool ipfix) {
  EXPECT_EQ(be16(p, at), id);
  EXPECT_EQ(be16(p, at + 2), 13);  // field count
  auto fields = kV4Common;
  if (ipv6) {
    fields[0] = {27, 16};
    fields[1] = {28, 16};
  }
  if (ipfix) {
    fields.push_back({152, 8});
    fields.push_back({153, 8});
  } else {
    fields.push_back({22, 4});
    fields.push_back({21, 4});
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    EXPECT_EQ(be16(p, at + 4 + 4 * i), fields[i].first) << "field " << i;
    EXPECT_EQ(be16(p, at + 6 + 4 * i), fields[i].second) << "field " << i;
  }
}

// The fields common to both formats of a data record at `at`; returns the offset of the times.
size_t expectRecordHead(const std::vector<uint8_t>& p, size_t at, const ExportRecord& r) {
  const size_t a = r.ipv6 ? 16 : 4;
  for (size_t i = 0; i < a; ++i) {
    EXPECT_EQ(p[at + i], r.src[(r.ipv6 ? 0 : 12) + i]) << "src byte " << i;
    EXPECT_EQ(p[at + a + i], r.dst[(r.ipv6 ? 0 : 12) + i]) << "dst byte " << i;
  }
  size_t o = at + 2 * a;
  EXPECT_EQ(be16(p, o), r.srcPort);
  EXPECT_EQ(be16(p, o + 2), r.dstPort);
  EXPECT_EQ(p[o + 4], r.protocol);
  EXPECT_EQ(p[o + 5], r.tcpFlags);
  EXPECT_EQ(be64(p, o + 6), r.bytes);
  EXPECT_EQ(be64(p, o + 14), r.packets);
  EXPECT_EQ(be32(p, o + 22), r.inputInterface);
  EXPECT_EQ(be32(p, o + 26), r.outputInterface);
  EXPECT_EQ(p[o + 30], static_cast<uint8_t>(r.direction));
  return o + 31;
}

TEST(NetflowV9, TemplatesAndDataSetsFieldByField) {
  TemplateEncoder enc(WireFormat::kNetflowV9, 77);
  ExportRecord r4 = test::sampleRecord(false);
  ExportRecord r6 = test::sampleRecord(true);
  r6.direction = Direction::kUpload;
  r6.inputInterface = kInterfaceSubscriber;
  r6.outputInterface = kInterfaceInternet;
  const std::vector<ExportRecord> records{r4, r6};
  auto packets = enc.encode(records, test::sampleClock(), true);
  ASSERT_EQ(packets.size(), 1u);
  const auto& p = packets[0].bytes;
  EXPECT_EQ(packets[0].dataRecords, 2u);
  EXPECT_EQ(enc.recordBytes(false), 47u);
  EXPECT_EQ(enc.recordBytes(true), 71u);
  ASSERT_EQ(p.size(), 20u + 116 + 52 + 76);
  EXPECT_EQ(be16(p, 0), 9);               // version
  EXPECT_EQ(be16(p, 2), 4);               // count: 2 template records + 2 data records
  EXPECT_EQ(be32(p, 4), 10'000u);         // sysUptime
  EXPECT_EQ(be32(p, 8), 1'796'601'600u);  // unix_secs
  EXPECT_EQ(be32(p, 12), 0u);             // package sequence
  EXPECT_EQ(be32(p, 16), 77u);            // source id
  EXPECT_EQ(be16(p, 20), 0);              // template flowset id
  EXPECT_EQ(be16(p, 22), 116);            // its length: 4 + 2 × (4 + 13 × 4)
  expectTemplate(p, 24, kTemplateIpv4, false, false);
  expectTemplate(p, 24 + 56, kTemplateIpv6, true, false);
  EXPECT_EQ(be16(p, 136), kTemplateIpv4);  // data flowset 256
  EXPECT_EQ(be16(p, 138), 52);             // 4 + 47, padded to 52
  size_t t = expectRecordHead(p, 140, r4);
  EXPECT_EQ(be32(p, t), 5'000u);      // FIRST_SWITCHED, sysUptime ms
  EXPECT_EQ(be32(p, t + 4), 9'250u);  // LAST_SWITCHED
  EXPECT_EQ(p[187], 0);               // the padding byte
  EXPECT_EQ(be16(p, 188), kTemplateIpv6);
  EXPECT_EQ(be16(p, 190), 76);  // 4 + 71, padded to 76
  t = expectRecordHead(p, 192, r6);
  EXPECT_EQ(be32(p, t), 5'000u);
  EXPECT_EQ(p[263], 0);
}

TEST(NetflowV9, SequenceCountsPacketsTemplatesOnlyWhenAsked) {
  TemplateEncoder enc(WireFormat::kNetflowV9, 0);
  const std::vector<ExportRecord> one{test::sampleRecord()};
  auto a = enc.encode(one, test::sampleClock(), false);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(be32(a[0].bytes, 12), 0u);
  EXPECT_EQ(be16(a[0].bytes, 2), 1);               // one data record, no templates
  EXPECT_EQ(be16(a[0].bytes, 20), kTemplateIpv4);  // starts with the data flowset
  std::vector<ExportRecord> many(100, test::sampleRecord());
  auto b = enc.encode(many, test::sampleClock(), false);
  ASSERT_GT(b.size(), 3u);
  uint32_t records = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(be32(b[i].bytes, 12), 1u + i);  // one per packet
    EXPECT_LE(b[i].bytes.size(), kMaxPacketBytes);
    EXPECT_EQ(b[i].bytes.size() % 4, 0u);
    EXPECT_EQ(be16(b[i].bytes, 2), b[i].dataRecords);
    records += b[i].dataRecords;
  }
  EXPECT_EQ(records, 100u);
  auto templatesOnly = enc.encode({}, test::sampleClock(), true);
  ASSERT_EQ(templatesOnly.size(), 1u);
  EXPECT_EQ(be16(templatesOnly[0].bytes, 2), 2);  // the two template records
  EXPECT_EQ(templatesOnly[0].bytes.size(), 20u + 116);
  EXPECT_EQ(be32(templatesOnly[0].bytes, 12), 1u + b.size());
  EXPECT_TRUE(enc.encode({}, test::sampleClock(), false).empty());
}

TEST(Ipfix, MessageHeaderTemplateSetAndWallClockTimes) {
  TemplateEncoder enc(WireFormat::kIpfix, 4242);
  const ExportRecord r4 = test::sampleRecord(false);
  auto packets = enc.encode(std::span(&r4, 1), test::sampleClock(), true);
  ASSERT_EQ(packets.size(), 1u);
  const auto& p = packets[0].bytes;
  EXPECT_EQ(enc.recordBytes(false), 55u);
  ASSERT_EQ(p.size(), 16u + 116 + 60);    // 4 + 55 padded to 60
  EXPECT_EQ(be16(p, 0), 10);              // version
  EXPECT_EQ(be16(p, 2), p.size());        // length of the whole message
  EXPECT_EQ(be32(p, 4), 1'796'601'600u);  // export time, seconds
  EXPECT_EQ(be32(p, 8), 0u);              // data records before this message
  EXPECT_EQ(be32(p, 12), 4242u);          // observation domain
  EXPECT_EQ(be16(p, 16), 2);              // template set id
  EXPECT_EQ(be16(p, 18), 116);
  expectTemplate(p, 20, kTemplateIpv4, false, true);
  expectTemplate(p, 20 + 56, kTemplateIpv6, true, true);
  EXPECT_EQ(be16(p, 132), kTemplateIpv4);
  EXPECT_EQ(be16(p, 134), 60);
  const size_t t = expectRecordHead(p, 136, r4);
  EXPECT_EQ(be64(p, t), 1'796'601'595'500ull);      // flowStartMilliseconds: boot+5 s
  EXPECT_EQ(be64(p, t + 8), 1'796'601'599'750ull);  // flowEndMilliseconds: boot+9.25 s
  for (size_t i = 136 + 55; i < p.size(); ++i) {
    EXPECT_EQ(p[i], 0) << "padding byte " << i;
  }
}

TEST(Ipfix, SequenceCountsDataRecordsNotTemplatesOrMessages) {
  TemplateEncoder enc(WireFormat::kIpfix, 1);
  std::vector<ExportRecord> mixed;
  for (int i = 0; i < 60; ++i) {
    mixed.push_back(test::sampleRecord(i % 3 == 0));
  }
  auto a = enc.encode(mixed, test::sampleClock(), true);
  ASSERT_GT(a.size(), 2u);
  uint32_t before = 0;
  for (const auto& m : a) {
    EXPECT_EQ(be32(m.bytes, 8), before);
    EXPECT_EQ(be16(m.bytes, 2), m.bytes.size());
    EXPECT_LE(m.bytes.size(), kMaxPacketBytes);
    // Walk the sets: each length is a multiple of 4 and they fill the message exactly.
    size_t at = 16;
    uint32_t records = 0;
    while (at < m.bytes.size()) {
      const uint16_t id = be16(m.bytes, at);
      const uint16_t len = be16(m.bytes, at + 2);
      EXPECT_EQ(len % 4, 0u);
      ASSERT_GE(len, 4u);
      if (id == kTemplateIpv4 || id == kTemplateIpv6) {
        records += (len - 4) / enc.recordBytes(id == kTemplateIpv6);
      } else {
        EXPECT_EQ(id, 2);
        EXPECT_EQ(&m, &a.front()) << "templates only in the first message";
      }
      at += len;
    }
    EXPECT_EQ(at, m.bytes.size());
    EXPECT_EQ(records, m.dataRecords);
    before += m.dataRecords;
  }
  EXPECT_EQ(before, 60u);
  auto templatesOnly = enc.encode({}, test::sampleClock(), true);
  EXPECT_EQ(be32(templatesOnly.at(0).bytes, 8), 60u);
  EXPECT_EQ(enc.sequence(), 60u);  // a template-only message does not advance it
}

}  // namespace
}  // namespace sluice::flowexport
