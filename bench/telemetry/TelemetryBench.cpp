// One telemetry tick at ISP scale: CPU time (user + system of this process, so the kernel's map
// reads count) and wall time per tick, on a synthetic ISP (src/synth) of N circuits planned by
// the real pipeline, with real BPF maps (the data plane's own, no programs attached) holding one
// host per circuit and `--flows-per-host` flows per host, every counter moving between ticks.
//
//   bench_telemetry --circuits 10000,100000 [--ticks 10] [--flows-per-host 2] [--rtt 20000]
//                   [--active 100,1] [--no-history] [--tc]   (root: also build the queue tree in a scratch namespace and dump
//                             its statistics each tick; 10k circuits only, the build is slow)
//
// Modes reported per size:
//   maps     tick(Sources): batch reads of the host map and flow table + rollups + rings, once
//            per --active share (% of circuits whose host and flows move; the others stay in
//            the maps with constant counters). Memory: the collector's series bytes
//            (Collector::seriesMemory) and this process's RSS before the collector and after
//            the ticks (the plan and inputs of the synthetic ISP are in both).
//   rtt      the same with --rtt RTT samples per tick fed through tick(Readings) (a ring buffer
//            cannot be written from userspace); isolates percentile cost
//   tc       maps + the tc statistics dump of both interfaces (--tc)
// Root is needed for BPF maps (CAP_BPF).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "dataplane/Dataplane.h"
#include "dataplane/Readers.h"
#include "netlink/Socket.h"
#include "planner/Pipeline.h"
#include "synth/Synth.h"
#include "tc/Applier.h"
#include "tc/Psched.h"
#include "telemetry/Collector.h"

using namespace sluice;

namespace {

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Resident set of this process, bytes (/proc/self/status VmRSS).
uint64_t rssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;
    }
  }
  return 0;
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

struct Isp {
  std::shared_ptr<const model::Inputs> inputs;
  std::shared_ptr<plan::QueuePlan> plan;
  std::filesystem::path dir;
};

Isp makeIsp(uint32_t circuits, const std::string& up, const std::string& down) {
  synth::SynthOptions o;
  o.seed = 2026;
  o.circuits = circuits;
  o.sqmNoneShare = 0.4;  // ≤ 65,534 leaves per interface at 100k (as bench/plan)
  if (circuits >= 100'000) {
    o.sites = 40;
    o.popsPerSite = 5;
    o.apsPerPop = 4;
  } else {
    o.sites = 8;
    o.popsPerSite = 3;
    o.apsPerPop = 3;
  }
  auto files = synth::generate(o);
  Isp isp;
  isp.dir = std::filesystem::temp_directory_path() /
            fmt::format("sluice-bench-telemetry-{}-{}", getpid(), circuits);
  std::filesystem::create_directories(isp.dir);
  synth::LqosConfOptions lo;
  lo.toInternet = up;
  lo.toNetwork = down;
  std::ofstream(isp.dir / "lqos.conf") << synth::renderLqosConf(lo);
  std::ofstream(isp.dir / "network.json") << files.networkJson;
  std::ofstream(isp.dir / "ShapedDevices.csv") << files.shapedDevicesCsv;
  plan::PipelineOptions po;
  po.paths.config = (isp.dir / "lqos.conf").string();
  po.txQueues = 2;
  po.cpus = 2;
  auto r = plan::runPipeline(po);
  if (!r.ok()) {
    throw std::runtime_error("synthetic ISP did not plan: " +
                             r.inputs.diagnostics.errors().front().toString());
  }
  isp.inputs = std::make_shared<model::Inputs>(std::move(r.inputs));
  isp.plan = std::make_shared<plan::QueuePlan>(std::move(*r.plan));
  return isp;
}

// One host address per circuit: its first mapped prefix's first address (+1 inside a CIDR).
std::vector<sluice_addr> hostsOf(const plan::QueuePlan& plan) {
  std::vector<sluice_addr> out;
  std::vector<bool> seen(plan.circuits.size(), false);
  for (const auto& m : plan.addresses) {
    if (m.circuit < 0 || seen[static_cast<size_t>(m.circuit)]) {
      continue;
    }
    seen[static_cast<size_t>(m.circuit)] = true;
    sluice_addr a = dataplane::addressToBytes(m.prefix);
    if (m.prefix.prefixLen < 128) {
      a.addr[15] |= 1;
    }
    out.push_back(a);
  }
  return out;
}

// Writes every host's per-CPU counters (and every flow), advancing them as traffic would.
// Hosts i with i % 10000 < activeBasisPoints move (and their flows); the rest keep counters of
// step 1 (in the maps, idle).
void advance(int hostsFd, int flowsFd, const std::vector<sluice_addr>& hosts,
             std::vector<sluice_flow_key>& flowKeys, uint32_t step, std::mt19937_64& rng,
             uint32_t activeBasisPoints, uint32_t flowsPerHost) {
  auto active = [&](size_t host) { return host % 10'000 < activeBasisPoints; };
  const int cpus = libbpf_num_possible_cpus();
  std::vector<sluice_host_counters> perCpu(static_cast<size_t>(cpus));
  const uint64_t now = monotonicNs();
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (step > 1 && !active(i)) {
      continue;
    }
    for (int c = 0; c < cpus; ++c) {
      auto& v = perCpu[static_cast<size_t>(c)];
      v = {};
      uint64_t down = step * (100'000 + rng() % 1'000'000), up = step * (10'000 + rng() % 100'000);
      v.bytes[0] = down;
      v.bytes[1] = up;
      v.packets[0] = down / 1200;
      v.packets[1] = up / 200;
      v.proto_packets[SLUICE_PROTO_TCP][0] = down / 1500;
      v.proto_packets[SLUICE_PROTO_UDP][0] = down / 1200 - down / 1500;
      v.proto_packets[SLUICE_PROTO_TCP][1] = up / 200;
      v.last_seen_ns = now;
      v.circuit = static_cast<uint32_t>(i);
    }
    bpf_map_update_elem(hostsFd, &hosts[i], perCpu.data(), BPF_ANY);
  }
  sluice_flow f{};
  for (size_t i = 0; i < flowKeys.size(); ++i) {
    if (step > 1 && !active(i / std::max<uint32_t>(flowsPerHost, 1))) {
      continue;
    }
    f.bytes[0] = step * (50'000 + rng() % 500'000);
    f.bytes[1] = step * (5'000 + rng() % 50'000);
    f.packets[0] = f.bytes[0] / 1200;
    f.packets[1] = f.bytes[1] / 200;
    f.retransmits[0] = step * static_cast<uint32_t>(rng() % 3);
    f.last_ns = now;
    f.start_ns = now - 1'000'000'000ull;
    bpf_map_update_elem(flowsFd, &flowKeys[i], &f, BPF_ANY);
  }
}

struct Stats {
  double cpuMedianMs = 0, cpuMaxMs = 0, wallMedianMs = 0, readMs = 0, tcMs = 0, rollupMs = 0;
};

Stats summarize(std::vector<double> cpu, std::vector<double> wall,
                const std::vector<telemetry::TickReport>& reports) {
  Stats s;
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  s.cpuMedianMs = cpu[cpu.size() / 2] * 1e3;
  s.cpuMaxMs = cpu.back() * 1e3;
  s.wallMedianMs = wall[wall.size() / 2] * 1e3;
  auto median = [&](double telemetry::TickReport::*field) {
    std::vector<double> v;
    for (const auto& r : reports) {
      v.push_back(r.*field);
    }
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  s.readMs = median(&telemetry::TickReport::readMs);
  s.tcMs = median(&telemetry::TickReport::tcMs);
  s.rollupMs = median(&telemetry::TickReport::rollupMs);
  return s;
}

void print(const char* mode, uint32_t circuits, size_t hosts, size_t flows, const Stats& s) {
  std::printf(
      "%-5s circuits=%-7u hosts=%-7zu flows=%-7zu  cpu/tick median %7.2f ms  max %7.2f ms  "
      "wall median %7.2f ms  (median cpu: read %.2f, tc %.2f, rollup %.2f ms)\n",
      mode, circuits, hosts, flows, s.cpuMedianMs, s.cpuMaxMs, s.wallMedianMs, s.readMs, s.tcMs,
      s.rollupMs);
  std::fflush(stdout);
}

bool sh(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"One telemetry tick at ISP scale (root)"};
  std::vector<uint32_t> sizes{10'000, 100'000};
  int ticks = 10;
  uint32_t flowsPerHost = 2;
  uint32_t rttPerTick = 20'000;
  bool withTc = false;
  bool noRtt = false;
  std::vector<double> activePct{100, 1};
  bool noHistory = false;
  app.add_option("--circuits", sizes, "circuit counts")->delimiter(',');
  app.add_option("--ticks", ticks, "measured ticks per size (after one priming tick)");
  app.add_option("--flows-per-host", flowsPerHost, "flows in the flow table per host");
  app.add_option("--rtt", rttPerTick, "RTT samples per tick in the rtt mode");
  app.add_flag("--no-rtt", noRtt, "skip the rtt mode");
  app.add_flag("--no-history", noHistory,
               "no history database (circuits keep 48 h of minutes in memory)");
  app.add_option("--active", activePct, "% of circuits with traffic, one maps run each")
      ->delimiter(',');
  app.add_flag("--tc", withTc, "also dump the tc statistics of a built tree (10k only; root)");
  CLI11_PARSE(app, argc, argv);

  const std::string ns = fmt::format("slbt-{}", getpid());
  const std::string up = "bt-up0", down = "bt-dn0";
  for (uint32_t n : sizes) {
    Isp isp = makeIsp(n, up, down);
    auto hosts = hostsOf(*isp.plan);
    std::vector<sluice_flow_key> flowKeys;
    std::mt19937_64 rng(n);
    for (const auto& h : hosts) {
      for (uint32_t f = 0; f < flowsPerHost; ++f) {
        sluice_flow_key k{};
        std::memcpy(k.local, h.addr, 16);
        k.remote[10] = k.remote[11] = 0xff;
        k.remote[12] = 198;
        k.remote[13] = 51;
        k.remote[14] = static_cast<uint8_t>(rng());
        k.remote[15] = static_cast<uint8_t>(rng());
        k.local_port = static_cast<uint16_t>(1024 + rng() % 60000);
        k.remote_port = 443;
        k.proto = 6;
        flowKeys.push_back(k);
      }
    }
    dataplane::DataplaneOptions opts;
    opts.lpmCapacity = 1024;
    opts.hostCapacity = static_cast<uint32_t>(hosts.size() * 2 + 1024);
    opts.flowCapacity = static_cast<uint32_t>(flowKeys.size() * 2 + 1024);
    auto dp = dataplane::Dataplane::open(opts);
    if (!dp) {
      std::fprintf(stderr, "data plane: %s\n", dp.error().message().c_str());
      return 1;
    }
    telemetry::Sources sources;
    sources.hostsFd = (*dp)->addressHostMapFd();  // hosts simulated per address
    sources.flowsFd = (*dp)->flowMapFd();
    sources.statsFd = (*dp)->statsMapFd();
    sources.rttRingFd = (*dp)->rttRingFd();

    auto runMode = [&](const char* mode, bool rtt, netlink::Socket* tcSocket, double pct) {
      const auto basisPoints = static_cast<uint32_t>(std::lround(pct * 100));
      // A fresh map per run: every host written once at step 1 (idle hosts keep that).
      for (const auto& h : hosts) {
        bpf_map_delete_elem(sources.hostsFd, &h);
      }
      for (const auto& k : flowKeys) {
        bpf_map_delete_elem(sources.flowsFd, &k);
      }
      malloc_trim(0);
      const uint64_t rss0 = rssBytes();
      telemetry::Options options;
      options.tcStatsMaxCpuShare = 1.0;  // dump every tick: measures the dump itself
      if (!noHistory) {
        // As sluiced: a history database (circuits' minutes live there, not in memory).
        options.historyDbPath = (isp.dir / fmt::format("history-{}.sqlite", mode)).string();
        std::filesystem::remove(options.historyDbPath);
      }
      auto collector = telemetry::Collector::create(options);
      double p0 = wallSeconds();
      (*collector)->setPlan(isp.inputs, isp.plan);
      const uint64_t rssPlan = rssBytes();
      if (!rtt && tcSocket == nullptr) {
        std::printf("      setPlan %.1f ms (RSS +%.1f MiB: the plan's indices and state)\n",
                    (wallSeconds() - p0) * 1e3, mib(rssPlan > rss0 ? rssPlan - rss0 : 0));
      }
      sources.tcSocket = tcSocket;
      auto t = std::chrono::system_clock::now();
      std::vector<double> cpu, wall;
      std::vector<telemetry::TickReport> reports;
      for (int i = 0; i <= ticks; ++i) {
        advance(sources.hostsFd, sources.flowsFd, hosts, flowKeys, static_cast<uint32_t>(i + 1),
                rng, basisPoints, flowsPerHost);
        telemetry::Readings readings;
        if (rtt) {
          // The maps are read by tick(Sources) in the other modes; here the same data comes
          // through readings so that RTT samples can be added.
          (void)telemetry::readHosts(sources.hostsFd, readings.hosts);
          (void)telemetry::readFlowTable(sources.flowsFd, readings.flowKeys, readings.flows);
          for (uint32_t s = 0; s < rttPerTick; ++s) {
            sluice_rtt_event ev{};
            ev.key = flowKeys[rng() % flowKeys.size()];
            ev.rtt_ns = 2'000'000 + rng() % 80'000'000;
            readings.rtt.push_back(ev);
          }
        }
        t += std::chrono::seconds(1);
        double c0 = cpuSeconds(), w0 = wallSeconds();
        auto r = rtt ? (*collector)->tick(std::move(readings), t) : (*collector)->tick(sources, t);
        double c1 = cpuSeconds(), w1 = wallSeconds();
        if (!r) {
          std::fprintf(stderr, "tick: %s\n", r.error().message().c_str());
          std::exit(1);
        }
        if (!r->warnings.empty()) {
          std::fprintf(stderr, "tick warning: %s\n", r->warnings.front().c_str());
        }
        if (i > 0) {  // the first tick primes and allocates
          cpu.push_back(c1 - c0);
          wall.push_back(w1 - w0);
          reports.push_back(*r);
        }
      }
      Stats st = summarize(cpu, wall, reports);
      std::printf("%5.0f%% active: ", pct);
      print(mode, n, hosts.size(), flowKeys.size(), st);
      const telemetry::SeriesMemory mem = (*collector)->seriesMemory();
      const uint64_t rss1 = rssBytes();
      std::printf("      memory: series %.1f MiB (%zu of %zu circuits hold a 1 s ring), state "
                  "%.1f MiB; RSS %.1f MiB before the collector, %.1f MiB after the ticks "
                  "(+%.1f MiB)\n",
                  mib(mem.bytes), mem.circuitsWithRings, mem.circuits, mib(mem.stateBytes),
                  mib(rss0), mib(rss1), mib(rss1 > rss0 ? rss1 - rss0 : 0));
      if (tcSocket != nullptr) {
        const double share = telemetry::Options{}.tcStatsMaxCpuShare;
        const double every = std::max(1.0, std::ceil(st.tcMs / (share * 1000.0)));
        std::printf("      default tcStatsMaxCpuShare %.3f: a dump every %.0f s, on average "
                    "%.1f ms/s of tc CPU\n", share, every, st.tcMs / every);
      }
      if (!options.historyDbPath.empty() && !rtt && tcSocket == nullptr) {
        // What the end of every hour costs: all open hour blocks to SQLite in one transaction
        // (flush() writes the same blocks plus the open interval's few node rows).
        const double f0 = cpuSeconds(), fw0 = wallSeconds();
        if (auto f = (*collector)->flush(); !f) {
          std::fprintf(stderr, "flush: %s\n", f.error().message().c_str());
        }
        std::printf("      hour blocks to SQLite (flush): cpu %.1f ms, wall %.1f ms\n",
                    (cpuSeconds() - f0) * 1e3, (wallSeconds() - fw0) * 1e3);
      }
      // Queries at this scale, once (the API serves them).
      double q0 = wallSeconds();
      std::string tree = (*collector)->tree().dump();
      double q1 = wallSeconds();
      std::string list = (*collector)->circuits("", 0, 100, "down")->dump();
      double q2 = wallSeconds();
      std::string prom = (*collector)->prometheus();
      double q3 = wallSeconds();
      if (!rtt && tcSocket == nullptr) {
        std::printf(
            "      queries: tree %.2f ms (%zu bytes), circuits sort=down limit 100 %.2f ms, "
            "prometheus %.2f ms (%zu bytes)\n",
            (q1 - q0) * 1e3, tree.size(), (q2 - q1) * 1e3, (q3 - q2) * 1e3, prom.size());
      }
    };
    for (double pct : activePct) {
      runMode("maps", false, nullptr, pct);
    }
    if (!noRtt) {
      runMode("rtt", true, nullptr, 100);
    }
    if (withTc && n <= 20'000) {
      struct Cleanup {
        std::string ns;
        ~Cleanup() { sh("ip netns del " + ns + " 2>/dev/null"); }
      } cleanup{ns};
      sh("ip netns add " + ns);
      sh(fmt::format("ip netns exec {} ip link add {} numtxqueues 2 type veth peer name {} "
                     "numtxqueues 2",
                     ns, up, down));
      tc::LeafCapabilities caps;
      caps.pfifo = caps.bfifo = caps.mq = true;
      (void)tc::applyLeafFallback(*isp.plan, caps, plan::LeafKind::Pfifo);
      auto sock = netlink::Socket::open("/run/netns/" + ns);
      auto clock = tc::Psched::read();
      tc::NetlinkApplier applier(std::move(*sock), *clock);
      double b0 = wallSeconds();
      auto applied = tc::applyPlan(applier, *isp.plan, tc::ApplyMode::Create);
      if (!applied) {
        std::fprintf(stderr, "tree: %s\n", applied.error().message().c_str());
        return 1;
      }
      std::fprintf(stderr, "(tree of %zu circuits built in %.1f s)\n", isp.plan->circuits.size(),
                   wallSeconds() - b0);
      auto tcSock = netlink::Socket::open("/run/netns/" + ns);
      runMode("tc", false, &*tcSock, 100);
    }
    std::filesystem::remove_all(isp.dir);
  }
  return 0;
}
