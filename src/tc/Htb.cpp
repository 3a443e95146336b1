#include "tc/Htb.h"

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <unordered_map>

#include "netlink/Attr.h"

namespace sluice::tc {
namespace {

constexpr uint64_t k32BitLimit = 1ull << 32;
constexpr uint8_t kLinkLayerEthernet = 1;  // TC_LINKLAYER_ETHERNET

uint32_t clampTo32(uint64_t v) {
  return v >= k32BitLimit ? 0xFFFFFFFFu : static_cast<uint32_t>(v);
}

// Rate tables are 256 transmit-time computations each, two per class; plans reuse a few service
// tiers, so a small per-thread cache keyed by (rate, mtu, mpu) and the clock saves most of the
// encoding time of a full build.
const RateTable& cachedRateTable(const Psched& clock, uint32_t rate32, uint32_t mtu,
                                 uint16_t mpu) {
  struct Cache {
    Psched clock;
    std::unordered_map<uint64_t, RateTable> tables;
  };
  thread_local Cache cache;
  if (cache.clock.t2us != clock.t2us || cache.clock.us2t != clock.us2t ||
      cache.clock.clockRes != clock.clockRes || cache.tables.size() > 4096) {
    cache.tables.clear();
    cache.clock = clock;
  }
  const uint64_t key = (static_cast<uint64_t>(rate32) << 32) |
                       (static_cast<uint64_t>(mtu & 0xFFFF) << 16) | mpu;
  auto it = cache.tables.find(key);
  if (it == cache.tables.end()) {
    it = cache.tables.emplace(key, computeRateTable(clock, rate32, mtu, mpu)).first;
  }
  return it->second;
}

}  // namespace

void encodeHtbQdisc(netlink::Batch& batch, Verb verb, const TcTarget& target,
                    const HtbQdiscOptions& options) {
  nlmsghdr* nlh = beginTc(batch, false, verb, target, "htb");
  const netlink::Nest nest = netlink::nestStart(nlh, TCA_OPTIONS);
  tc_htb_glob glob{};
  glob.version = 3;  // TC_HTB_PROTOVER
  glob.rate2quantum = options.r2q;
  glob.defcls = options.defaultMinor;
  mnl_attr_put(nlh, TCA_HTB_INIT, sizeof(glob), &glob);
  if (options.directQlen) {
    mnl_attr_put_u32(nlh, TCA_HTB_DIRECT_QLEN, *options.directQlen);
  }
  netlink::nestEnd(nlh, nest);
}

void encodeHtbClass(netlink::Batch& batch, Verb verb, const TcTarget& target,
                    const HtbClassOptions& options, const Psched& clock) {
  nlmsghdr* nlh = beginTc(batch, true, verb, target, "htb");
  const uint64_t rate64 = options.rateBytesPerSec;
  const uint64_t ceil64 = options.ceilBytesPerSec;
  tc_htb_opt opt{};
  opt.rate.rate = clampTo32(rate64);
  opt.ceil.rate = clampTo32(ceil64);
  opt.quantum = options.quantumBytes;
  opt.prio = options.prio;
  const uint32_t buffer =
      options.bufferBytes.value_or(static_cast<uint32_t>(rate64 / clock.hz()) + options.mtu);
  const uint32_t cbuffer =
      options.cbufferBytes.value_or(static_cast<uint32_t>(ceil64 / clock.hz()) + options.mtu);
  for (tc_ratespec* spec : {&opt.rate, &opt.ceil}) {
    spec->overhead = options.overhead;
    spec->mpu = options.mpu;
    spec->linklayer = kLinkLayerEthernet;
    spec->cell_align = -1;
  }
  const RateTable& rtab = cachedRateTable(clock, opt.rate.rate, options.mtu, options.mpu);
  const RateTable& ctab = cachedRateTable(clock, opt.ceil.rate, options.mtu, options.mpu);
  opt.rate.cell_log = rtab.cellLog;
  opt.ceil.cell_log = ctab.cellLog;
  opt.buffer = clock.xmitTime(rate64, buffer);
  opt.cbuffer = clock.xmitTime(ceil64, cbuffer);

  const netlink::Nest nest = netlink::nestStart(nlh, TCA_OPTIONS);
  if (rate64 >= k32BitLimit) {
    mnl_attr_put(nlh, TCA_HTB_RATE64, sizeof(rate64), &rate64);
  }
  if (ceil64 >= k32BitLimit) {
    mnl_attr_put(nlh, TCA_HTB_CEIL64, sizeof(ceil64), &ceil64);
  }
  mnl_attr_put(nlh, TCA_HTB_PARMS, sizeof(opt), &opt);
  mnl_attr_put(nlh, TCA_HTB_RTAB, sizeof(rtab.ticks), rtab.ticks.data());
  mnl_attr_put(nlh, TCA_HTB_CTAB, sizeof(ctab.ticks), ctab.ticks.data());
  netlink::nestEnd(nlh, nest);
}

void encodeClassDelete(netlink::Batch& batch, const TcTarget& target) {
  TcTarget t = target;
  t.parent = 0;
  beginTc(batch, true, Verb::Delete, t, "");
}

std::optional<HtbQdiscOptions> decodeHtbQdisc(std::span<const uint8_t> options) {
  std::optional<HtbQdiscOptions> out;
  std::optional<uint32_t> directQlen;
  const bool ok = netlink::forEachAttr(options, [&](uint16_t type, auto payload) {
    if (type == TCA_HTB_INIT) {
      if (auto glob = netlink::readAs<tc_htb_glob>(payload)) {
        out = HtbQdiscOptions{glob->rate2quantum, glob->defcls, std::nullopt};
      }
    } else if (type == TCA_HTB_DIRECT_QLEN) {
      directQlen = netlink::readAs<uint32_t>(payload);
    }
  });
  if (!ok || !out) {
    return std::nullopt;
  }
  out->directQlen = directQlen;
  return out;
}

std::optional<HtbClassInfo> decodeHtbClass(std::span<const uint8_t> options) {
  std::optional<tc_htb_opt> parms;
  std::optional<uint64_t> rate64;
  std::optional<uint64_t> ceil64;
  const bool ok = netlink::forEachAttr(options, [&](uint16_t type, auto payload) {
    if (type == TCA_HTB_PARMS) {
      parms = netlink::readAs<tc_htb_opt>(payload);
    } else if (type == TCA_HTB_RATE64) {
      rate64 = netlink::readAs<uint64_t>(payload);
    } else if (type == TCA_HTB_CEIL64) {
      ceil64 = netlink::readAs<uint64_t>(payload);
    }
  });
  if (!ok || !parms) {
    return std::nullopt;
  }
  HtbClassInfo info;
  info.rateBytesPerSec = rate64.value_or(parms->rate.rate);
  info.ceilBytesPerSec = ceil64.value_or(parms->ceil.rate);
  info.bufferTicks = parms->buffer;
  info.cbufferTicks = parms->cbuffer;
  info.quantumBytes = parms->quantum;
  info.level = parms->level;
  info.prio = parms->prio;
  return info;
}

std::optional<HtbClassXstats> decodeHtbClassXstats(std::span<const uint8_t> xstats) {
  auto raw = netlink::readAs<tc_htb_xstats>(xstats);
  if (!raw) {
    return std::nullopt;
  }
  return HtbClassXstats{raw->lends, raw->borrows, raw->giants, raw->tokens, raw->ctokens};
}

}  // namespace sluice::tc
