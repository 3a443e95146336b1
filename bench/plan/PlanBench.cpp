// Input pipeline benchmark on synthetic ISPs (src/synth): parse network.json, parse
// ShapedDevices.csv, validate, plan (buildPlan), all of it together, and the address map alone.
//
// Every benchmark reports `peak_rss_MB`: the process's peak resident set (getrusage ru_maxrss)
// after the peak was reset (/proc/self/clear_refs "5") at the start of that benchmark, so that run
// alone (--benchmark_filter) it is the peak of that benchmark, inputs included. Fixtures are built
// lazily and kept, so a later benchmark's peak includes earlier fixtures still in memory.
//
//   build/bench/plan/bench_plan --benchmark_filter='All/100000'

#include <sys/resource.h>

#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>

#include <benchmark/benchmark.h>

#include "common/Diagnostics.h"
#include "config/ConfigLoader.h"
#include "model/Inputs.h"
#include "model/NetworkJson.h"
#include "model/ShapedDevicesCsv.h"
#include "planner/PlanTree.h"
#include "planner/Planner.h"
#include "synth/Synth.h"

namespace {

using namespace sluice;

constexpr uint32_t kTxQueues = 2;  // this machine: 2 CPUs, so 2 shaping queues
constexpr uint32_t kCpus = 2;

struct Fixture {
  synth::SynthFiles files;
  config::Config config;
  std::unique_ptr<model::Model> parsed;     ///< parsed, not validated
  std::unique_ptr<model::Model> validated;  ///< parsed and validated
};

/// Synth options for `circuits`: ~1,000 nodes at 100k circuits (40 sites × 5 POPs × 4 APs), ~100
/// at 10k; 1–3 devices per circuit (mean ≈ 1.57). 40% of the circuits have sqm "none": an
/// interface holds at most 65,534 qdiscs, so 100k circuits with a leaf each cannot be planned on
/// one bridge (planner-leaf-handles-exhausted); the 10k ISP has the same mix for comparability.
synth::SynthOptions optionsFor(uint32_t circuits) {
  synth::SynthOptions o;
  o.seed = 2026;
  o.circuits = circuits;
  o.sqmNoneShare = 0.4;
  if (circuits >= 100'000) {
    o.sites = 40;
    o.popsPerSite = 5;
    o.apsPerPop = 4;
  } else {
    o.sites = 8;
    o.popsPerSite = 3;
    o.apsPerPop = 3;
  }
  return o;
}

void check(const Diagnostics& diags, const char* what) {
  if (diags.hasErrors()) {
    throw std::runtime_error(std::string(what) + ": " + diags.errors().front().toString());
  }
}

config::Config loadBenchConfig() {
  Diagnostics diags;
  auto config = config::parseConfig(synth::renderLqosConf({}), "lqos.conf", diags);
  check(diags, "lqos.conf");
  return *config;
}

model::Model parseModel(const synth::SynthFiles& files, Diagnostics& diags) {
  model::Model m;
  m.network = model::parseNetworkJson(files.networkJson, "network.json", diags);
  m.shaped = model::parseShapedDevices(files.shapedDevicesCsv, "ShapedDevices.csv", diags);
  return m;
}

Fixture& fixture(const synth::SynthOptions& o, bool needParsed, bool needValidated) {
  static std::map<std::pair<uint32_t, double>, Fixture> cache;
  Fixture& f = cache[{o.circuits, o.ipv6Share}];
  if (f.files.shapedDevicesCsv.empty()) {
    f.files = synth::generate(o);
    f.config = loadBenchConfig();
  }
  if (needParsed && !f.parsed) {
    Diagnostics diags;
    f.parsed = std::make_unique<model::Model>(parseModel(f.files, diags));
    check(diags, "parse");
  }
  if (needValidated && !f.validated) {
    Diagnostics diags;
    f.validated = std::make_unique<model::Model>(parseModel(f.files, diags));
    model::validateModel(*f.validated, f.config, diags);
    check(diags, "validate");
  }
  return f;
}

void resetPeakRss() {
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

void reportPeakRss(benchmark::State& state) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void reportSize(benchmark::State& state, const Fixture& f) {
  state.counters["circuits"] = f.files.stats.circuits;
  state.counters["devices"] = f.files.stats.devices;
  state.counters["nodes"] = f.files.stats.nodes;
}

void BM_ParseNetworkJson(benchmark::State& state) {
  const Fixture& f = fixture(optionsFor(static_cast<uint32_t>(state.range(0))), false, false);
  resetPeakRss();
  for (auto _ : state) {
    Diagnostics diags;
    auto net = model::parseNetworkJson(f.files.networkJson, "network.json", diags);
    benchmark::DoNotOptimize(net);
  }
  state.SetBytesProcessed(state.iterations() * f.files.networkJson.size());
  reportSize(state, f);
  reportPeakRss(state);
}

void BM_ParseShapedDevices(benchmark::State& state) {
  const Fixture& f = fixture(optionsFor(static_cast<uint32_t>(state.range(0))), false, false);
  resetPeakRss();
  for (auto _ : state) {
    Diagnostics diags;
    auto shaped = model::parseShapedDevices(f.files.shapedDevicesCsv, "ShapedDevices.csv", diags);
    benchmark::DoNotOptimize(shaped);
  }
  state.SetBytesProcessed(state.iterations() * f.files.shapedDevicesCsv.size());
  reportSize(state, f);
  reportPeakRss(state);
}

void BM_Validate(benchmark::State& state) {
  Fixture& f = fixture(optionsFor(static_cast<uint32_t>(state.range(0))), true, false);
  resetPeakRss();
  for (auto _ : state) {
    state.PauseTiming();
    model::Model m = *f.parsed;  // validateModel fills in derived fields: start from a fresh copy
    Diagnostics diags;
    state.ResumeTiming();
    model::validateModel(m, f.config, diags);
    benchmark::DoNotOptimize(m);
  }
  reportSize(state, f);
  reportPeakRss(state);
}

void BM_Plan(benchmark::State& state) {
  Fixture& f = fixture(optionsFor(static_cast<uint32_t>(state.range(0))), false, true);
  resetPeakRss();
  size_t classes = 0;
  for (auto _ : state) {
    Diagnostics diags;
    auto plan =
        plan::buildPlan(plan::PlannerInput{f.config, *f.validated, kTxQueues, kCpus}, diags);
    if (!plan) {
      state.SkipWithError("buildPlan failed");
      return;
    }
    classes = 0;
    for (const auto& iface : plan->interfaces) {
      for (const auto& q : iface.queues) {
        classes += q.classes.size();
      }
    }
    benchmark::DoNotOptimize(plan);
  }
  state.counters["htb_classes"] = static_cast<double>(classes);
  reportSize(state, f);
  reportPeakRss(state);
}

/// What `sluice check`/`plan` and a daemon reload do: parse both files, validate, plan.
void BM_All(benchmark::State& state) {
  const Fixture& f = fixture(optionsFor(static_cast<uint32_t>(state.range(0))), false, false);
  resetPeakRss();
  for (auto _ : state) {
    Diagnostics diags;
    model::Model m = parseModel(f.files, diags);
    model::validateModel(m, f.config, diags);
    auto plan = plan::buildPlan(plan::PlannerInput{f.config, m, kTxQueues, kCpus}, diags);
    if (!plan || diags.hasErrors()) {
      state.SkipWithError("pipeline failed");
      return;
    }
    benchmark::DoNotOptimize(plan);
  }
  reportSize(state, f);
  reportPeakRss(state);
}

/// The address map alone (plan::detail::buildAddressMap: one entry per address/prefix, sorted).
/// Sizes are in addresses: 10k ≈ 3,150 circuits, 1M ≈ 315k circuits (every device has IPv6 too,
/// ≈ 3.17 addresses per circuit); 8 queues (8 tx queues, 8 CPUs) keep every queue under 65,535
/// classes. The plan is built once outside the timing; only the map is timed.
void BM_AddressMap(benchmark::State& state) {
  const auto wanted = static_cast<double>(state.range(0));
  synth::SynthOptions o = optionsFor(static_cast<uint32_t>(wanted / 3.17));
  o.ipv6Share = 1.0;
  o.sqmNoneShare = 0.85;  // 315k circuits: ≤ 65,534 leaf qdiscs per interface
  Fixture& f = fixture(o, false, true);
  Diagnostics diags;
  auto plan = plan::buildPlan(plan::PlannerInput{f.config, *f.validated, 8, 8}, diags);
  if (!plan) {
    state.SkipWithError("buildPlan failed");
    return;
  }
  resetPeakRss();
  for (auto _ : state) {
    plan::detail::buildAddressMap(*f.validated, *plan);
    benchmark::DoNotOptimize(plan->addresses.data());
  }
  state.counters["addresses"] = static_cast<double>(plan->addresses.size());
  state.SetItemsProcessed(state.iterations() * plan->addresses.size());
  reportSize(state, f);
  reportPeakRss(state);
}

BENCHMARK(BM_ParseNetworkJson)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseShapedDevices)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Validate)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plan)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_All)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AddressMap)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
