// Data-plane cost per packet, measured by the kernel (BPF_PROG_TEST_RUN duration) with large
// repeat counts, each path next to a trivial XDP_PASS program from the same object in the same
// round. Then the reload penalty: per-packet cost on CPU 0 while CPU 1 republishes 100k
// mappings, epoch design vs LibreQoS 1.4 style (delete all, re-add all, wipe the hot cache).
// The "floor" rows run bench/bpf/floor.bpf.c instead of sluice_xdp: one lookup in a flow table of
// Sluice's layout and a redirect, nothing else, i.e. the least any flow hit with one hash-map
// lookup costs (both flow tables hold the same 100,000 other flows); and the same with a
// direct-mapped array in place of the hash map.
//
// Repeats reuse one packet buffer (DESIGN §5); the XDP program reuses a metadata block that is
// already there, so every repeat after the first takes the same path. META_FAILED is checked.
//
// The path table is printed for each XDP metadata mode the kernel allows: with metadata (where
// bpf_xdp_adjust_meta loads) and always without, where tc repeats the lookup; that mode's rows
// add the tc program's own cost on the same packet (leaving through the subscriber-facing port).
//
// Usage: bench_dataplane [--rounds N] [--repeat N] [--quick] [--only ROW-SUBSTRING]

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "FloorBench.h"
#include "PacketBuilder.h"
#include "TestRun.h"
#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"
#include "dataplane/Readers.h"

namespace sluice::bpftest {
namespace {

using dataplane::BpfMapWriter;
using dataplane::Dataplane;
using dataplane::DataplaneOptions;
using dataplane::XdpMetadata;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_dataplane: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) {
    die(std::string(what) + ": " + r.error().message());
  }
  return std::move(*r);
}
void must(Result<void> r, const char* what) {
  if (!r) {
    die(std::string(what) + ": " + r.error().message());
  }
}

void pinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// n distinct subscriber prefixes: IPv4 host addresses in 10.0.0.0/8 plus 100.64.0.0/10 /24s,
// always containing 10.1.2.3/32 (the benchmark packet's subscriber).
std::vector<plan::AddressMapping> makeMappings(size_t n, uint32_t seed) {
  std::vector<plan::AddressMapping> out;
  out.reserve(n);
  std::mt19937 rng(seed);
  std::vector<uint32_t> hosts;
  hosts.reserve(n);
  for (uint32_t i = 0; hosts.size() < n; ++i) {
    hosts.push_back(0x0a000000u | ((i * 2654435761u) & 0x00ffffffu));
  }
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  auto target = 0x0a010203u;
  if (!std::binary_search(hosts.begin(), hosts.end(), target)) {
    hosts.back() = target;
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    plan::AddressMapping m;
    m.prefix.isV4 = true;
    m.prefix.prefixLen = 128;
    m.prefix.addr[10] = 0xff;
    m.prefix.addr[11] = 0xff;
    uint32_t be = htonl(hosts[i]);
    std::memcpy(&m.prefix.addr[12], &be, 4);
    m.circuit = static_cast<int32_t>(i);
    m.cpu = static_cast<uint32_t>(rng() & 1);
    m.downClass = {static_cast<uint16_t>(1 + (i & 1)), static_cast<uint16_t>(3 + i % 60000)};
    m.upClass = m.downClass;
    out.push_back(m);
  }
  return out;
}

std::unique_ptr<Dataplane> openDataplane(const Lab& lab, uint32_t lpmCapacity,
                                         XdpMetadata metadata = XdpMetadata::Auto) {
  DataplaneOptions o;
  o.xdpMetadata = metadata;
  o.internetIfindex = static_cast<uint32_t>(lab.internetIfindex);
  o.networkIfindex = static_cast<uint32_t>(lab.networkIfindex);
  o.lpmCapacity = lpmCapacity;
  o.hotCacheCapacity = 1 << 18;
  auto dp = must(Dataplane::open(o), "open data plane");
  must(dp->setRuntimeConfig({0, {0, 1}}), "config");
  return dp;
}

void setFlags(Dataplane& dp, uint32_t flags) {
  must(dp.setRuntimeConfig({flags, {0, 1}}), "flags");
}

// Median ns/packet over `rounds` runs of `repeat` repeats each.
double nsPerPacket(int prog, const std::vector<uint8_t>& pkt, int ifindex, uint32_t repeat,
                   int rounds) {
  std::vector<double> v;
  for (int r = 0; r < rounds; ++r) {
    auto run = must(runXdp(prog, pkt, ifindex, repeat), "test run");
    v.push_back(run.durationNs);
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ns/packet of the tc program over one run of `repeat` repeats, as the kernel measured it.
double tcNsPerPacket(int prog, const std::vector<uint8_t>& pkt, int ifindex, uint32_t repeat) {
  return must(runTc(prog, pkt, ifindex, repeat), "tc test run").durationNs;
}

struct PathResult {
  std::string name;
  double ns;
  double baseline;
  double tcNs = 0;  ///< tc's own lookup (metadata-less mode only), 0 when not measured
};

// The first packet of a host never seen before (flow miss, hot-cache miss, LPM, flow and
// hot-cache inserts, host counters created): one test-run with repeat 1 per host over 2,000
// distinct mapped hosts (a repeat would be a flow hit), median per-run duration; the baseline
// is XDP_PASS with repeat 1 on the same packets.
PathResult firstPackets(Dataplane& dp, const std::vector<plan::AddressMapping>& maps, int ifindex,
                        const std::string& tag, int rounds) {
  setFlags(dp, 0);
  std::vector<double> ns, base;
  constexpr size_t kHosts = 2000;
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < kHosts; ++i) {
      const auto& m = maps[((static_cast<size_t>(r) * kHosts + i) * 7919) % maps.size()];
      if (!m.prefix.isV4) {  // every host once: 7919 is prime to the table size
        continue;
      }
      const auto& a = m.prefix.addr;
      std::string dst = fmt::format("{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
      const auto pkt = PacketBuilder().ip("203.0.113.5", dst).tcp(443, 50000).payload(64).build();
      base.push_back(must(runXdp(dp.xdpPassProgramFd(), pkt, ifindex, 1), "test run").durationNs);
      ns.push_back(must(runXdp(dp.xdpProgramFd(), pkt, ifindex, 1), "test run").durationNs);
    }
  }
  std::sort(ns.begin(), ns.end());
  std::sort(base.begin(), base.end());
  return {"first packet of a new host, IPv4" + tag + ", repeat 1", ns[ns.size() / 2],
          base[base.size() / 2]};
}

void checkNoMetaFailures(Dataplane& dp) {
  auto s = must(dataplane::readStats(dp.statsMapFd()), "stats");
  if (s[SLUICE_STAT_META_FAILED] != 0) {
    die("metadata adjust failed during repeats: the benchmark would measure another path");
  }
}

// Flows other than the benchmark packet's in the flow tables of the path rows.
constexpr size_t kOtherFlows = 100'000;

// --only SUBSTRING: measure only the rows whose name contains it (e.g. under perf record).
std::string gOnly;

void pathBenchmarks(const Lab& lab, uint32_t repeat, int rounds, bool quick,
                    XdpMetadata metadata) {
  const auto down4 = PacketBuilder().ip("203.0.113.5", "10.1.2.3").tcp(443, 50000).payload(64);
  const auto pkt4 = down4.build();
  const auto pkt6 =
      PacketBuilder().ip("2001:db8:ffff::1", "2001:db8:1::9").tcp(443, 50000).payload(64).build();
  const auto pkt4net =
      PacketBuilder().ip("203.0.113.5", "100.64.1.7").tcp(443, 50000).payload(64).build();
  const auto pktQinqPppoe = PacketBuilder(down4).vlan(10, 0x88a8).vlan(20).pppoe().build();
  int in = lab.internetIfindex;
  bool tcLookup = false;  // the mode the data plane loaded in: tc repeats the lookup

  std::vector<PathResult> results;
  std::vector<size_t> sizes = quick ? std::vector<size_t>{1000, 100'000}
                                    : std::vector<size_t>{1000, 100'000, 1'000'000};
  for (size_t n : sizes) {
    auto dp = openDataplane(lab, static_cast<uint32_t>(std::max<size_t>(n + 16, 1024)),
                            metadata);
    tcLookup = !dp->mode().xdpMetadata;
    BpfMapWriter w(dp->lpmMapFd(), dp->epochMapFd());
    auto maps = makeMappings(n, 7);
    plan::AddressMapping v6;
    v6.prefix = *IpNet::parse("2001:db8:1::/48");
    v6.cpu = 1;
    v6.downClass = {1, 0x40};
    v6.upClass = {1, 0x41};
    maps.push_back(v6);
    plan::AddressMapping v4net;  // a prefix wider than one address: only the trie answers
    v4net.prefix = *IpNet::parse("100.64.1.0/24");
    v4net.cpu = 1;
    v4net.downClass = {1, 0x42};
    v4net.upClass = {1, 0x43};
    maps.push_back(v4net);
    auto t0 = std::chrono::steady_clock::now();
    must(w.publish(maps), "publish");
    double pubMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                       .count();
    std::printf("# %zu prefixes published in %.0f ms (%s)\n", maps.size(), pubMs,
                w.perElementFallback() ? "per element: LPM has no batch ops" : "batched");
    // `prog` is sluice_xdp unless given (the floor row); tc repeats the lookup only for it.
    auto measure = [&](const std::string& name, const std::vector<uint8_t>& pkt, uint32_t flags,
                       int prog = -1) {
      if (!gOnly.empty() && name.find(gOnly) == std::string::npos) {
        return;
      }
      setFlags(*dp, flags);
      std::vector<double> ns, base, tc;
      for (int r = 0; r < rounds; ++r) {  // interleave with the baseline to share the noise
        base.push_back(nsPerPacket(dp->xdpPassProgramFd(), pkt, in, repeat, 1));
        ns.push_back(nsPerPacket(prog < 0 ? dp->xdpProgramFd() : prog, pkt, in, repeat, 1));
        if (tcLookup && prog < 0) {
          tc.push_back(tcNsPerPacket(dp->tcProgramFd(), pkt, lab.networkIfindex, repeat));
        }
      }
      std::sort(ns.begin(), ns.end());
      std::sort(base.begin(), base.end());
      std::sort(tc.begin(), tc.end());
      results.push_back(
          {name, ns[ns.size() / 2], base[base.size() / 2], tc.empty() ? 0 : tc[tc.size() / 2]});
    };
    std::string tag = fmt::format(" ({} prefixes)", n);
    if (n == sizes.front()) {
      // Both flow tables hold the same 100,000 other flows, as a loaded shaper's would.
      FloorProgram floor(1);
      fillFlowTable(floor.flowMapFd(), kOtherFlows, 11);
      fillFlowTable(dp->flowMapFd(), kOtherFlows, 11);
      // Reference points: the cost of entering the program at all, and of the least a flow
      // hit can do (bench/bpf/floor.bpf.c: one lookup in a flow table of Sluice's layout).
      measure("bypass switch on", pkt4, SLUICE_CFG_BYPASS);
      measure("ARP (dissect, not IP)", PacketBuilder().rawEtherType(0x0806).build(), 0);
      measure("floor: one flow lookup + redirect, IPv4", pkt4, 0, floor.programFd());
      measure("floor: direct-mapped flow slot, IPv4", pkt4, 0, floor.slotProgramFd());
      measure("flow hit, IPv4", pkt4, 0);
      // An address in a /24: a /32 is a host route, which never enters the hot cache.
      measure("hot-cache hit, IPv4 in a /24 (flows off)", pkt4net, SLUICE_CFG_NO_FLOWS);
      measure("host-route hit, IPv4 (flows off)", pkt4, SLUICE_CFG_NO_FLOWS);
      measure("flow hit, IPv6", pkt6, 0);
      measure("flow hit, QinQ + PPPoE IPv4", pktQinqPppoe, 0);
    }
    if (n == sizes.back() && (gOnly.empty() || std::string("first packet").find(gOnly) == 0)) {
      results.push_back(firstPackets(*dp, maps, in, tag, rounds));
    }
    measure("LPM path, IPv4 host route" + tag, pkt4,
            SLUICE_CFG_NO_FLOWS | SLUICE_CFG_NO_HOT_CACHE);
    measure("LPM path, IPv4 in a /24 (trie)" + tag, pkt4net,
            SLUICE_CFG_NO_FLOWS | SLUICE_CFG_NO_HOT_CACHE);
    measure("LPM path, IPv6" + tag, pkt6, SLUICE_CFG_NO_FLOWS | SLUICE_CFG_NO_HOT_CACHE);
    checkNoMetaFailures(*dp);
  }
  if (!tcLookup) {
    std::printf("\nmode: XDP metadata (tc reads XDP's decision)\n");
    std::printf("%-45s %10s %12s %8s\n", "path", "ns/packet", "XDP_PASS ns", "ratio");
    for (const auto& r : results) {
      std::printf("%-45s %10.1f %12.1f %8.2f\n", r.name.c_str(), r.ns, r.baseline,
                  r.ns / r.baseline);
    }
    return;
  }
  std::printf("\nmode: no XDP metadata (tc repeats the lookup)\n");
  std::printf("%-45s %10s %10s %10s %12s %8s %8s\n", "path", "XDP ns", "tc ns", "XDP+tc",
              "XDP_PASS ns", "ratio", "+tc");
  for (const auto& r : results) {
    std::printf("%-45s %10.1f %10.1f %10.1f %12.1f %8.2f %8.2f\n", r.name.c_str(), r.ns, r.tcNs,
                r.ns + r.tcNs, r.baseline, r.ns / r.baseline, (r.ns + r.tcNs) / r.baseline);
  }
}

// --- reload penalty --------------------------------------------------------------------------

struct LoopResult {
  double nsPerPacket = 0;
  uint64_t packets = 0;
  uint64_t defaultClass = 0;  // packets of mapped subscribers that got the default class
};

// Runs test-runs on CPU 0 over `packets` (round robin, `repeat` each) until `stop`.
LoopResult packetLoop(Dataplane& dp, const std::vector<std::vector<uint8_t>>& packets, int ifindex,
                      uint32_t repeat, const std::atomic<bool>& stop) {
  pinToCpu(0);
  auto before = must(dataplane::readStats(dp.statsMapFd()), "stats");
  double totalNs = 0;
  uint64_t n = 0;
  for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
    auto run = must(runXdp(dp.xdpProgramFd(), packets[i % packets.size()], ifindex, repeat),
                    "test run");
    totalNs += static_cast<double>(run.durationNs) * repeat;
    n += repeat;
  }
  auto after = must(dataplane::readStats(dp.statsMapFd()), "stats");
  LoopResult r;
  r.packets = n;
  r.nsPerPacket = n ? totalNs / static_cast<double>(n) : 0;
  r.defaultClass = after[SLUICE_STAT_DEFAULT_CLASS] - before[SLUICE_STAT_DEFAULT_CLASS];
  return r;
}

// LibreQoS 1.4's reload: clear the LPM, write every entry again, clear the hot cache.
void libreqosStyleRepublish(Dataplane& dp, const std::vector<sluice_lpm_key>& keys,
                            const std::vector<sluice_mapping>& values) {
  // The host-route map holds the one-address prefixes of the LPM (Sluice's own exact-match
  // step); LibreQoS has one trie, so both are emptied and refilled here.
  for (const auto& k : keys) {
    bpf_map_delete_elem(dp.lpmMapFd(), &k);
    if (k.prefixlen == 128) {
      bpf_map_delete_elem(dp.hostRouteMapFd(), k.addr);
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    bpf_map_update_elem(dp.lpmMapFd(), &keys[i], &values[i], BPF_ANY);
    if (keys[i].prefixlen == 128) {
      bpf_map_update_elem(dp.hostRouteMapFd(), keys[i].addr, &values[i], BPF_ANY);
    }
  }
  sluice_addr key{}, next{};
  std::vector<sluice_addr> hot;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(dp.hotCacheMapFd(), prev, &next) == 0) {
    hot.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto& h : hot) {
    bpf_map_delete_elem(dp.hotCacheMapFd(), &h);
  }
}

void reloadPenalty(const Lab& lab, uint32_t repeat, double seconds) {
  constexpr size_t kMappings = 100'000;
  auto maps = makeMappings(kMappings, 11);
  std::vector<sluice_lpm_key> keys;
  std::vector<sluice_mapping> values;
  for (const auto& m : maps) {
    keys.push_back(dataplane::toLpmKey(m.prefix));
    values.push_back(dataplane::toLpmValue(m));
  }
  // 256 subscribers spread over the table, one packet each, round robin.
  std::vector<std::vector<uint8_t>> packets;
  for (size_t i = 0; i < 256; ++i) {
    const auto& a = maps[(i * 389) % maps.size()].prefix.addr;
    std::string dst = fmt::format("{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
    packets.push_back(PacketBuilder().ip("203.0.113.5", dst).tcp(443, 50000).payload(64).build());
  }

  struct Variant {
    const char* name;
    uint32_t flags;
    bool libreqos;
  };
  const Variant variants[] = {
      {"epoch republish, flows on (Sluice default)", 0, false},
      {"epoch republish, flows off (hot cache + LPM)", SLUICE_CFG_NO_FLOWS, false},
      {"LibreQoS 1.4 style, flows off (hot cache + LPM)", SLUICE_CFG_NO_FLOWS, true},
  };
  std::printf("\nreload penalty: CPU 0 classifies (%zu subscribers round robin, %u repeats per "
              "run), CPU 1 republishes %zu mappings in a loop\n",
              packets.size(), repeat, kMappings);
  std::printf("%-50s %9s %9s %7s %10s %14s\n", "variant", "idle ns", "busy ns", "ratio",
              "republish", "misclassified");
  for (const auto& v : variants) {
    auto dp = openDataplane(lab, kMappings + 1024);
    BpfMapWriter w(dp->lpmMapFd(), dp->epochMapFd());
    must(w.publish(maps), "publish");
    setFlags(*dp, v.flags);
    std::atomic<bool> stop{false};
    auto timed = [&](auto&& writerFn) {
      LoopResult r;
      std::thread loop([&] { r = packetLoop(*dp, packets, lab.internetIfindex, repeat, stop); });
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
      int rounds = writerFn(until);
      stop = true;
      loop.join();
      stop = false;
      return std::make_pair(r, rounds);
    };
    auto [idle, idleRounds] = timed([](auto until) {
      std::this_thread::sleep_until(until);
      return 0;
    });
    auto [busy, rounds] = timed([&](auto until) {
      pinToCpu(1);
      int n = 0;
      while (std::chrono::steady_clock::now() < until || n == 0) {
        if (v.libreqos) {
          libreqosStyleRepublish(*dp, keys, values);
        } else {
          must(w.publish(maps), "republish");
        }
        ++n;
      }
      return n;
    });
    (void)idleRounds;
    std::printf("%-50s %9.1f %9.1f %7.2f %8d x %13.4f%%\n", v.name, idle.nsPerPacket,
                busy.nsPerPacket, busy.nsPerPacket / idle.nsPerPacket, rounds,
                100.0 * static_cast<double>(busy.defaultClass) /
                    static_cast<double>(std::max<uint64_t>(busy.packets, 1)));
    checkNoMetaFailures(*dp);
  }
}

}  // namespace
}  // namespace sluice::bpftest

int main(int argc, char** argv) {
  using namespace sluice::bpftest;
  uint32_t repeat = 1'000'000;
  int rounds = 5;
  bool quick = false;
  double seconds = 4.0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = static_cast<uint32_t>(std::atol(argv[++i]));
    } else if (a == "--only" && i + 1 < argc) {
      gOnly = argv[++i];
    } else if (a == "--quick") {
      quick = true;
      repeat = 100'000;
      rounds = 3;
      seconds = 1.5;
    } else {
      die("usage: bench_dataplane [--rounds N] [--repeat N] [--quick] [--only ROW-SUBSTRING]");
    }
  }
  auto lab = must(enterPrivateLab(), "namespace");
  std::printf("# bench_dataplane: repeat %u, %d rounds (median), kernel-measured test-run time\n",
              repeat, rounds);
  std::string refusal;
  const bool metadataAllowed = must(sluice::dataplane::probeXdpAdjustMeta(&refusal), "probe");
  if (metadataAllowed) {
    pathBenchmarks(lab, repeat, rounds, quick, XdpMetadata::Auto);
  } else {
    std::printf("# XDP metadata mode not measured: this kernel refuses bpf_xdp_adjust_meta (%s)\n",
                refusal.c_str());
  }
  pathBenchmarks(lab, repeat, rounds, quick, XdpMetadata::Off);
  if (gOnly.empty()) {
    reloadPenalty(lab, 1000, seconds);
  }
  return 0;
}
