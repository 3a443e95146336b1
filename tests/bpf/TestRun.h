#pragma once
// BPF_PROG_TEST_RUN helpers and the private network namespace the fixtures run in.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "abi/sluice_abi.h"
#include "common/Error.h"

namespace sluice::bpftest {

/// Moves the calling process into a fresh network namespace holding a veth pair
/// "sl-inet"/"sl-net" (both up): the ifindexes the programs' direction config refers to.
/// Must run before any thread is started. Errors: unshare/ip errno.
struct Lab {
  int internetIfindex = 0;
  int networkIfindex = 0;
};
Result<Lab> enterPrivateLab();

struct XdpRun {
  int verdict = -1;
  std::optional<sluice_xdp_meta> meta;  ///< present when the program left a metadata block
  uint32_t durationNs = 0;              ///< per repeat, as the kernel measured it
};
/// Runs an XDP program once (or `repeat` times) on `packet` as if received on `ifindex`
/// (rx queue 0). Errors: bpf_prog_test_run_opts errno.
Result<XdpRun> runXdp(int progFd, const std::vector<uint8_t>& packet, int ifindex,
                      uint32_t repeat = 1);

struct TcRun {
  int verdict = -1;
  uint32_t priority = 0;
  uint32_t durationNs = 0;
};
/// Runs a tc program on `packet` as if sent through `ifindex`. The kernel's test-run reports
/// skb->priority back but not skb->queue_mapping; the namespace test checks that one through
/// mq/HTB class counters. Errors: errno.
Result<TcRun> runTc(int progFd, const std::vector<uint8_t>& packet, int ifindex,
                    uint32_t repeat = 1);

/// The default classid the programs pick for an unknown subscriber address (same hash).
uint32_t expectedDefaultClassid(const std::string& address, int direction, uint32_t queues,
                                bool onAStick);

}  // namespace sluice::bpftest
