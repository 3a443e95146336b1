#include "tc/LiveTree.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <unordered_map>

#include <fmt/format.h>

#include "tc/Fifo.h"

namespace sluice::tc {
namespace {

LiveQdisc decodeQdisc(netlink::TcObject&& obj) {
  LiveQdisc q;
  q.handle = obj.handle;
  q.parent = obj.parent;
  q.kind = std::move(obj.kind);
  q.stats = std::move(obj.stats);
  if (q.kind == "htb") {
    q.htb = decodeHtbQdisc(obj.options);
  } else if (q.kind == "cake") {
    q.cake = decodeCake(obj.options);
    q.cakeXstats = decodeCakeXstats(q.stats.xstats);
  } else if (q.kind == "fq_codel") {
    q.fqCodel = decodeFqCodel(obj.options);
    q.fqCodelXstats = decodeFqCodelXstats(q.stats.xstats);
  } else if (q.kind == "pfifo" || q.kind == "bfifo") {
    q.fifoLimit = decodeFifoLimit(obj.options);
  }
  return q;
}

nlmsghdr* dumpRequest(std::vector<uint8_t>& buffer, uint16_t type, int ifindex) {
  buffer.assign(MNL_SOCKET_BUFFER_SIZE, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = type;
  auto* tcm = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  tcm->tcm_ifindex = ifindex;
  return nlh;
}

}  // namespace

const LiveQdisc* LiveTree::findQdisc(uint32_t handle) const {
  for (const auto& q : qdiscs) {
    if (q.handle == handle) {
      return &q;
    }
  }
  return nullptr;
}

const LiveClass* LiveTree::findClass(uint32_t classid) const {
  for (const auto& c : classes) {
    if (c.classid == classid) {
      return &c;
    }
  }
  return nullptr;
}

const LiveQdisc* LiveTree::qdiscAt(uint32_t parent) const {
  for (const auto& q : qdiscs) {
    if (q.parent == parent) {
      return &q;
    }
  }
  return nullptr;
}

Result<std::vector<LiveClass>> readClasses(netlink::Socket& socket, int ifindex) {
  std::vector<uint8_t> buffer;
  nlmsghdr* req = dumpRequest(buffer, RTM_GETTCLASS, ifindex);
  std::vector<LiveClass> classes;
  auto r = socket.dump(req, fmt::format("class dump ifindex {}", ifindex),
                       [&](const nlmsghdr* nlh) {
                         netlink::TcObject obj;
                         if (!netlink::parseTcObject(nlh, obj)) {
                           return false;
                         }
                         if (obj.ifindex != ifindex) {
                           return true;
                         }
                         LiveClass c;
                         c.classid = obj.handle;
                         c.parent = obj.parent;
                         if (c.parent == 0xFFFFFFFFu) {
                           // HTB reports its top-level classes with parent TC_H_ROOT
                           // (sch_htb.c htb_dump_class); tc and the plan write them as M:0.
                           c.parent = c.classid & 0xFFFF0000u;
                         }
                         c.kind = std::move(obj.kind);
                         c.stats = std::move(obj.stats);
                         if (c.kind == "htb") {
                           c.htb = decodeHtbClass(obj.options);
                           c.htbXstats = decodeHtbClassXstats(c.stats.xstats);
                         }
                         classes.push_back(std::move(c));
                         return true;
                       });
  if (!r) {
    return std::unexpected(r.error());
  }
  return classes;
}

Result<LiveTree> readLiveTree(netlink::Socket& socket, std::string_view dev) {
  auto index = socket.linkIndex(dev);
  if (!index) {
    return std::unexpected(index.error());
  }
  LiveTree tree;
  tree.ifindex = *index;
  tree.dev = std::string(dev);
  std::vector<uint8_t> buffer;
  nlmsghdr* req = dumpRequest(buffer, RTM_GETQDISC, tree.ifindex);
  auto r = socket.dump(req, fmt::format("qdisc dump dev {}", dev), [&](const nlmsghdr* nlh) {
    netlink::TcObject obj;
    if (!netlink::parseTcObject(nlh, obj)) {
      return false;
    }
    if (obj.ifindex == tree.ifindex) {
      tree.qdiscs.push_back(decodeQdisc(std::move(obj)));
    }
    return true;
  });
  if (!r) {
    return std::unexpected(r.error());
  }
  auto classes = readClasses(socket, tree.ifindex);
  if (!classes) {
    return std::unexpected(classes.error());
  }
  tree.classes = std::move(*classes);
  std::unordered_map<uint32_t, size_t> byId;
  for (size_t i = 0; i < tree.classes.size(); ++i) {
    byId.emplace(tree.classes[i].classid, i);
  }
  for (const auto& q : tree.qdiscs) {
    if (auto it = byId.find(q.parent); it != byId.end()) {
      tree.classes[it->second].leafHandle = q.handle;
    }
  }
  return tree;
}

}  // namespace sluice::tc
