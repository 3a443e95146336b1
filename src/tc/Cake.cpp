#include "tc/Cake.h"

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "netlink/Attr.h"

namespace sluice::tc {

uint32_t cakeDiffservValue(plan::CakeDiffserv mode) {
  switch (mode) {
    case plan::CakeDiffserv::Diffserv3:
      return CAKE_DIFFSERV_DIFFSERV3;
    case plan::CakeDiffserv::Diffserv4:
      return CAKE_DIFFSERV_DIFFSERV4;
    case plan::CakeDiffserv::Diffserv8:
      return CAKE_DIFFSERV_DIFFSERV8;
    case plan::CakeDiffserv::Besteffort:
      return CAKE_DIFFSERV_BESTEFFORT;
    case plan::CakeDiffserv::Precedence:
      return CAKE_DIFFSERV_PRECEDENCE;
  }
  return CAKE_DIFFSERV_DIFFSERV4;
}

plan::CakeParams normalizeCake(plan::CakeParams params) {
  params.bandwidthBitsPerSecond = params.bandwidthBitsPerSecond / 8 * 8;  // sent as bytes/s
  if (params.overheadBytes == 0) {
    params.overheadBytes.reset();
  }
  if (params.mpuBytes == 0u) {
    params.mpuBytes.reset();
  }
  if (params.memlimitBytes == 0u) {
    params.memlimitBytes.reset();
  }
  return params;
}

void encodeCake(netlink::Batch& batch, Verb verb, const TcTarget& target,
                const plan::CakeParams& params) {
  nlmsghdr* nlh = beginTc(batch, false, verb, target, "cake");
  const netlink::Nest nest = netlink::nestStart(nlh, TCA_OPTIONS);
  const uint64_t bandwidth = params.bandwidthBitsPerSecond / 8;
  mnl_attr_put(nlh, TCA_CAKE_BASE_RATE64, sizeof(bandwidth), &bandwidth);
  mnl_attr_put_u32(nlh, TCA_CAKE_DIFFSERV_MODE, cakeDiffservValue(params.diffserv));
  if (params.overheadBytes) {
    const int32_t overhead = *params.overheadBytes;
    mnl_attr_put(nlh, TCA_CAKE_OVERHEAD, sizeof(overhead), &overhead);
  }
  if (params.mpuBytes && *params.mpuBytes > 0) {
    mnl_attr_put_u32(nlh, TCA_CAKE_MPU, *params.mpuBytes);
  }
  mnl_attr_put_u32(nlh, TCA_CAKE_RTT, params.rttUs);
  mnl_attr_put_u32(nlh, TCA_CAKE_TARGET, std::max<uint32_t>(params.rttUs / 20, 1));
  mnl_attr_put_u32(nlh, TCA_CAKE_AUTORATE, 0);
  if (params.memlimitBytes) {
    mnl_attr_put_u32(nlh, TCA_CAKE_MEMORY, *params.memlimitBytes);
  }
  mnl_attr_put_u32(nlh, TCA_CAKE_NAT, params.nat ? 1 : 0);
  mnl_attr_put_u32(nlh, TCA_CAKE_WASH, params.wash ? 1 : 0);
  mnl_attr_put_u32(nlh, TCA_CAKE_SPLIT_GSO, params.splitGso ? 1 : 0);
  mnl_attr_put_u32(nlh, TCA_CAKE_ACK_FILTER, params.ackFilter ? CAKE_ACK_FILTER : CAKE_ACK_NONE);
  netlink::nestEnd(nlh, nest);
}

std::optional<plan::CakeParams> decodeCake(std::span<const uint8_t> options) {
  plan::CakeParams p;
  p.splitGso = false;
  bool sawDiffserv = false;
  const bool ok = netlink::forEachAttr(options, [&](uint16_t type, auto payload) {
    const auto u32 = netlink::readAs<uint32_t>(payload);
    switch (type) {
      case TCA_CAKE_BASE_RATE64:
        p.bandwidthBitsPerSecond = netlink::readAs<uint64_t>(payload).value_or(0) * 8;
        break;
      case TCA_CAKE_DIFFSERV_MODE:
        sawDiffserv = true;
        switch (u32.value_or(0)) {
          case CAKE_DIFFSERV_DIFFSERV3:
            p.diffserv = plan::CakeDiffserv::Diffserv3;
            break;
          case CAKE_DIFFSERV_DIFFSERV8:
            p.diffserv = plan::CakeDiffserv::Diffserv8;
            break;
          case CAKE_DIFFSERV_BESTEFFORT:
            p.diffserv = plan::CakeDiffserv::Besteffort;
            break;
          case CAKE_DIFFSERV_PRECEDENCE:
            p.diffserv = plan::CakeDiffserv::Precedence;
            break;
          default:
            p.diffserv = plan::CakeDiffserv::Diffserv4;
            break;
        }
        break;
      case TCA_CAKE_RTT:
        p.rttUs = u32.value_or(0);
        break;
      case TCA_CAKE_NAT:
        p.nat = u32.value_or(0) != 0;
        break;
      case TCA_CAKE_WASH:
        p.wash = u32.value_or(0) != 0;
        break;
      case TCA_CAKE_SPLIT_GSO:
        p.splitGso = u32.value_or(0) != 0;
        break;
      case TCA_CAKE_ACK_FILTER:
        p.ackFilter = u32.value_or(0) != CAKE_ACK_NONE;
        break;
      case TCA_CAKE_OVERHEAD:
        p.overheadBytes = netlink::readAs<int32_t>(payload);
        if (p.overheadBytes == 0) {
          p.overheadBytes.reset();
        }
        break;
      case TCA_CAKE_MPU:
        p.mpuBytes = u32.value_or(0) == 0 ? std::nullopt : u32;
        break;
      case TCA_CAKE_MEMORY:
        p.memlimitBytes = u32.value_or(0) == 0 ? std::nullopt : u32;
        break;
      default:
        break;
    }
  });
  if (!ok || !sawDiffserv) {
    return std::nullopt;
  }
  return p;
}

namespace {

void decodeTin(std::span<const uint8_t> bytes, CakeTinStats& tin) {
  netlink::forEachAttr(bytes, [&](uint16_t type, auto payload) {
    const uint32_t u32 = netlink::readAs<uint32_t>(payload).value_or(0);
    const uint64_t u64 = netlink::readAs<uint64_t>(payload).value_or(0);
    switch (type) {
      case TCA_CAKE_TIN_STATS_THRESHOLD_RATE64:
        tin.thresholdRateBytesPerSec = u64;
        break;
      case TCA_CAKE_TIN_STATS_SENT_BYTES64:
        tin.sentBytes = u64;
        break;
      case TCA_CAKE_TIN_STATS_SENT_PACKETS:
        tin.sentPackets = u32;
        break;
      case TCA_CAKE_TIN_STATS_DROPPED_BYTES64:
        tin.droppedBytes = u64;
        break;
      case TCA_CAKE_TIN_STATS_DROPPED_PACKETS:
        tin.droppedPackets = u32;
        break;
      case TCA_CAKE_TIN_STATS_ECN_MARKED_PACKETS:
        tin.ecnMarkedPackets = u32;
        break;
      case TCA_CAKE_TIN_STATS_ACKS_DROPPED_PACKETS:
        tin.ackDropPackets = u32;
        break;
      case TCA_CAKE_TIN_STATS_BACKLOG_BYTES:
        tin.backlogBytes = u32;
        break;
      case TCA_CAKE_TIN_STATS_TARGET_US:
        tin.targetUs = u32;
        break;
      case TCA_CAKE_TIN_STATS_INTERVAL_US:
        tin.intervalUs = u32;
        break;
      case TCA_CAKE_TIN_STATS_PEAK_DELAY_US:
        tin.peakDelayUs = u32;
        break;
      case TCA_CAKE_TIN_STATS_AVG_DELAY_US:
        tin.avgDelayUs = u32;
        break;
      case TCA_CAKE_TIN_STATS_BASE_DELAY_US:
        tin.baseDelayUs = u32;
        break;
      case TCA_CAKE_TIN_STATS_SPARSE_FLOWS:
        tin.sparseFlows = u32;
        break;
      case TCA_CAKE_TIN_STATS_BULK_FLOWS:
        tin.bulkFlows = u32;
        break;
      case TCA_CAKE_TIN_STATS_UNRESPONSIVE_FLOWS:
        tin.unresponsiveFlows = u32;
        break;
      default:
        break;
    }
  });
}

}  // namespace

std::optional<CakeXstats> decodeCakeXstats(std::span<const uint8_t> xstats) {
  CakeXstats out;
  const bool ok = netlink::forEachAttr(xstats, [&](uint16_t type, auto payload) {
    switch (type) {
      case TCA_CAKE_STATS_CAPACITY_ESTIMATE64:
        out.capacityEstimateBytesPerSec = netlink::readAs<uint64_t>(payload).value_or(0);
        break;
      case TCA_CAKE_STATS_MEMORY_LIMIT:
        out.memoryLimitBytes = netlink::readAs<uint32_t>(payload).value_or(0);
        break;
      case TCA_CAKE_STATS_MEMORY_USED:
        out.memoryUsedBytes = netlink::readAs<uint32_t>(payload).value_or(0);
        break;
      case TCA_CAKE_STATS_TIN_STATS:
        netlink::forEachAttr(payload, [&](uint16_t tinIndex, auto tinBytes) {
          if (tinIndex == 0 || tinIndex > TC_CAKE_MAX_TINS) {
            return;
          }
          if (out.tins.size() < tinIndex) {
            out.tins.resize(tinIndex);
          }
          decodeTin(tinBytes, out.tins[tinIndex - 1]);
        });
        break;
      default:
        break;
    }
  });
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

}  // namespace sluice::tc
