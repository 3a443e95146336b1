#pragma once
// HTB: qdisc and class encoders, and decoders of what the kernel dumps for them.
// Facts: kernel include/uapi/linux/pkt_sched.h (tc_htb_glob, tc_htb_opt, TCA_HTB_*),
// net/sched/sch_htb.c; iproute2 tc/q_htb.c (defaults, attribute order), tc/tc_core.c.
//
// Qdisc (tc qdisc add ... htb r2q R default D [direct_qlen Q]):
//
//   TCA_OPTIONS {
//     TCA_HTB_INIT  tc_htb_glob (20 bytes)
//       +---------+--------------+---------+--------+-------------+
//       | version | rate2quantum | defcls  | debug  | direct_pkts |   u32 each; version = 3
//       +---------+--------------+---------+--------+-------------+
//     TCA_HTB_DIRECT_QLEN u32      (only when set, as tc does)
//   }
//
// Class (tc class add ... htb rate R ceil C quantum Q prio P):
//
//   TCA_OPTIONS {
//     TCA_HTB_RATE64 u64 bytes/s   (only when rate >= 2^32 bytes/s)
//     TCA_HTB_CEIL64 u64 bytes/s   (only when ceil >= 2^32 bytes/s)
//     TCA_HTB_PARMS  tc_htb_opt (44 bytes)
//       +--------------------------- tc_ratespec rate (12) ----------------------------+
//       | cell_log u8 | linklayer u8 | overhead u16 | cell_align s16 | mpu u16 | rate u32 |
//       +--------------------------------------------------------------------------------+
//       | tc_ratespec ceil (12) | buffer u32 | cbuffer u32 | quantum u32 | level u32 | prio u32 |
//       +--------------------------------------------------------------------------------+
//       rate/ceil.rate = min(bytes/s, 0xFFFFFFFF); buffer/cbuffer are transmit times in ticks
//     TCA_HTB_RTAB   u32[256] rate table   (Psched.h computeRateTable, for rate.rate)
//     TCA_HTB_CTAB   u32[256] ceil table
//   }
//
// Default bursts (iproute2): buffer = rate / hz + mtu bytes, cbuffer = ceil / hz + mtu bytes,
// with mtu 1600, then converted to ticks with tc_calc_xmittime at the 64-bit rate.

#include <cstdint>
#include <optional>
#include <span>

#include "netlink/Message.h"
#include "tc/Psched.h"
#include "tc/TcMessage.h"

namespace sluice::tc {

struct HtbQdiscOptions {
  uint32_t r2q = 10;
  uint32_t defaultMinor = 0;          ///< defcls: unclassified traffic goes to M:defaultMinor
  std::optional<uint32_t> directQlen;  ///< packets; kernel default: the device's txqueuelen
  auto operator<=>(const HtbQdiscOptions&) const = default;
};

struct HtbClassOptions {
  uint64_t rateBytesPerSec = 0;
  uint64_t ceilBytesPerSec = 0;
  uint32_t quantumBytes = 0;  ///< 0 = kernel computes rate / r2q
  uint32_t prio = 0;
  std::optional<uint32_t> bufferBytes;   ///< burst; default rate / hz + mtu
  std::optional<uint32_t> cbufferBytes;  ///< cburst; default ceil / hz + mtu
  uint32_t mtu = 1600;
  uint16_t mpu = 0;
  uint16_t overhead = 0;
};

/// Appends an HTB qdisc request. `target.handle` is M:0, `target.parent` the mq class or root.
void encodeHtbQdisc(netlink::Batch& batch, Verb verb, const TcTarget& target,
                    const HtbQdiscOptions& options);

/// Appends an HTB class request (Add/Replace/Change) exactly as iproute2 encodes it, computing
/// bursts and rate tables from `clock`.
void encodeHtbClass(netlink::Batch& batch, Verb verb, const TcTarget& target,
                    const HtbClassOptions& options, const Psched& clock);

/// Appends a class delete (tcmsg handle = classid, parent 0, no kind, as `tc class del`).
void encodeClassDelete(netlink::Batch& batch, const TcTarget& target);

/// What the kernel reports for an HTB class (TCA_OPTIONS of RTM_NEWTCLASS).
struct HtbClassInfo {
  uint64_t rateBytesPerSec = 0;
  uint64_t ceilBytesPerSec = 0;
  uint32_t bufferTicks = 0;
  uint32_t cbufferTicks = 0;
  uint32_t quantumBytes = 0;
  uint32_t level = 0;
  uint32_t prio = 0;
};

/// HTB class xstats (struct tc_htb_xstats): tokens are in ticks, may be negative.
struct HtbClassXstats {
  uint32_t lends = 0;
  uint32_t borrows = 0;
  uint32_t giants = 0;
  int32_t tokens = 0;
  int32_t ctokens = 0;
};

/// Decoders of dumped TCA_OPTIONS / TCA_STATS_APP payloads; nullopt when malformed or absent.
std::optional<HtbQdiscOptions> decodeHtbQdisc(std::span<const uint8_t> options);
std::optional<HtbClassInfo> decodeHtbClass(std::span<const uint8_t> options);
std::optional<HtbClassXstats> decodeHtbClassXstats(std::span<const uint8_t> xstats);

}  // namespace sluice::tc
