#pragma once
// The comparison program (redirect_only.bpf.c): loaded with libbpf, its cpumap holding one
// entry for the CPU Sluice's mappings name, with the same queue size as Sluice's cpumap.

#include <bpf/libbpf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::realframe {

class RedirectOnly {
 public:
  /// Opens `objectPath`, sets the target CPU (rodata rf_cpu) and the cpumap's size to the
  /// possible CPUs (a larger cpumap is refused with E2BIG), loads it and fills the entry for
  /// `cpu` with `queueSize` frames. Throws std::runtime_error naming the step that failed.
  RedirectOnly(const std::string& objectPath, uint32_t cpu, uint32_t queueSize);
  ~RedirectOnly();
  RedirectOnly(const RedirectOnly&) = delete;
  RedirectOnly& operator=(const RedirectOnly&) = delete;

  int programFd() const;

 private:
  bpf_object* obj_ = nullptr;
  bpf_program* prog_ = nullptr;
};

/// Whether BPF_PROG_TEST_RUN accepts BPF_F_TEST_XDP_LIVE_FRAMES for `progFd` with `frame`
/// arriving on `ifindex` (call it inside that interface's namespace). true = accepted (the frame
/// was really sent on); false = refused, `reason` gets the errno text (EPERM here, 2026-12).
bool probeLiveFrames(int progFd, int ifindex, const std::vector<uint8_t>& frame,
                     std::string* reason);

}  // namespace sluice::realframe
