#include "RedirectOnly.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "CpumapObject.h"

namespace sluice::realframe {
namespace {

[[noreturn]] void fail(const std::string& step, int err) {
  throw std::runtime_error("redirect-only program: " + step + ": " + std::strerror(err));
}

}  // namespace

RedirectOnly::RedirectOnly(const std::string& objectPath, uint32_t cpu, uint32_t queueSize)
    : obj_(bpftest::loadCpumapObject(objectPath, "rf_cpus", cpu, queueSize,
                                     "redirect-only program")),
      prog_(bpf_object__find_program_by_name(obj_, "rf_redirect")) {
  if (prog_ == nullptr) {
    bpf_object__close(obj_);
    fail("rf_redirect missing in " + objectPath, ENOENT);
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
