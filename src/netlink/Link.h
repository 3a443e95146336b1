#pragma once
// The few link operations the tc backend needs for scratch devices (capability probe, kernel
// tests that must run where `ip` and `ip netns` are unavailable, e.g. the guest-kernel suite),
// and a socket in a private network namespace.
//
// RTM_NEWLINK for a veth pair (include/uapi/linux/if_link.h, veth.h):
//
//   nlmsghdr | ifinfomsg | IFLA_IFNAME "name\0" | IFLA_NUM_TX_QUEUES u32 | IFLA_NUM_RX_QUEUES u32
//   | IFLA_LINKINFO { IFLA_INFO_KIND "veth\0"
//   |   IFLA_INFO_DATA { VETH_INFO_PEER { ifinfomsg | IFLA_IFNAME "peer\0" | IFLA_NUM_*_QUEUES } } }

#include <cstdint>
#include <string>

#include "common/Error.h"
#include "netlink/Socket.h"

namespace sluice::netlink {

/// Creates veth `name` with peer `peer`, both with `queues` tx and rx queues, in the socket's
/// namespace. Errors: EEXIST (name taken), EPERM, EOPNOTSUPP (no veth), naming the link.
Result<void> addVethPair(Socket& socket, const std::string& name, const std::string& peer,
                         uint32_t queues);

/// Sets `name` administratively up. Errors: ENODEV naming it.
Result<void> setLinkUp(Socket& socket, const std::string& name);

/// Sets `name` administratively down (the HA fail-closed mode: nothing forwards, and the peer
/// sees its carrier go). Errors: ENODEV naming it.
Result<void> setLinkDown(Socket& socket, const std::string& name);

/// Deletes link `name` (a veth's peer goes with it). Errors: ENODEV naming it.
Result<void> deleteLink(Socket& socket, const std::string& name);

/// A socket in a fresh, private network namespace that lives as long as the socket: a helper
/// thread unshare()s its namespace, opens the socket and ends. Needs CAP_SYS_ADMIN.
Result<Socket> openInPrivateNamespace();

}  // namespace sluice::netlink
