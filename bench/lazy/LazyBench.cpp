// The lazy-queue tracker's cost per tick (docs/lazy.md): a synthetic ISP of N circuits (src/synth,
// planned by the real pipeline with lazy_queues = Full), one host per circuit in the data plane's
// own host map (a real LRU per-CPU BPF hash, no programs attached), `--active` % of the hosts
// moving between ticks. Per tick, CPU time of this process (user + system, so the kernel's map
// walk counts) and wall time of: the host map read (dataplane::readHostCounters), the tracker's
// decision (LazyTracker::observe), and materialize() of the plan for the active set (what a tick
// that activates or expires something hands to the bakery).
//
//   sudo bench_lazy --circuits 10000,100000 [--ticks 10] [--active 1]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "dataplane/Dataplane.h"
#include "dataplane/Readers.h"
#include "lazy/LazyTracker.h"
#include "lazy/Materialize.h"
#include "planner/Pipeline.h"
#include "synth/Synth.h"

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

plan::QueuePlan makePlan(uint32_t circuits) {
  synth::SynthOptions o;
  o.seed = 2026;
  o.circuits = circuits;
  o.sites = circuits >= 100'000 ? 40 : 8;
  o.popsPerSite = circuits >= 100'000 ? 5 : 3;
  o.apsPerPop = circuits >= 100'000 ? 4 : 3;
  auto files = synth::generate(o);
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("sluice-bench-lazy-{}-{}", getpid(), circuits);
  std::filesystem::create_directories(dir);
  std::string conf = synth::renderLqosConf(synth::LqosConfOptions{});
  const auto at = conf.find("[queues]\n");
  conf.insert(at == std::string::npos ? conf.size() : at + 9,
              at == std::string::npos ? "\n[queues]\nlazy_queues = \"Full\"\n"
                                      : "lazy_queues = \"Full\"\n");
  std::ofstream(dir / "lqos.conf") << conf;
  std::ofstream(dir / "network.json") << files.networkJson;
  std::ofstream(dir / "ShapedDevices.csv") << files.shapedDevicesCsv;
  plan::PipelineOptions po;
  po.paths.config = (dir / "lqos.conf").string();
  po.txQueues = 2;
  po.cpus = 2;
  auto r = plan::runPipeline(po);
  std::filesystem::remove_all(dir);
  if (!r.ok()) {
    throw std::runtime_error("synthetic ISP did not plan: " +
                             r.inputs.diagnostics.errors().front().toString());
  }
  return std::move(*r.plan);
}

/// One host per circuit: its first prefix's first address (+1 inside a CIDR).
std::vector<sluice_addr> hostsOf(const plan::QueuePlan& plan) {
  std::vector<sluice_addr> out;
  std::vector<bool> seen(plan.circuits.size(), false);
  for (const auto& m : plan.addresses) {
    if (m.circuit < 0 || seen[static_cast<size_t>(m.circuit)]) continue;
    seen[static_cast<size_t>(m.circuit)] = true;
    sluice_addr a = dataplane::addressToBytes(m.prefix);
    if (m.prefix.prefixLen < 128) a.addr[15] |= 1;
    out.push_back(a);
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lazy-queue tracker tick at ISP scale (root)"};
  std::vector<uint32_t> sizes{10'000, 100'000};
  int ticks = 10;
  double activePct = 1;
  app.add_option("--circuits", sizes, "circuit counts")->delimiter(',');
  app.add_option("--ticks", ticks, "measured ticks per size (after the baseline tick)");
  app.add_option("--active", activePct, "% of hosts whose counters move each tick");
  CLI11_PARSE(app, argc, argv);

  const int cpus = libbpf_num_possible_cpus();
  for (uint32_t n : sizes) {
    const plan::QueuePlan full = makePlan(n);
    const auto hosts = hostsOf(full);
    // The daemon keeps the full plan compact (lazy::FullPlan); its classes as plan::HtbClassPlan
    // for comparison.
    size_t planBytes = full.nodes.capacity() * sizeof(plan::NodePlacement) +
                       full.circuits.capacity() * sizeof(plan::CircuitPlacement) +
                       full.addresses.capacity() * sizeof(plan::AddressMapping);
    for (const auto& iface : full.interfaces) {
      for (const auto& q : iface.queues) planBytes += q.classes.capacity() * sizeof(plan::HtbClassPlan);
    }
    const lazy::FullPlan compact(full);
    dataplane::DataplaneOptions opts;
    opts.lpmCapacity = 1024;
    opts.hostCapacity = static_cast<uint32_t>(hosts.size() * 2 + 1024);
    auto dp = dataplane::Dataplane::open(opts);
    if (!dp) {
      std::fprintf(stderr, "data plane: %s\n", dp.error().message().c_str());
      return 1;
    }
    const int fd = (*dp)->addressHostMapFd();  // hosts simulated per address
    std::vector<sluice_host_counters> perCpu(static_cast<size_t>(cpus));
    const auto write = [&](size_t i, uint64_t bytes) {
      for (auto& v : perCpu) {
        v = {};
        v.bytes[0] = bytes;
        v.bytes[1] = bytes / 10;
      }
      bpf_map_update_elem(fd, &hosts[i], perCpu.data(), BPF_ANY);
    };
    for (size_t i = 0; i < hosts.size(); ++i) write(i, 1000);

    lazy::LazyTracker tracker({.mode = config::LazyQueues::Full,
                               .expire = std::chrono::seconds(600),
                               .thresholdBytes = std::nullopt});
    auto now = std::chrono::steady_clock::now();
    double p0 = wallSeconds();
    tracker.setPlan(full, now);
    const double setPlanMs = (wallSeconds() - p0) * 1e3;
    const size_t moving = std::max<size_t>(1, static_cast<size_t>(hosts.size() * activePct / 100));
    std::vector<double> readCpu, readWall, observeCpu, materializeCpu;
    size_t activated = 0;
    for (int t = 0; t <= ticks; ++t) {
      // A different `moving` hosts each tick: each tick activates that many circuits.
      for (size_t k = 0; k < moving && t > 0; ++k) {
        write((static_cast<size_t>(t) * moving + k) % hosts.size(), 1000 + 1500ull * t);
      }
      now += std::chrono::seconds(1);
      const double c0 = cpuSeconds(), w0 = wallSeconds();
      auto read = dataplane::readHostCounters(fd);
      const double c1 = cpuSeconds(), w1 = wallSeconds();
      if (!read) {
        std::fprintf(stderr, "read: %s\n", read.error().message().c_str());
        return 1;
      }
      auto d = tracker.observe(*read, now);
      const double c2 = cpuSeconds();
      auto m = lazy::materialize(compact, tracker.active(), config::LazyQueues::Full);
      const double c3 = cpuSeconds();
      if (t > 0) {
        readCpu.push_back((c1 - c0) * 1e3);
        readWall.push_back((w1 - w0) * 1e3);
        observeCpu.push_back((c2 - c1) * 1e3);
        materializeCpu.push_back((c3 - c2) * 1e3);
        activated += d.activated.size();
      }
    }
    std::printf("circuits=%-7u full plan held as lazy::FullPlan %.1f MB, as plan::QueuePlan "
                "%.1f MB (%zu classes, %zu distinct leaf specs)\n",
                n, compact.heapBytes() / 1e6, planBytes / 1e6, compact.classCount(),
                compact.leafSpecCount());
    std::printf("circuits=%-7u hosts=%-7zu moving/tick=%-6zu setPlan %.1f ms | per tick (median "
                "of %d): read cpu %.1f ms (wall %.1f), observe cpu %.2f ms, materialize cpu "
                "%.1f ms | activated %zu, active %zu\n",
                n, hosts.size(), moving, setPlanMs, ticks, median(readCpu), median(readWall),
                median(observeCpu), median(materializeCpu), activated, tracker.active().size());
    std::fflush(stdout);
  }
  return 0;
}
