#include "ProgStats.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::realframe {

BpfStatsSession::BpfStatsSession() {
  fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd_ < 0) {
    throw std::runtime_error(std::string("BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): ") +
                             std::strerror(errno));
  }
}

BpfStatsSession::~BpfStatsSession() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

ProgRunStats readProgStats(int progFd, const std::string& what) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(progFd, &info, &len) != 0) {
    throw std::runtime_error("BPF_OBJ_GET_INFO_BY_FD of " + what + ": " + std::strerror(errno));
  }
  return {info.run_time_ns, info.run_cnt};
}

double nsPerRun(const ProgRunStats& before, const ProgRunStats& after) {
  uint64_t runs = after.runCount - before.runCount;
  return runs == 0
             ? 0.0
             : static_cast<double>(after.runTimeNs - before.runTimeNs) / static_cast<double>(runs);
}

}  // namespace sluice::realframe
