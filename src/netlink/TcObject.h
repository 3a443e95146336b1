#pragma once
// Kind-independent view of one qdisc or class as the kernel dumps it (RTM_NEWQDISC /
// RTM_NEWTCLASS replies to RTM_GETQDISC / RTM_GETTCLASS with NLM_F_DUMP).
//
// Reply layout (include/uapi/linux/rtnetlink.h, pkt_sched.h, gen_stats.h):
//
//   nlmsghdr (16) | tcmsg (20): family pad pad ifindex handle parent info
//   | TCA_KIND "htb\0"
//   | TCA_OPTIONS { kind-specific attributes }            -> TcObject::options (raw)
//   | TCA_STATS2 {                                         -> TcObject::stats
//   |    TCA_STATS_BASIC  gnet_stats_basic   { u64 bytes; u32 packets; } (16 with padding)
//   |    TCA_STATS_QUEUE  gnet_stats_queue   { u32 qlen, backlog, drops, requeues, overlimits }
//   |    TCA_STATS_APP    kind-specific xstats (struct or nested attributes) -> stats.xstats
//   |    TCA_STATS_PKT64  u64 packets (newer kernels; preferred over the 32-bit count)
//   | }
//   | TCA_XSTATS  (legacy copy of TCA_STATS_APP; used when TCA_STATS2 lacks it)

#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::netlink {

struct TcStats {
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint32_t qlen = 0;
  uint32_t backlogBytes = 0;
  uint32_t drops = 0;
  uint32_t requeues = 0;
  uint32_t overlimits = 0;
  std::vector<uint8_t> xstats;  ///< raw TCA_STATS_APP payload, decoded per kind in tc/
};

struct TcObject {
  bool isClass = false;
  int ifindex = 0;
  uint32_t handle = 0;  ///< qdisc handle (M:0) or classid (M:N)
  uint32_t parent = 0;  ///< TC_H_ROOT (0xFFFFFFFF), TC_H_INGRESS/CLSACT, or a class
  std::string kind;
  std::vector<uint8_t> options;  ///< raw TCA_OPTIONS payload (attributes, or a struct)
  TcStats stats;
};

/// Parses one RTM_NEWQDISC / RTM_NEWTCLASS message. Returns false when it is malformed (too
/// short, attributes that overrun) or of another type.
bool parseTcObject(const nlmsghdr* nlh, TcObject& out);

}  // namespace sluice::netlink
