#pragma once
// The floor of a flow hit for bench_dataplane: bench/bpf/floor.bpf.c loaded with libbpf, and
// the flow-table filler both it and Sluice's own flow table use, so that their rows compare.

#include <cstddef>
#include <cstdint>
#include <string>

struct bpf_object;

namespace sluice::bpftest {

/// floor_flow_hit (minimal IPv4/TCP parse, one lookup in a flow table of Sluice's key and value
/// layout, one counter, cpumap redirect into CPU `cpu`) and floor_flow_slot (the same with a
/// direct-mapped array instead of the hash map), loaded from SLUICE_FLOOR_BPF_OBJ.
/// Throws std::runtime_error naming the step and errno when the object does not load.
class FloorProgram {
 public:
  explicit FloorProgram(uint32_t cpu);
  ~FloorProgram();
  FloorProgram(const FloorProgram&) = delete;
  FloorProgram& operator=(const FloorProgram&) = delete;

  int programFd() const;      ///< floor_flow_hit (hash map)
  int slotProgramFd() const;  ///< floor_flow_slot (direct-mapped array)
  int flowMapFd() const;

 private:
  bpf_object* obj_ = nullptr;
};

/// Inserts `count` flows with random IPv4 addresses and ports (seeded, so both tables get the
/// same keys) into a flow table (key struct sluice_flow_key, value struct sluice_flow), plus the
/// flow of the benchmark packet 203.0.113.5:443 -> 10.1.2.3:50000 TCP seen from the subscriber
/// side, whose mapping is left zero. Throws std::runtime_error with errno on a refused update.
void fillFlowTable(int mapFd, size_t count, uint32_t seed);

}  // namespace sluice::bpftest
