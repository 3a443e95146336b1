// Golden-byte tests: every encoder's request must equal, byte for byte, what iproute2's `tc`
// sent for the equivalent command (captured by tests/data/tc/capture.sh; see its README). The
// netlink sequence number and port id (bytes 8..15) are transport state and are not compared.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "netlink/Message.h"
#include "tc/Cake.h"
#include "tc/Fifo.h"
#include "tc/FqCodel.h"
#include "tc/Htb.h"
#include "tc/Mq.h"

namespace sluice::tc {
namespace {

std::vector<uint8_t> readBlob(const std::string& name) {
  std::ifstream in(std::string(SLUICE_TEST_DATA_DIR) + "/tc/" + name + ".bin", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int blobIfindex() {
  std::ifstream in(std::string(SLUICE_TEST_DATA_DIR) + "/tc/ifindex.txt");
  int ifindex = 0;
  in >> ifindex;
  return ifindex;
}

std::string hexDiff(const std::vector<uint8_t>& want, const std::vector<uint8_t>& got) {
  std::string out;
  const size_t n = std::max(want.size(), got.size());
  for (size_t i = 0; i < n; ++i) {
    const int w = i < want.size() ? want[i] : -1;
    const int g = i < got.size() ? got[i] : -1;
    if (w != g) {
      char line[80];
      std::snprintf(line, sizeof(line), "  offset %zu (0x%zx): tc %02x, ours %02x\n", i, i,
                    w & 0xff, g & 0xff);
      out += line;
      if (out.size() > 2000) {
        out += "  ...\n";
        break;
      }
    }
  }
  return out;
}

void expectGolden(const std::string& name, const netlink::Batch& batch) {
  ASSERT_EQ(batch.size(), 1u);
  std::vector<uint8_t> want = readBlob(name);
  ASSERT_GT(want.size(), 16u) << "missing or empty tests/data/tc/" << name << ".bin";
  auto span = batch.bytesOf(0);
  std::vector<uint8_t> got(span.begin(), span.end());
  for (size_t i = 8; i < 16 && i < want.size() && i < got.size(); ++i) {
    want[i] = 0;
    got[i] = 0;
  }
  EXPECT_EQ(want.size(), got.size()) << name;
  EXPECT_TRUE(want == got) << name << " differs from tc:\n" << hexDiff(want, got);
}

TcTarget target(uint32_t handle, uint32_t parent) {
  return TcTarget{blobIfindex(), "a0", handle, parent};
}

HtbClassOptions htbClass(uint64_t rateBits, uint64_t ceilBits, uint32_t quantum, uint32_t prio) {
  HtbClassOptions o;
  o.rateBytesPerSec = rateBits / 8;
  o.ceilBytesPerSec = ceilBits / 8;
  o.quantumBytes = quantum;
  o.prio = prio;
  return o;
}

TEST(EncoderGolden, Mq) {
  netlink::Batch b;
  encodeMq(b, Verb::Add, target(makeHandle(0x7FFF, 0), kRootParent));
  expectGolden("mq_add", b);
}

TEST(EncoderGolden, HtbQdisc) {
  netlink::Batch b;
  encodeHtbQdisc(b, Verb::Add, target(makeHandle(1, 0), makeHandle(0x7FFF, 1)),
                 HtbQdiscOptions{10, 2, std::nullopt});
  expectGolden("htb_qdisc_add", b);
}

TEST(EncoderGolden, HtbQdiscDirectQlen) {
  netlink::Batch b;
  encodeHtbQdisc(b, Verb::Add, target(makeHandle(2, 0), makeHandle(0x7FFF, 2)),
                 HtbQdiscOptions{50, 2, 1000});
  expectGolden("htb_qdisc_add_direct_qlen", b);
}

struct ClassCase {
  const char* blob;
  Verb verb;
  uint16_t minor;
  uint16_t parentMinor;
  uint64_t rateBits;
  uint64_t ceilBits;
  uint32_t quantum;
  uint32_t prio;
};

class HtbClassGolden : public ::testing::TestWithParam<ClassCase> {};

TEST_P(HtbClassGolden, MatchesTc) {
  const ClassCase& c = GetParam();
  netlink::Batch b;
  encodeHtbClass(b, c.verb, target(makeHandle(1, c.minor), makeHandle(1, c.parentMinor)),
                 htbClass(c.rateBits, c.ceilBits, c.quantum, c.prio), Psched::standard());
  expectGolden(c.blob, b);
}

INSTANTIATE_TEST_SUITE_P(
    Classes, HtbClassGolden,
    ::testing::Values(
        ClassCase{"htb_class_add_link", Verb::Add, 1, 0, 1'000'000'000, 1'000'000'000, 60000, 3},
        ClassCase{"htb_class_add_default", Verb::Add, 2, 1, 1'000'000, 1'000'000'000, 1522, 5},
        ClassCase{"htb_class_add_circuit", Verb::Add, 3, 1, 10'000'000, 100'000'000, 1522, 3},
        ClassCase{"htb_class_add_small", Verb::Add, 4, 1, 10'000, 1'000'000, 1522, 3},
        ClassCase{"htb_class_add_odd", Verb::Add, 0xff, 1, 123'456'789, 987'654'321, 12345, 0},
        ClassCase{"htb_class_add_64bit", Verb::Add, 5, 1, 40'000'000'000, 100'000'000'000, 60000,
                  3},
        ClassCase{"htb_class_replace", Verb::Replace, 3, 1, 20'000'000, 200'000'000, 2500, 3},
        ClassCase{"htb_class_change", Verb::Change, 3, 1, 30'000'000, 300'000'000, 3750, 3}),
    [](const auto& info) { return std::string(info.param.blob); });

TEST(EncoderGolden, ClassDelete) {
  netlink::Batch b;
  encodeClassDelete(b, target(makeHandle(1, 4), makeHandle(1, 1)));
  expectGolden("htb_class_delete", b);
}

TEST(EncoderGolden, Fifo) {
  {
    netlink::Batch b;
    encodeFifo(b, Verb::Add, target(makeHandle(0x8001, 0), makeHandle(1, 3)), FifoKind::Packets,
               0);
    expectGolden("pfifo_add", b);
  }
  {
    netlink::Batch b;
    encodeFifo(b, Verb::Add, target(makeHandle(0x8002, 0), makeHandle(1, 2)), FifoKind::Packets,
               100);
    expectGolden("pfifo_add_limit", b);
  }
  {
    netlink::Batch b;
    encodeFifo(b, Verb::Add, target(makeHandle(0x8003, 0), makeHandle(1, 0xff)), FifoKind::Bytes,
               150000);
    expectGolden("bfifo_add_limit", b);
  }
  {
    netlink::Batch b;
    encodeFifo(b, Verb::Replace, target(makeHandle(0x8001, 0), makeHandle(1, 3)),
               FifoKind::Packets, 50);
    expectGolden("pfifo_replace", b);
  }
}

TEST(EncoderGolden, CakeDiffserv4) {
  plan::CakeParams p;  // unlimited diffserv4 rtt 100ms nonat nowash split-gso no-ack-filter
  netlink::Batch b;
  encodeCake(b, Verb::Add, target(makeHandle(0x9001, 0), makeHandle(1, 3)), p);
  expectGolden("cake_diffserv4", b);
}

TEST(EncoderGolden, CakeDiffserv8AckFilterNat) {
  plan::CakeParams p;
  p.bandwidthBitsPerSecond = 50'000'000;
  p.diffserv = plan::CakeDiffserv::Diffserv8;
  p.rttUs = 300'000;
  p.nat = true;
  p.wash = true;
  p.splitGso = false;
  p.ackFilter = true;
  netlink::Batch b;
  encodeCake(b, Verb::Add, target(makeHandle(0x9002, 0), makeHandle(1, 3)), p);
  expectGolden("cake_diffserv8_ack_nat", b);
}

TEST(EncoderGolden, CakeBesteffortOverhead) {
  plan::CakeParams p;
  p.diffserv = plan::CakeDiffserv::Besteffort;
  p.rttUs = 180'000;
  p.overheadBytes = -4;
  p.mpuBytes = 64;
  p.memlimitBytes = 4'194'304;
  netlink::Batch b;
  encodeCake(b, Verb::Add, target(makeHandle(0x9003, 0), makeHandle(1, 3)), p);
  expectGolden("cake_besteffort_overhead", b);
}

TEST(EncoderGolden, CakePrecedence64BitRate) {
  plan::CakeParams p;
  p.bandwidthBitsPerSecond = 40'000'000'000;
  p.diffserv = plan::CakeDiffserv::Precedence;
  p.rttUs = 1000;
  p.nat = true;
  p.ackFilter = true;
  netlink::Batch b;
  encodeCake(b, Verb::Add, target(makeHandle(0x9004, 0), makeHandle(1, 3)), p);
  expectGolden("cake_precedence", b);
}

TEST(EncoderGolden, FqCodel) {
  {
    netlink::Batch b;
    encodeFqCodel(b, Verb::Add, target(makeHandle(0x9101, 0), makeHandle(1, 3)),
                  plan::FqCodelParams{});
    expectGolden("fq_codel_defaults", b);
  }
  {
    plan::FqCodelParams p{1000, 4096, 15000, 300'000, 300, false, 4'194'304};
    netlink::Batch b;
    encodeFqCodel(b, Verb::Add, target(makeHandle(0x9102, 0), makeHandle(1, 3)), p);
    expectGolden("fq_codel_custom", b);
  }
}

TEST(EncoderGolden, ClsactAndRootDelete) {
  {
    netlink::Batch b;
    encodeClsact(b, Verb::Add, target(0, 0));
    expectGolden("clsact_add", b);
  }
  {
    netlink::Batch b;
    encodeQdiscDelete(b, target(0, kRootParent));
    expectGolden("qdisc_delete_root", b);
  }
}

TEST(EncoderDecode, HtbClassRoundTripsThroughOwnDecoder) {
  netlink::Batch b;
  encodeHtbClass(b, Verb::Add, target(makeHandle(1, 5), makeHandle(1, 1)),
                 htbClass(40'000'000'000, 100'000'000'000, 60000, 3), Psched::standard());
  // The options nest starts after nlmsghdr (16) + tcmsg (20) + TCA_KIND "htb" (8) + its header.
  auto bytes = b.bytesOf(0);
  auto info = decodeHtbClass(bytes.subspan(16 + 20 + 8 + 4));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->rateBytesPerSec, 5'000'000'000u);
  EXPECT_EQ(info->ceilBytesPerSec, 12'500'000'000u);
  EXPECT_EQ(info->quantumBytes, 60000u);
  EXPECT_EQ(info->prio, 3u);
}

TEST(Psched, XmitTimeMatchesIproute2Arithmetic) {
  const Psched clock = Psched::standard();
  EXPECT_DOUBLE_EQ(clock.tickInUsec(), 15.625);
  // 1600 bytes at 10 Mbit/s = 1280 us = 20000 ticks (value tc sent as buffer in htb_class_add).
  EXPECT_EQ(clock.xmitTime(1'250'000, 1600), 20000u);
  EXPECT_EQ(clock.hz(), 1'000'000'000u);
}

}  // namespace
}  // namespace sluice::tc
