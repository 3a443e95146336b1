#include "RedirectOnly.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::realframe {
namespace {

[[noreturn]] void fail(const std::string& step, int err) {
  throw std::runtime_error("redirect-only program: " + step + ": " + std::strerror(err));
}

}  // namespace

RedirectOnly::RedirectOnly(const std::string& objectPath, uint32_t cpu, uint32_t queueSize) {
  obj_ = bpf_object__open_file(objectPath.c_str(), nullptr);
  if (obj_ == nullptr) {
    fail("open " + objectPath, errno);
  }
  prog_ = bpf_object__find_program_by_name(obj_, "rf_redirect");
  bpf_map* cpus = bpf_object__find_map_by_name(obj_, "rf_cpus");
  bpf_map* rodata = nullptr;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj_) {
    std::string name = bpf_map__name(m);
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".rodata") == 0) {
      rodata = m;
    }
  }
  if (prog_ == nullptr || cpus == nullptr || rodata == nullptr) {
    fail("rf_redirect, rf_cpus or .rodata missing in " + objectPath, ENOENT);
  }
  int possible = libbpf_num_possible_cpus();
  if (possible <= 0 || cpu >= static_cast<uint32_t>(possible)) {
    fail("CPU " + std::to_string(cpu) + " is not a possible CPU", EINVAL);
  }
  if (int e = bpf_map__set_max_entries(cpus, static_cast<uint32_t>(possible)); e != 0) {
    fail("size rf_cpus", -e);
  }
  if (int e = bpf_map__set_initial_value(rodata, &cpu, sizeof(cpu)); e != 0) {
    fail("set rf_cpu", -e);
  }
  if (int e = bpf_object__load(obj_); e != 0) {
    fail("load", -e);
  }
  bpf_cpumap_val val{};
  val.qsize = queueSize;
  if (bpf_map_update_elem(bpf_map__fd(cpus), &cpu, &val, BPF_ANY) != 0) {
    fail("cpumap entry for CPU " + std::to_string(cpu), errno);
  }
}

RedirectOnly::~RedirectOnly() {
  bpf_object__close(obj_);
}

int RedirectOnly::programFd() const {
  return bpf_program__fd(prog_);
}

bool probeLiveFrames(int progFd, int ifindex, const std::vector<uint8_t>& frame,
                     std::string* reason) {
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(frame.size());
  ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
  std::vector<uint8_t> data = frame;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(),
              .data_size_in = static_cast<uint32_t>(data.size()), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
  if (bpf_prog_test_run_opts(progFd, &opts) == 0) {
    return true;
  }
  if (reason != nullptr) {
    *reason = std::strerror(errno);
  }
  return false;
}

}  // namespace sluice::realframe
