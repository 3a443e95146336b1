#pragma once
// The active probe of StormGuard's `delay_probe_active` strategy: ICMP echo requests toward one
// target (`active_ping_target`, an IPv4 or IPv6 address), one outstanding at a time, and the
// round-trip time of each reply. LibreQoS pings through its `lqos_probe`; the timing rules
// (interval, timeout, sample validity) live with the caller (daemon/StormGuardService) and the
// blend with the passive RTT in blendRtt() below (shared/reference §2).
//
// Socket kinds, in order of preference:
//   - an unprivileged datagram ICMP socket (SOCK_DGRAM + IPPROTO_ICMP / IPPROTO_ICMPV6, Linux
//     `ping` sockets, net/ipv4/ping.c): allowed when the process's group is inside
//     net.ipv4.ping_group_range (empty, "1 0", by default); the kernel chooses the echo
//     identifier and delivers only this socket's replies;
//   - a raw ICMP socket (SOCK_RAW, CAP_NET_RAW; sluiced runs as root or with that capability):
//     every ICMP message of the host arrives, so replies are matched by identifier, sequence,
//     source address and a payload tag.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <netinet/in.h>

#include "common/Error.h"

namespace sluice::stormguard {

class IcmpProbe {
 public:
  enum class Kind : uint8_t { Datagram, Raw };

  /// Opens a probe toward `target` (a literal IPv4 or IPv6 address, no name resolution: the
  /// daemon must not block on DNS in its control loop). Errors: EINVAL for a target that is not
  /// an address; otherwise the errno of the raw socket when neither kind can be opened (EPERM
  /// without CAP_NET_RAW and outside ping_group_range).
  static Result<std::unique_ptr<IcmpProbe>> open(const std::string& target);
  ~IcmpProbe();
  IcmpProbe(const IcmpProbe&) = delete;
  IcmpProbe& operator=(const IcmpProbe&) = delete;

  /// Sends one echo request and waits up to `timeoutSeconds` for its reply. Returns the RTT in
  /// milliseconds (steady clock, send to receive of the matching reply), or nullopt when no reply
  /// came in time (replies to earlier, timed-out requests are ignored). Errors: sendto/recv
  /// failures (e.g. ENETUNREACH when no route leads to the target).
  Result<std::optional<double>> ping(double timeoutSeconds);

  Kind kind() const { return kind_; }
  const std::string& target() const { return target_; }

 private:
  IcmpProbe() = default;
  /// Whether `buf` (as received, `len` bytes, from `from`) is the reply to request `seq`.
  bool isReply(const uint8_t* buf, size_t len, const sockaddr_storage& from, uint16_t seq) const;

  int fd_ = -1;
  Kind kind_ = Kind::Raw;
  bool v6_ = false;
  std::string target_;
  sockaddr_storage addr_{};
  uint16_t ident_ = 0;  ///< our identifier (raw sockets; the kernel's for datagram sockets)
  uint16_t seq_ = 0;
  uint64_t tag_ = 0;    ///< payload tag of this probe (raw sockets see other programs' pings)
};

/// The RTT StormGuard feeds its controllers under `delay_probe_active`: `weight` x active +
/// (1 - weight) x passive when both exist, whichever exists otherwise, nullopt when neither
/// (LibreQoS's blend, shared/reference §2). `weight` is active_ping_weight in [0, 1].
std::optional<double> blendRtt(std::optional<double> passiveMs, std::optional<double> activeMs,
                               double weight);

/// How long an active sample stays usable: clamp(3 x interval, 5, 300) seconds (LibreQoS's
/// validity window for `active_ping_interval_seconds`).
double activeSampleValiditySeconds(double intervalSeconds);

}  // namespace sluice::stormguard
