#include "flowexport/FlowTracker.h"

#include <algorithm>
#include <cstring>

namespace sluice::flowexport {

namespace {

bool isV4Mapped(const uint8_t (&a)[16]) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, kPrefix, sizeof(kPrefix)) == 0;
}

bool ended(uint32_t flowFlags) {
  constexpr uint32_t kBothFins = SLUICE_FLOW_FIN_DOWN | SLUICE_FLOW_FIN_UP;
  return (flowFlags & kBothFins) == kBothFins || (flowFlags & SLUICE_FLOW_RST) != 0;
}

uint8_t tcpFlagsOf(uint32_t flowFlags, int dir) {
  uint8_t flags = 0;
  if ((flowFlags & (dir == SLUICE_DIR_DOWN ? SLUICE_FLOW_FIN_DOWN : SLUICE_FLOW_FIN_UP)) != 0) {
    flags |= 0x01;  // FIN
  }
  if ((flowFlags & SLUICE_FLOW_RST) != 0) {
    flags |= 0x04;  // RST (the data plane does not keep which side sent it)
  }
  return flags;
}

}  // namespace

size_t FlowTracker::KeyHash::operator()(const sluice_flow_key& k) const noexcept {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the key's meaningful bytes
  auto mix = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) {
      h = (h ^ b[i]) * 1099511628211ull;
    }
  };
  mix(k.local, 16);
  mix(k.remote, 16);
  mix(&k.local_port, 2);
  mix(&k.remote_port, 2);
  mix(&k.proto, 1);
  return static_cast<size_t>(h);
}

bool FlowTracker::KeyEq::operator()(const sluice_flow_key& a,
                                    const sluice_flow_key& b) const noexcept {
  return std::memcmp(a.local, b.local, 16) == 0 && std::memcmp(a.remote, b.remote, 16) == 0 &&
         a.local_port == b.local_port && a.remote_port == b.remote_port && a.proto == b.proto;
}

void FlowTracker::report(const sluice_flow_key& key, State& st, uint64_t nowNs,
                         std::vector<ExportRecord>& out) {
  const bool ipv6 = !isV4Mapped(key.local) || !isV4Mapped(key.remote);
  for (int dir = 0; dir < SLUICE_DIR_COUNT; ++dir) {
    const uint64_t packets = st.lastPackets[dir] - st.reportedPackets[dir];
    const uint64_t frameBytes = st.lastBytes[dir] - st.reportedBytes[dir];
    if (packets == 0 && frameBytes == 0) {
      continue;
    }
    const uint64_t headers = packets * options_.linkHeaderBytes;
    ExportRecord r;
    r.ipv6 = ipv6;
    r.protocol = key.proto;
    r.tcpFlags = key.proto == 6 ? tcpFlagsOf(st.flags, dir) : 0;
    r.bytes = frameBytes > headers ? frameBytes - headers : 0;
    r.packets = packets;
    r.firstNs = std::min<uint64_t>(st.reportStartNs, st.lastNs);
    r.lastNs = st.lastNs;
    if (dir == SLUICE_DIR_DOWN) {
      std::copy_n(key.remote, 16, r.src.begin());
      std::copy_n(key.local, 16, r.dst.begin());
      r.srcPort = key.remote_port;
      r.dstPort = key.local_port;
      r.direction = Direction::kDownload;
      r.inputInterface = kInterfaceInternet;
      r.outputInterface = kInterfaceSubscriber;
    } else {
      std::copy_n(key.local, 16, r.src.begin());
      std::copy_n(key.remote, 16, r.dst.begin());
      r.srcPort = key.local_port;
      r.dstPort = key.remote_port;
      r.direction = Direction::kUpload;
      r.inputInterface = kInterfaceSubscriber;
      r.outputInterface = kInterfaceInternet;
    }
    out.push_back(r);
    st.reportedPackets[dir] = st.lastPackets[dir];
    st.reportedBytes[dir] = st.lastBytes[dir];
  }
  st.lastReportNs = nowNs;
  st.reportStartNs = st.lastNs;
}

void FlowTracker::observe(std::span<const sluice_flow_key> keys, std::span<const sluice_flow> flows,
                          uint64_t nowNs, std::vector<ExportRecord>& out) {
  ++reading_;
  const size_t n = std::min(keys.size(), flows.size());
  if (states_.bucket_count() < n) {
    states_.reserve(n);  // one rehash up front instead of several while the table fills
  }
  for (size_t i = 0; i < n; ++i) {
    const sluice_flow& f = flows[i];
    auto [it, fresh] = states_.try_emplace(keys[i]);
    State& st = it->second;
    const bool wentBack = f.bytes[0] < st.reportedBytes[0] || f.bytes[1] < st.reportedBytes[1] ||
                          f.packets[0] < st.reportedPackets[0] ||
                          f.packets[1] < st.reportedPackets[1];
    if (fresh || f.start_ns != st.startNs || wentBack) {
      st = State{};
      st.startNs = f.start_ns;
      st.reportStartNs = f.start_ns;
      st.lastReportNs = f.start_ns;
    }
    std::copy_n(f.bytes, SLUICE_DIR_COUNT, st.lastBytes);
    std::copy_n(f.packets, SLUICE_DIR_COUNT, st.lastPackets);
    st.lastNs = f.last_ns;
    st.flags = f.flags;
    st.seen = reading_;
    const bool pending =
        f.packets[0] != st.reportedPackets[0] || f.packets[1] != st.reportedPackets[1];
    if (!pending) {
      continue;
    }
    const uint64_t quietNs = nowNs > f.last_ns ? nowNs - f.last_ns : 0;
    const bool idle = quietNs >= options_.idleTimeoutNs;
    const bool closed = ended(f.flags) && quietNs >= options_.closeGraceNs;
    const bool active =
        nowNs >= st.lastReportNs && nowNs - st.lastReportNs >= options_.activeTimeoutNs;
    if (idle || closed || active) {
      report(keys[i], st, nowNs, out);
    }
  }
  for (auto it = states_.begin(); it != states_.end();) {
    if (it->second.seen != reading_) {
      report(it->first, it->second, nowNs, out);  // evicted: what it had at the last reading
      it = states_.erase(it);
    } else {
      ++it;
    }
  }
}

void FlowTracker::flushAll(std::vector<ExportRecord>& out) {
  for (auto& [key, st] : states_) {
    report(key, st, st.lastNs, out);
  }
}

}  // namespace sluice::flowexport
