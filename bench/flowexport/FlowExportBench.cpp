// bench_flowexport: CPU time of one exporter tick over a synthetic flow table, for the three
// phases a tick goes through: a steady table (every flow active, nothing due), a tick where every
// flow is due (idle: two records each), and encoding those records as NetFlow v5, v9 and IPFIX.
// Prints one line per table size. Usage: bench_flowexport [FLOWS...] (default 10000 100000 262144).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "flowexport/FlowTracker.h"
#include "flowexport/NetflowV5.h"
#include "flowexport/TemplateEncoder.h"

namespace {

using namespace sluice::flowexport;
using Clock = std::chrono::steady_clock;
constexpr uint64_t kS = 1'000'000'000ull;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void run(size_t n) {
  std::vector<sluice_flow_key> keys(n);
  std::vector<sluice_flow> flows(n);
  for (size_t i = 0; i < n; ++i) {
    sluice_flow_key& k = keys[i];
    k.local[10] = k.local[11] = k.remote[10] = k.remote[11] = 0xff;
    k.local[12] = 100;
    k.local[13] = 64;
    k.local[14] = static_cast<uint8_t>(i >> 8);
    k.local[15] = static_cast<uint8_t>(i);
    k.remote[12] = 192;
    k.remote[15] = static_cast<uint8_t>(i >> 16);
    k.local_port = static_cast<uint16_t>(1024 + i % 60000);
    k.remote_port = 443;
    k.proto = 6;
    flows[i].start_ns = 100 * kS;
    flows[i].last_ns = 100 * kS;
    flows[i].bytes[0] = 1'500'000;
    flows[i].packets[0] = 1000;
    flows[i].bytes[1] = 66'000;
    flows[i].packets[1] = 1000;
  }
  FlowTracker tracker(TrackerOptions{});
  std::vector<ExportRecord> records;
  tracker.observe(keys, flows, 100 * kS, records);  // first reading: builds the state
  auto t = Clock::now();
  tracker.observe(keys, flows, 101 * kS, records);  // steady: nothing due
  const double steadyMs = msSince(t);
  t = Clock::now();
  tracker.observe(keys, flows, 200 * kS, records);  // all idle: every flow reported
  const double dueMs = msSince(t);
  const ExportClock clock{200 * kS, 1'796'601'600ull * kS};
  NetflowV5Encoder v5;
  TemplateEncoder v9(WireFormat::kNetflowV9, 0);
  TemplateEncoder ipfix(WireFormat::kIpfix, 0);
  t = Clock::now();
  const size_t v5Packets = v5.encode(records, clock).size();
  const double v5Ms = msSince(t);
  t = Clock::now();
  const size_t v9Packets = v9.encode(records, clock, true).size();
  const double v9Ms = msSince(t);
  t = Clock::now();
  const size_t ipfixPackets = ipfix.encode(records, clock, true).size();
  const double ipfixMs = msSince(t);
  std::printf(
      "%7zu flows: steady tick %.1f ms, all-due tick %.1f ms (%zu records); encode v5 %.1f ms "
      "(%zu packets), v9 %.1f ms (%zu), IPFIX %.1f ms (%zu)\n",
      n, steadyMs, dueMs, records.size(), v5Ms, v5Packets, v9Ms, v9Packets, ipfixMs,
      ipfixPackets);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  }
  if (sizes.empty()) {
    sizes = {10'000, 100'000, 262'144};
  }
  for (size_t n : sizes) {
    run(n);
  }
  return 0;
}
