// Heap kept by the parsed ShapedDevices.csv (model::ShapedDevices) on synthetic ISPs (src/synth:
// 1–3 devices per circuit, mean ≈ 1.57, half of the devices with an IPv6 prefix), parsed under a
// realistic absolute path (longer than std::string's inline capacity, as in a deployment).
//
// Counters: `retained_MB` is the glibc heap in use (mallinfo2().uordblks) after parsing minus
// before, with the CSV text allocated beforehand, so it is what the model keeps once the parser's
// temporaries are freed; `bytes_per_circuit` is the same divided by the circuit count. Time is the
// parse alone.
//
//   build/bench/model/bench_model --benchmark_filter='Retained/100000'

#include <malloc.h>

#include <map>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>

#include "common/Diagnostics.h"
#include "model/ShapedDevicesCsv.h"
#include "synth/Synth.h"

namespace {

using namespace sluice;

const std::string kPath = "/var/lib/sluice/inputs/ShapedDevices.csv";

const std::string& csvFor(uint32_t circuits) {
  static std::map<uint32_t, std::string> cache;
  auto it = cache.find(circuits);
  if (it == cache.end()) {
    synth::SynthOptions o;
    o.seed = 2026;
    o.circuits = circuits;
    o.sites = circuits >= 100'000 ? 40 : 8;
    it = cache.emplace(circuits, synth::generate(o).shapedDevicesCsv).first;
  }
  return it->second;
}

size_t heapInUseBytes() { return mallinfo2().uordblks; }

void Retained(benchmark::State& state) {
  const auto circuits = static_cast<uint32_t>(state.range(0));
  const std::string& csv = csvFor(circuits);
  size_t retained = 0;
  size_t parsed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    malloc_trim(0);
    const size_t before = heapInUseBytes();
    state.ResumeTiming();
    Diagnostics diags;
    auto shaped = model::parseShapedDevices(csv, kPath, diags);
    state.PauseTiming();
    if (diags.hasErrors()) {
      throw std::runtime_error(diags.errors().front().toString());
    }
    diags = Diagnostics();  // warnings (if any) are not part of the model
    retained = heapInUseBytes() - before;
    parsed = shaped.circuits.size();
    benchmark::DoNotOptimize(shaped);
    state.ResumeTiming();
  }
  state.counters["retained_MB"] = static_cast<double>(retained) / 1e6;
  state.counters["bytes_per_circuit"] = static_cast<double>(retained) / static_cast<double>(parsed);
  state.counters["circuits"] = static_cast<double>(parsed);
}
BENCHMARK(Retained)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
