// dataplane::forEachHost against a real per-CPU LRU host map: every host comes back once with
// its per-CPU counters summed, across several BPF_MAP_LOOKUP_BATCH chunks, and the batch read
// agrees with the one-host lookup.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "dataplane/BatchLookup.h"
#include "dataplane/Dataplane.h"
#include "dataplane/Readers.h"

namespace sluice::dataplane {
namespace {

sluice_addr hostAddr(uint32_t i) {
  sluice_addr a{};
  a.addr[10] = a.addr[11] = 0xff;  // IPv4-mapped 100.64.x.y
  a.addr[12] = 100;
  a.addr[13] = static_cast<uint8_t>(64 + (i >> 16));
  a.addr[14] = static_cast<uint8_t>(i >> 8);
  a.addr[15] = static_cast<uint8_t>(i);
  return a;
}

TEST(HostRead, EveryHostOnceWithCountersSummedOverCpusAcrossChunks) {
  DataplaneOptions o;
  o.hostCapacity = 65536;
  o.lpmCapacity = 1024;
  o.flowCapacity = 1024;
  o.hotCacheCapacity = 1024;
  auto dp = Dataplane::open(o);
  ASSERT_TRUE(dp) << dp.error().message();
  const int fd = (*dp)->addressHostMapFd();  // the per-address half, written directly
  const int cpus = libbpf_num_possible_cpus();
  ASSERT_GT(cpus, 0);
  // Hosts i: CPU c holds bytes i + c, one packet, seen at 1000 + c with circuit 10 * i + c; the
  // last CPU saw the host last. More hosts than one chunk.
  const uint32_t hosts = 2 * kLookupBatchEntries + 123;
  std::vector<sluice_host_counters> perCpu(static_cast<size_t>(cpus));
  for (uint32_t i = 0; i < hosts; ++i) {
    for (int c = 0; c < cpus; ++c) {
      perCpu[c] = {};
      perCpu[c].bytes[SLUICE_DIR_DOWN] = i + c;
      perCpu[c].packets[SLUICE_DIR_DOWN] = 1;
      perCpu[c].last_seen_ns = 1000 + c;
      perCpu[c].circuit = 10 * i + c;
    }
    const sluice_addr key = hostAddr(i);
    ASSERT_EQ(bpf_map_update_elem(fd, &key, perCpu.data(), BPF_ANY), 0) << i;
  }

  std::set<IpNet> seen;
  size_t calls = 0;
  auto ok = forEachHost(fd, [&](const HostCounters& h) {
    ++calls;
    seen.insert(h.address);
    const uint32_t i = (uint32_t{h.address.addr[13]} - 64) << 16 |
                       uint32_t{h.address.addr[14]} << 8 | h.address.addr[15];
    const uint64_t n = static_cast<uint64_t>(cpus);
    EXPECT_EQ(h.bytes[SLUICE_DIR_DOWN], n * i + n * (n - 1) / 2) << i;
    EXPECT_EQ(h.packets[SLUICE_DIR_DOWN], static_cast<uint64_t>(cpus)) << i;
    EXPECT_EQ(h.lastSeenNs, 1000u + cpus - 1) << i;
    EXPECT_EQ(h.circuit, 10 * i + cpus - 1) << i;
  });
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(calls, hosts) << "each host once";
  EXPECT_EQ(seen.size(), hosts);

  auto all = readHostCounters(fd);
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), hosts);
  const HostCounters& first = all->front();
  auto one = readHostCounters(fd, first.address);
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(one->bytes, first.bytes);
  EXPECT_EQ(one->packets, first.packets);
  EXPECT_EQ(one->lastSeenNs, first.lastSeenNs);
  EXPECT_EQ(one->circuit, first.circuit);
}

}  // namespace
}  // namespace sluice::dataplane
