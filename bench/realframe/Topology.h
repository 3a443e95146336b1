#pragma once
// The real-frame benchmark's namespaces (names carry the pid; deleted by the destructor, and by
// run.sh's trap if the process dies):
//
//   rfi-PID (inet)     rfs-PID (shaper, IPv6 off)                      rfb-PID (subs)
//   i0 (trafgen) ════ i1 [XDP] ── br0 ── s1 [XDP, tc egress] ════ s0 (sink: counts rx)
//                                      mq 7fff: ─ HTB 1: and 2: (default M:2) per tx queue
//
// i1 and s1 have 2 tx/rx queues and no XPS, so tc's queue_mapping = HTB major picks mq child
// 7fff:major (DESIGN §1). Frames go to the sink MAC kSinkMac, a static FDB entry on s1: s0 has
// another MAC, so it counts the frame (rx_packets) and drops it as "other host" without
// answering. HTB leaves 1:30, 2:30, 2:34, 2:40 and the default classes M:2 are far above the
// offered load (10 Gbit/s ceil): the benchmark measures forwarding, not shaping.

#include <cstdint>
#include <map>
#include <string>

namespace sluice::realframe {

/// Destination MAC of every generated frame (locally administered).
inline constexpr uint8_t kSinkMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
/// Source MAC of every generated frame.
inline constexpr uint8_t kSourceMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

/// Runs `cmd` through /bin/sh; returns its stdout+stderr in `out` (if given) and true on exit 0.
bool shell(const std::string& cmd, std::string* out = nullptr);

class Topology {
 public:
  /// Builds the namespaces, links, bridge, FDB entry and HTB trees (with `holder`, each HTB under
  /// a TBF holder as `[sluice] queue_holder = "tbf"` builds it); throws std::runtime_error naming
  /// the failed command (the destructor still removes what exists).
  explicit Topology(bool holder = false);
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  const std::string& inet() const { return inet_; }
  const std::string& shaper() const { return shaper_; }
  const std::string& subs() const { return subs_; }
  int i1Ifindex() const { return i1_; }  ///< Internet-facing port in the shaper
  int s1Ifindex() const { return s1_; }  ///< subscriber-facing port in the shaper

  /// Runs `fn` with the calling thread inside namespace `ns`, then returns to the original one.
  template <typename Fn>
  auto inNamespace(const std::string& ns, Fn fn) const {
    int self = enter(ns);
    auto r = fn();
    leave(self);
    return r;
  }
  /// The same in the shaper namespace (attach, if_nametoindex).
  template <typename Fn>
  auto inShaper(Fn fn) const {
    return inNamespace(shaper_, fn);
  }

  /// rx_packets of s0 (packets that crossed the whole path) and tx_packets of i0 (sent), read
  /// through getifaddrs(3) inside the namespace (no process started: a reading takes
  /// microseconds, so a window's rate is not skewed by fork/exec on a loaded machine). These
  /// are the 32-bit rtnl_link_stats counters: differences are taken modulo 2^32.
  uint32_t sinkRxPackets() const;
  uint32_t sourceTxPackets() const;
  /// Sent packets of every HTB class on s1, keyed "1:30", "2:2", ...
  std::map<std::string, uint64_t> htbClassPackets() const;
  /// Total drops reported by the qdiscs on s1 (HTB and leaves).
  uint64_t qdiscDrops() const;

 private:
  /// Moves the calling thread into `ns`; returns a descriptor of the namespace it left.
  int enter(const std::string& ns) const;
  /// Moves it back there and closes the descriptor.
  void leave(int self) const;
  void exec(const std::string& ns, const std::string& cmd);
  uint32_t linkCounter(const std::string& ns, const std::string& dev, bool rx) const;

  std::string inet_, shaper_, subs_;
  int i1_ = 0, s1_ = 0;
};

}  // namespace sluice::realframe
