#include "tc/TcMessage.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <fmt/format.h>

namespace sluice::tc {

std::string_view verbName(Verb verb) {
  switch (verb) {
    case Verb::Add:
      return "add";
    case Verb::Replace:
      return "replace";
    case Verb::Change:
      return "change";
    case Verb::Delete:
      return "del";
  }
  return "?";
}

std::string formatHandle(uint32_t handle) {
  if (handle == kRootParent) {
    return "root";
  }
  if (handle == kClsactParent) {
    return "clsact";
  }
  const uint32_t major = handle >> 16;
  const uint32_t minor = handle & 0xFFFF;
  if (minor == 0) {
    return fmt::format("{:x}:", major);
  }
  return fmt::format("{:x}:{:x}", major, minor);
}

nlmsghdr* beginTc(netlink::Batch& batch, bool isClass, Verb verb, const TcTarget& target,
                  std::string_view kind) {
  uint16_t type = 0;
  uint16_t flags = 0;
  switch (verb) {
    case Verb::Add:
      type = isClass ? RTM_NEWTCLASS : RTM_NEWQDISC;
      flags = NLM_F_CREATE | NLM_F_EXCL;
      break;
    case Verb::Replace:
      type = isClass ? RTM_NEWTCLASS : RTM_NEWQDISC;
      // tc/tc_class.c sends class replace with NLM_F_CREATE only (HTB updates an existing
      // class in place either way); tc/tc_qdisc.c adds NLM_F_REPLACE for qdiscs.
      flags = isClass ? NLM_F_CREATE : NLM_F_CREATE | NLM_F_REPLACE;
      break;
    case Verb::Change:
      type = isClass ? RTM_NEWTCLASS : RTM_NEWQDISC;
      break;
    case Verb::Delete:
      type = isClass ? RTM_DELTCLASS : RTM_DELQDISC;
      break;
  }
  std::string op = fmt::format("{} {} dev {} parent {} {} {}", isClass ? "class" : "qdisc",
                               verbName(verb), target.dev, formatHandle(target.parent),
                               isClass ? "classid" : "handle", formatHandle(target.handle));
  if (!kind.empty()) {
    op += fmt::format(" kind {}", kind);
  }
  nlmsghdr* nlh = batch.begin(type, flags, std::move(op));
  auto* tcm = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(tcmsg)));
  tcm->tcm_family = AF_UNSPEC;
  tcm->tcm_ifindex = target.ifindex;
  tcm->tcm_handle = target.handle;
  tcm->tcm_parent = target.parent;
  if (!kind.empty()) {
    mnl_attr_put_strz(nlh, TCA_KIND, std::string(kind).c_str());
  }
  return nlh;
}

}  // namespace sluice::tc
