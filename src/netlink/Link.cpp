#include "netlink/Link.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>

#include <cerrno>
#include <thread>

#include <fmt/format.h>

namespace sluice::netlink {
namespace {

ifinfomsg* putIfinfo(nlmsghdr* nlh) {
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  return ifm;
}

}  // namespace

Result<void> addVethPair(Socket& socket, const std::string& name, const std::string& peer,
                         uint32_t queues) {
  Batch b;
  nlmsghdr* nlh = b.begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
                          fmt::format("link add {} type veth peer name {}", name, peer));
  putIfinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, queues);
  mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, queues);
  nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  nlattr* peerNest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  // The peer's ifinfomsg sits directly inside VETH_INFO_PEER, before its attributes.
  auto* peerIfm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(nlh));
  *peerIfm = ifinfomsg{};
  nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer.c_str());
  mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, queues);
  mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, queues);
  mnl_attr_nest_end(nlh, peerNest);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, linkinfo);
  return socket.execute(b);
}

namespace {

Result<void> setLinkState(Socket& socket, const std::string& name, bool up) {
  auto index = socket.linkIndex(name);
  if (!index) {
    return std::unexpected(index.error());
  }
  Batch b;
  nlmsghdr* nlh =
      b.begin(RTM_NEWLINK, 0, fmt::format("link set {} {}", name, up ? "up" : "down"));
  ifinfomsg* ifm = putIfinfo(nlh);
  ifm->ifi_index = *index;
  ifm->ifi_flags = up ? IFF_UP : 0;
  ifm->ifi_change = IFF_UP;
  return socket.execute(b);
}

}  // namespace

Result<void> setLinkUp(Socket& socket, const std::string& name) {
  return setLinkState(socket, name, true);
}

Result<void> setLinkDown(Socket& socket, const std::string& name) {
  return setLinkState(socket, name, false);
}

Result<void> deleteLink(Socket& socket, const std::string& name) {
  auto index = socket.linkIndex(name);
  if (!index) {
    return std::unexpected(index.error());
  }
  Batch b;
  nlmsghdr* nlh = b.begin(RTM_DELLINK, 0, fmt::format("link del {}", name));
  putIfinfo(nlh)->ifi_index = *index;
  return socket.execute(b);
}

Result<Socket> openInPrivateNamespace() {
  Result<Socket> result = makeError(0, "private namespace socket: not opened");
  // unshare() changes only the calling thread's namespace: a short-lived helper thread keeps the
  // caller's namespace untouched; the namespace stays alive through the socket's reference.
  std::thread worker([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      result = makeError(errno, "unshare(CLONE_NEWNET) for a private network namespace");
      return;
    }
    result = Socket::open();
  });
  worker.join();
  return result;
}

}  // namespace sluice::netlink
