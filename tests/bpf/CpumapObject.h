#pragma once
// Loading the benchmarks' own small BPF objects (bench/bpf/floor.bpf.c,
// bench/realframe/redirect_only.bpf.c), which redirect into a cpumap entry named by a load-time
// constant, as Sluice's sluice_xdp does.

#include <cstdint>
#include <string>

struct bpf_object;

namespace sluice::bpftest {

/// Opens `objectPath`, sizes its cpumap `cpumapName` to the possible CPUs (a larger cpumap is
/// refused with E2BIG), sets the object's .rodata to `cpu` (its one load-time constant, a u32),
/// loads it and fills the cpumap entry for `cpu` with `queueSize` frames. Returns the loaded
/// object (the caller closes it with bpf_object__close). Throws std::runtime_error, prefixed with
/// `what`, naming the step that failed and the errno text.
bpf_object* loadCpumapObject(const std::string& objectPath, const std::string& cpumapName,
                             uint32_t cpu, uint32_t queueSize, const std::string& what);

}  // namespace sluice::bpftest
