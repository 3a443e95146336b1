#pragma once
// Seeded generator of realistic synthetic ISPs (sites → POPs → APs → circuits), used by tests,
// benchmarks and `sluice-gen`. Same options → byte-identical output.

#include <cstdint>
#include <string>

namespace sluice::synth {

struct SynthOptions {
  uint64_t seed = 1;
  uint32_t circuits = 100;
  uint32_t sites = 4;            ///< top-level nodes
  uint32_t popsPerSite = 2;
  uint32_t apsPerPop = 3;
  double devicesPerCircuitMax = 3;  ///< 1..max devices per circuit
  double ipv6Share = 0.5;           ///< fraction of devices that also get an IPv6 /64 (or /56)
  double cidrShare = 0.05;          ///< fraction of devices whose IPv4 cell is a CIDR
  double sqmOverrideShare = 0.05;   ///< fraction of circuits with an sqm column override
  double unparentedShare = 0.0;     ///< fraction of circuits with an empty Parent Node
};

struct SynthFiles {
  std::string networkJson;
  std::string shapedDevicesCsv;
};

/// Generates a valid ISP (no validation errors) for the options.
SynthFiles generate(const SynthOptions& options);

}  // namespace sluice::synth
