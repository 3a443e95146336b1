// The floor of a flow hit: see FloorBench.h and bench/bpf/floor.bpf.c.

#include "FloorBench.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "CpumapObject.h"
#include "abi/sluice_abi.h"

namespace sluice::bpftest {
namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error("floor program: " + what + ": " + std::strerror(err));
}

void setV4(uint8_t out[16], uint32_t hostOrder) {
  std::memset(out, 0, 16);
  out[10] = 0xff;
  out[11] = 0xff;
  const uint32_t be = htonl(hostOrder);
  std::memcpy(&out[12], &be, 4);
}

}  // namespace

FloorProgram::FloorProgram(uint32_t cpu)
    : obj_(loadCpumapObject(SLUICE_FLOOR_BPF_OBJ, "floor_cpus", cpu, 2048 /* sluice_cpus' */,
                            "floor program")) {
  for (const char* name : {"floor_flow_hit", "floor_flow_slot"}) {
    if (bpf_object__find_program_by_name(obj_, name) == nullptr) {
      bpf_object__close(obj_);
      fail(std::string(name) + " missing in " SLUICE_FLOOR_BPF_OBJ, ENOENT);
    }
  }
}

FloorProgram::~FloorProgram() { bpf_object__close(obj_); }

int FloorProgram::programFd() const {
  return bpf_program__fd(bpf_object__find_program_by_name(obj_, "floor_flow_hit"));
}

int FloorProgram::slotProgramFd() const {
  return bpf_program__fd(bpf_object__find_program_by_name(obj_, "floor_flow_slot"));
}

int FloorProgram::flowMapFd() const {
  return bpf_map__fd(bpf_object__find_map_by_name(obj_, "floor_flows"));
}

void fillFlowTable(int mapFd, size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<sluice_flow_key> keys(count + 1);
  std::vector<sluice_flow> values(count + 1);
  for (size_t i = 0; i < count; ++i) {
    sluice_flow_key& k = keys[i];
    std::memset(&k, 0, sizeof(k));
    setV4(k.local, 0x0a000000u | (rng() & 0x00ffffffu));
    setV4(k.remote, rng());
    k.local_port = static_cast<uint16_t>(rng());
    k.remote_port = static_cast<uint16_t>(rng());
    k.proto = IPPROTO_TCP;
  }
  sluice_flow_key& bench = keys[count];
  std::memset(&bench, 0, sizeof(bench));
  setV4(bench.local, 0x0a010203u);   // 10.1.2.3, the subscriber
  setV4(bench.remote, 0xcb007105u);  // 203.0.113.5
  bench.local_port = 50000;
  bench.remote_port = 443;
  bench.proto = IPPROTO_TCP;
  std::memset(values.data(), 0, values.size() * sizeof(sluice_flow));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (bpf_map_update_elem(mapFd, &keys[i], &values[i], BPF_ANY) != 0) {
      fail("insert flow " + std::to_string(i), errno);
    }
  }
}

}  // namespace sluice::bpftest
