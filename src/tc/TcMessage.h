#pragma once
// The part every tc request shares: nlmsghdr + tcmsg + TCA_KIND, and the verbs of `tc`.
//
//   0               4               8              12              16
//   +---------------+-------+-------+---------------+---------------+
//   | nlmsg_len     | type  | flags | nlmsg_seq     | nlmsg_pid     |  nlmsghdr
//   +-+-+---+-------+-------+-------+---------------+---------------+
//   |f|p|pad| ifindex       | handle        | parent        | info  |  tcmsg (20 bytes)
//   +-+-+---+---------------+---------------+---------------+-------+
//   | len=4+n | TCA_KIND=1 | "htb\0" (n = strlen + 1, padded to 4) |  rtattr
//   +---------+------------+---------------------------------------+
//   | len     | TCA_OPTIONS=2 (no NLA_F_NESTED bit, as tc) | kind attributes ... |
//
// Flags per verb, as iproute2's tc sends them (tc/tc_qdisc.c, tc/tc_class.c): add =
// NLM_F_CREATE|NLM_F_EXCL, replace = NLM_F_CREATE|NLM_F_REPLACE for qdiscs and NLM_F_CREATE for
// classes, change = 0, delete = 0; the batch adds NLM_F_REQUEST|NLM_F_ACK.

#include <cstdint>
#include <string>
#include <string_view>

#include "netlink/Message.h"

namespace sluice::tc {

enum class Verb : uint8_t { Add, Replace, Change, Delete };

/// "add", "replace", "change", "del".
std::string_view verbName(Verb verb);

/// Where a qdisc or class goes: device (index and name, the name only for messages), its own
/// handle/classid and its parent, both raw 32-bit tc handles (major << 16 | minor).
struct TcTarget {
  int ifindex = 0;
  std::string dev;
  uint32_t handle = 0;
  uint32_t parent = 0;
};

/// Raw tc handle constants (include/uapi/linux/pkt_sched.h).
inline constexpr uint32_t kRootParent = 0xFFFFFFFFu;    ///< TC_H_ROOT
inline constexpr uint32_t kClsactParent = 0xFFFFFFF1u;  ///< TC_H_CLSACT (== TC_H_INGRESS)
inline constexpr uint32_t kClsactHandle = 0xFFFF0000u;  ///< TC_H_MAKE(TC_H_CLSACT, 0)

constexpr uint32_t makeHandle(uint16_t major, uint16_t minor) {
  return (static_cast<uint32_t>(major) << 16) | minor;
}

/// tc's spelling of a handle: "root", "clsact", "7fff:" (minor 0), "1:a".
std::string formatHandle(uint32_t handle);

/// Starts a qdisc (isClass false) or class request for `verb` on `target` and appends TCA_KIND
/// unless `kind` is empty (deletes carry no kind). The operation text recorded for errors is
/// "qdisc add dev D parent P handle H kind K" / "class add dev D parent P classid C kind K".
nlmsghdr* beginTc(netlink::Batch& batch, bool isClass, Verb verb, const TcTarget& target,
                  std::string_view kind);

}  // namespace sluice::tc
