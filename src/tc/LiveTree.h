#pragma once
// The live queue tree of one interface, read back through netlink dumps (RTM_GETQDISC and
// RTM_GETTCLASS) and decoded per kind, with statistics.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "netlink/Socket.h"
#include "netlink/TcObject.h"
#include "planner/QueuePlan.h"
#include "tc/Cake.h"
#include "tc/FqCodel.h"
#include "tc/Htb.h"

namespace sluice::tc {

struct LiveQdisc {
  uint32_t handle = 0;
  uint32_t parent = 0;
  std::string kind;
  netlink::TcStats stats;
  std::optional<HtbQdiscOptions> htb;         ///< kind "htb"
  std::optional<plan::CakeParams> cake;       ///< kind "cake"
  std::optional<plan::FqCodelParams> fqCodel;  ///< kind "fq_codel"
  std::optional<uint32_t> fifoLimit;          ///< kind "pfifo" (packets) / "bfifo" (bytes)
  std::optional<CakeXstats> cakeXstats;
  std::optional<FqCodelXstats> fqCodelXstats;
};

struct LiveClass {
  uint32_t classid = 0;
  uint32_t parent = 0;  ///< top-level classes: M:0 (the kernel reports TC_H_ROOT)
  std::string kind;
  netlink::TcStats stats;
  std::optional<HtbClassInfo> htb;
  std::optional<HtbClassXstats> htbXstats;
  uint32_t leafHandle = 0;  ///< handle of the qdisc attached to this class (0 = none)
};

struct LiveTree {
  int ifindex = 0;
  std::string dev;
  std::vector<LiveQdisc> qdiscs;  ///< in dump order
  std::vector<LiveClass> classes;  ///< in dump order

  const LiveQdisc* findQdisc(uint32_t handle) const;
  const LiveClass* findClass(uint32_t classid) const;
  /// The qdisc whose parent is `parent` (the leaf of a class, or the child of an mq class).
  const LiveQdisc* qdiscAt(uint32_t parent) const;
};

/// Dumps every qdisc and class of `dev` (in the socket's namespace) and decodes options and
/// statistics of the kinds Sluice uses (htb, cake, fq_codel, pfifo, bfifo; others keep only kind
/// and generic stats). Errors: unknown device (ENODEV naming it), dump failures, EBADMSG when a
/// reply is malformed.
Result<LiveTree> readLiveTree(netlink::Socket& socket, std::string_view dev);

/// Classes of all kinds are dumped per qdisc; this reads only `dev`'s classes (RTM_GETTCLASS).
Result<std::vector<LiveClass>> readClasses(netlink::Socket& socket, int ifindex);

}  // namespace sluice::tc
