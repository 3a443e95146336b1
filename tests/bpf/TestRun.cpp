#include "TestRun.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>

#include <cstdlib>
#include <cstring>

namespace sluice::bpftest {

Result<Lab> enterPrivateLab() {
  if (unshare(CLONE_NEWNET) != 0) {
    return makeError(errno, "unshare(CLONE_NEWNET)");
  }
  if (std::system("ip link add sl-inet type veth peer name sl-net && ip link set lo up && "
                  "ip link set sl-inet up && ip link set sl-net up") != 0) {
    return makeError(EIO, "ip link add sl-inet type veth peer name sl-net");
  }
  Lab lab;
  lab.internetIfindex = static_cast<int>(if_nametoindex("sl-inet"));
  lab.networkIfindex = static_cast<int>(if_nametoindex("sl-net"));
  if (lab.internetIfindex == 0 || lab.networkIfindex == 0) {
    return makeError(errno, "if_nametoindex sl-inet/sl-net");
  }
  return lab;
}

Result<XdpRun> runXdp(int progFd, const std::vector<uint8_t>& packet, int ifindex,
                      uint32_t repeat) {
  std::vector<uint8_t> out(packet.size() + 256);
  xdp_md ctxIn{};
  ctxIn.data_end = static_cast<uint32_t>(packet.size());
  ctxIn.ingress_ifindex = static_cast<uint32_t>(ifindex);
  xdp_md ctxOut{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
              .data_out = out.data(), .data_size_in = static_cast<uint32_t>(packet.size()),
              .data_size_out = static_cast<uint32_t>(out.size()), .ctx_in = &ctxIn,
              .ctx_out = &ctxOut, .ctx_size_in = sizeof(ctxIn), .ctx_size_out = sizeof(ctxOut),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(progFd, &opts) != 0) {
    return makeError(errno, "BPF_PROG_TEST_RUN (XDP)");
  }
  XdpRun run;
  run.verdict = static_cast<int>(opts.retval);
  run.durationNs = opts.duration;
  // The output starts at data_meta; ctx_out.data is the metadata length (DESIGN §5).
  if (ctxOut.data >= sizeof(sluice_xdp_meta) && opts.data_size_out >= sizeof(sluice_xdp_meta)) {
    sluice_xdp_meta meta;
    std::memcpy(&meta, out.data(), sizeof(meta));
    run.meta = meta;
  }
  return run;
}

Result<TcRun> runTc(int progFd, const std::vector<uint8_t>& packet, int ifindex,
                    uint32_t repeat) {
  std::vector<uint8_t> out(packet.size() + 256);
  __sk_buff ctxIn{};
  ctxIn.ifindex = static_cast<uint32_t>(ifindex);
  __sk_buff ctxOut{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
              .data_out = out.data(), .data_size_in = static_cast<uint32_t>(packet.size()),
              .data_size_out = static_cast<uint32_t>(out.size()), .ctx_in = &ctxIn,
              .ctx_out = &ctxOut, .ctx_size_in = sizeof(ctxIn), .ctx_size_out = sizeof(ctxOut),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(progFd, &opts) != 0) {
    return makeError(errno, "BPF_PROG_TEST_RUN (tc)");
  }
  TcRun run;
  run.verdict = static_cast<int>(opts.retval);
  run.priority = ctxOut.priority;
  run.durationNs = opts.duration;
  return run;
}

uint32_t expectedDefaultClassid(const std::string& address, int direction, uint32_t queues,
                                bool onAStick) {
  uint8_t addr[16] = {};
  if (address.find(':') == std::string::npos) {
    addr[10] = 0xff;
    addr[11] = 0xff;
    inet_pton(AF_INET, address.c_str(), addr + 12);
  } else {
    inet_pton(AF_INET6, address.c_str(), addr);
  }
  uint32_t w[4];
  std::memcpy(w, addr, sizeof(w));  // the program loads native-endian words
  uint32_t hash = (w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9e3779b1u;
  uint32_t queue = (hash >> 16) % queues;
  uint32_t major = queue + 1 + ((onAStick && direction == SLUICE_DIR_UP) ? queues : 0);
  return (major << 16) | SLUICE_DEFAULT_MINOR;
}

}  // namespace sluice::bpftest
