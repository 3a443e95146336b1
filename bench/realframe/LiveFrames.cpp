// Where the kernel accepts BPF_F_TEST_XDP_LIVE_FRAMES (net/bpf/test_run.c, Linux 5.18+): the
// XDP program runs on frames the kernel builds from one buffer and its verdicts are carried out
// for real, so a redirect goes into the cpumap and on through bridge, tc and HTB like a received
// frame. This drives the path without trafgen and veth (their cost stays out of the figures).

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "Bench.h"

namespace sluice::realframe {

Window liveFramesWindow(const Topology& topo, const Programs& progs, int xdpFd,
                        const std::vector<uint8_t>& frame, uint32_t frames,
                        const std::vector<std::string>& expected) {
  auto a = snapshot(topo, progs);
  double seconds = topo.inShaper([&] {
    cpu_set_t old, cpu0;
    pthread_getaffinity_np(pthread_self(), sizeof(old), &old);
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);  // the sender's CPU, as trafgen's
    pthread_setaffinity_np(pthread_self(), sizeof(cpu0), &cpu0);
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(frame.size());
    ctx.ingress_ifindex = static_cast<uint32_t>(topo.i1Ifindex());
    std::vector<uint8_t> data = frame;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(),
                .data_size_in = static_cast<uint32_t>(data.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(frames),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    auto t0 = std::chrono::steady_clock::now();
    int rc = bpf_prog_test_run_opts(xdpFd, &opts);
    int err = errno;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
    if (rc != 0) {
      throw std::runtime_error(std::string("live-frames test run: ") + std::strerror(err));
    }
    return s;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let CPU 1 drain its queue
  auto b = snapshot(topo, progs);
  Window w = difference(a, b, expected);
  // Rates over the test run itself, not the snapshot's own time.
  w.offeredPps = static_cast<double>(frames) / seconds;
  w.forwardedPps = w.forwardedPps * w.seconds / seconds;
  w.seconds = seconds;
  return w;
}

}  // namespace sluice::realframe
