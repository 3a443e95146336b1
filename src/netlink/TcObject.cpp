#include "netlink/TcObject.h"

#include <libmnl/libmnl.h>
#include <linux/gen_stats.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

namespace sluice::netlink {
namespace {

std::vector<uint8_t> payloadBytes(const nlattr* attr) {
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
  return {p, p + mnl_attr_get_payload_len(attr)};
}

int parseStats2(const nlattr* attr, void* data) {
  auto* stats = static_cast<TcStats*>(data);
  const auto len = mnl_attr_get_payload_len(attr);
  const void* p = mnl_attr_get_payload(attr);
  switch (mnl_attr_get_type(attr)) {
    case TCA_STATS_BASIC:
      if (len >= sizeof(gnet_stats_basic)) {
        gnet_stats_basic b;
        std::memcpy(&b, p, sizeof(b));
        stats->bytes = b.bytes;
        if (stats->packets == 0) {
          stats->packets = b.packets;
        }
      }
      break;
    case TCA_STATS_PKT64:
      if (len >= sizeof(uint64_t)) {
        stats->packets = mnl_attr_get_u64(attr);
      }
      break;
    case TCA_STATS_QUEUE:
      if (len >= sizeof(gnet_stats_queue)) {
        gnet_stats_queue q;
        std::memcpy(&q, p, sizeof(q));
        stats->qlen = q.qlen;
        stats->backlogBytes = q.backlog;
        stats->drops = q.drops;
        stats->requeues = q.requeues;
        stats->overlimits = q.overlimits;
      }
      break;
    case TCA_STATS_APP:
      stats->xstats = payloadBytes(attr);
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

struct ParseState {
  TcObject* out;
  bool ok = true;
  std::vector<uint8_t> legacyXstats;
};

int parseTop(const nlattr* attr, void* data) {
  auto* st = static_cast<ParseState*>(data);
  switch (mnl_attr_get_type(attr)) {
    case TCA_KIND: {
      const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
      st->out->kind.assign(s, strnlen(s, mnl_attr_get_payload_len(attr)));
      break;
    }
    case TCA_OPTIONS:
      st->out->options = payloadBytes(attr);
      break;
    case TCA_STATS2:
      if (mnl_attr_parse_nested(attr, parseStats2, &st->out->stats) < 0) {
        st->ok = false;
      }
      break;
    case TCA_XSTATS:
      st->legacyXstats = payloadBytes(attr);
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

}  // namespace

bool parseTcObject(const nlmsghdr* nlh, TcObject& out) {
  if (nlh->nlmsg_type != RTM_NEWQDISC && nlh->nlmsg_type != RTM_NEWTCLASS) {
    return false;
  }
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(tcmsg))) {
    return false;
  }
  const auto* tcm = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
  out = TcObject{};
  out.isClass = nlh->nlmsg_type == RTM_NEWTCLASS;
  out.ifindex = tcm->tcm_ifindex;
  out.handle = tcm->tcm_handle;
  out.parent = tcm->tcm_parent;
  ParseState st{&out};
  if (mnl_attr_parse(nlh, sizeof(tcmsg), parseTop, &st) < 0) {
    return false;
  }
  if (out.stats.xstats.empty()) {
    out.stats.xstats = std::move(st.legacyXstats);
  }
  return st.ok;
}

}  // namespace sluice::netlink
