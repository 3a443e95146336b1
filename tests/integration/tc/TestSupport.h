#pragma once
// Support for kernel tests of the tc backend: a network namespace with a veth pair that is
// always deleted again (RAII, unique names), and synthetic queue plans shaped like the planner's.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "planner/QueuePlan.h"

namespace sluice::tc::testing {

/// Runs a shell command; throws with the command when it fails.
inline void run(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("command failed: " + cmd);
  }
}

/// Runs a shell command and returns its standard output (whatever its exit status).
inline std::string capture(const std::string& cmd) {
  std::string out;
  if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
    char buffer[512];
    while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

/// Runs a shell command and returns its exit status (no throw).
inline int tryRun(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

/// A network namespace named sl-tc-<pid>-<n>, deleted in the destructor (even when the test
/// fails: gtest failures unwind normally and exceptions run destructors).
class Netns {
 public:
  Netns() : name_(fmt::format("sl-tc-{}-{}", ::getpid(), counter()++)) {
    run("ip netns add " + name_);
  }
  ~Netns() { tryRun("ip netns del " + name_); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  std::string path() const { return "/var/run/netns/" + name_; }
  /// Runs `cmd` inside the namespace (ip netns exec).
  void exec(const std::string& cmd) const { run("ip netns exec " + name_ + " " + cmd); }

 private:
  static std::atomic<int>& counter() {
    static std::atomic<int> c{0};
    return c;
  }
  std::string name_;
};

/// Creates veth `a0` (in `ns`) with its peer `b0` (in `peerNs`, or `ns` when null), both with
/// `queues` tx and rx queues, both up.
inline void addVethPair(const Netns& ns, uint32_t queues, const Netns* peerNs = nullptr) {
  run(fmt::format("ip -n {} link add a0 numtxqueues {} numrxqueues {} type veth peer name b0 "
                  "numtxqueues {} numrxqueues {}{}",
                  ns.name(), queues, queues, queues, queues,
                  peerNs ? " netns " + peerNs->name() : std::string()));
  run(fmt::format("ip -n {} link set a0 up", ns.name()));
  run(fmt::format("ip -n {} link set b0 up", peerNs ? peerNs->name() : ns.name()));
}

/// Attaches a tc egress BPF program to `ifname` in `ns` that sets skb->priority = `classid` and
/// skb->queue_mapping = `queueMapping` on every packet (what the data plane's classifier does
/// per subscriber), direct action, TC_ACT_OK. Raw instructions, so no compiler is needed:
///
///   r2 = classid;      *(u32 *)(r1 + offsetof(__sk_buff, priority)) = r2
///   r2 = queueMapping; *(u32 *)(r1 + offsetof(__sk_buff, queue_mapping)) = r2
///   r0 = TC_ACT_OK;    exit
///
/// The program stays attached until the namespace goes away. Throws on failure.
inline void attachSteering(const Netns& ns, const std::string& ifname, uint32_t classid,
                           uint32_t queueMapping) {
  const auto insn = [](uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xF;
    i.src_reg = src & 0xF;
    i.off = off;
    i.imm = imm;
    return i;
  };
  const bpf_insn prog[] = {
      insn(BPF_ALU | BPF_MOV | BPF_K, 2, 0, 0, static_cast<int32_t>(classid)),
      insn(BPF_STX | BPF_MEM | BPF_W, 1, 2, offsetof(__sk_buff, priority), 0),
      insn(BPF_ALU | BPF_MOV | BPF_K, 2, 0, 0, static_cast<int32_t>(queueMapping)),
      insn(BPF_STX | BPF_MEM | BPF_W, 1, 2, offsetof(__sk_buff, queue_mapping), 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, TC_ACT_OK),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  const int progFd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "sl_steer", "GPL", prog,
                                   sizeof(prog) / sizeof(prog[0]), nullptr);
  if (progFd < 0) {
    throw std::runtime_error("bpf_prog_load of the steering program failed");
  }
  // libbpf's tc attach talks netlink in the calling thread's namespace: enter `ns` briefly.
  const int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (self < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    throw std::runtime_error("cannot enter namespace " + ns.name());
  }
  const int ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_EGRESS;
  int rc = bpf_tc_hook_create(&hook);
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.prog_fd = progFd;
  if (rc == 0 || rc == -EEXIST) {
    rc = bpf_tc_attach(&hook, &opts);
  }
  const bool back = ::setns(self, CLONE_NEWNET) == 0;
  ::close(self);
  ::close(target);
  ::close(progFd);
  if (!back) {
    std::abort();  // the test process would run on in the wrong namespace
  }
  if (ifindex == 0 || rc != 0) {
    throw std::runtime_error(fmt::format("attaching the steering program to {} failed: {}",
                                         ifname, rc));
  }
}

/// A plan for one interface shaped like the planner's output (DESIGN §1): per tx queue an HTB
/// (major q+1, r2q 10, default 2) with link class M:1 (prio 3), default class M:2 (prio 5, pfifo
/// leaf), `sitesPerQueue` site classes under M:1 and circuits spread over the sites, each with
/// a leaf of `leafKind` (handle major 0x100 + circuit index). Rates vary per circuit so that
/// mix-ups show; the link class rate is 40 Gbit/s to cover 64-bit rates.
inline plan::InterfacePlan makePlan(const std::string& ifname, uint16_t queues, uint32_t circuits,
                                    plan::LeafKind leafKind, uint16_t sitesPerQueue = 4) {
  plan::InterfacePlan p;
  p.ifname = ifname;
  constexpr uint64_t kMbit = 1'000'000;
  for (uint16_t q = 0; q < queues; ++q) {
    plan::HtbQueuePlan hq;
    hq.txQueue = q;
    hq.major = static_cast<uint16_t>(q + 1);
    hq.r2q = 10;
    hq.defaultMinor = plan::kDefaultMinor;
    const auto cls = [&](uint16_t minor, uint16_t parentMinor, uint64_t rate, uint64_t ceil,
                         uint32_t prio, plan::ClassRole role) {
      plan::HtbClassPlan c;
      c.classid = {hq.major, minor};
      c.parent = {hq.major, parentMinor};
      c.rateBitsPerSecond = rate;
      c.ceilBitsPerSecond = ceil;
      c.quantumBytes = static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(
          1522, rate / 8 / hq.r2q), 60000));
      c.prio = prio;
      c.role = role;
      return c;
    };
    hq.classes.push_back(cls(1, 0, 40'000 * kMbit, 40'000 * kMbit, 3, plan::ClassRole::Link));
    auto def = cls(2, 1, 1 * kMbit, 40'000 * kMbit, 5, plan::ClassRole::Default);
    def.leaf = plan::LeafSpec{plan::LeafKind::Pfifo, static_cast<uint16_t>(0x7000 + q)};
    def.leaf->fifoLimit = 1000;
    hq.classes.push_back(def);
    for (uint16_t s = 0; s < sitesPerQueue; ++s) {
      hq.classes.push_back(cls(static_cast<uint16_t>(plan::kFirstFreeMinor + s), 1,
                               (100 + s) * kMbit, (1000 + s) * kMbit, 3, plan::ClassRole::Node));
    }
    p.queues.push_back(std::move(hq));
  }
  for (uint32_t i = 0; i < circuits; ++i) {
    auto& hq = p.queues[i % queues];
    const uint16_t site = static_cast<uint16_t>(plan::kFirstFreeMinor + (i / queues) % sitesPerQueue);
    const uint16_t minor = static_cast<uint16_t>(plan::kFirstFreeMinor + sitesPerQueue + i / queues);
    plan::HtbClassPlan c;
    c.classid = {hq.major, minor};
    c.parent = {hq.major, site};
    c.rateBitsPerSecond = (1 + i % 97) * kMbit / 4 + i;  // odd bit counts on purpose
    c.ceilBitsPerSecond = c.rateBitsPerSecond * (2 + i % 5);
    c.quantumBytes = static_cast<uint32_t>(
        std::min<uint64_t>(std::max<uint64_t>(1522, c.rateBitsPerSecond / 8 / hq.r2q), 60000));
    c.prio = 3;
    c.role = plan::ClassRole::Circuit;
    c.modelIndex = static_cast<int32_t>(i);
    plan::LeafSpec leaf;
    leaf.kind = leafKind;
    leaf.handleMajor = static_cast<uint16_t>(0x100 + i);
    leaf.fifoLimit = leafKind == plan::LeafKind::Pfifo ? 100 + i % 900 : 0;
    if (leafKind == plan::LeafKind::Bfifo) {
      leaf.fifoLimit = 15000 + i;
    }
    c.leaf = leaf;
    hq.classes.push_back(c);
  }
  return p;
}

}  // namespace sluice::tc::testing
