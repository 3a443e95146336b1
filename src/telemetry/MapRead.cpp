#include "telemetry/MapRead.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>

#include <algorithm>
#include <cstring>

#include "dataplane/Readers.h"

namespace sluice::telemetry {

Addr Addr::fromBytes(const uint8_t (&bytes)[16]) {
  Addr a;
  std::memcpy(&a.hi, bytes, 8);
  std::memcpy(&a.lo, bytes + 8, 8);
  return a;
}

namespace {

constexpr uint32_t kBatch = 4096;

void toBytes(const Addr& a, uint8_t (&out)[16]) {
  std::memcpy(out, &a.hi, 8);
  std::memcpy(out + 8, &a.lo, 8);
}

// Runs BPF_MAP_LOOKUP_BATCH over a whole hash map, calling onBatch(keys, values, count) for
// every returned chunk. A bucket with more entries than the chunk (ENOSPC) doubles the chunk.
// Returns EOPNOTSUPP when the kernel has no batch operation for this map (caller falls back).
template <typename Key, typename OnBatch>
Result<void> batchWalk(int fd, size_t valueBytes, const char* what, OnBatch onBatch) {
  uint32_t chunk = kBatch;
  std::vector<Key> keys(chunk);
  std::vector<uint8_t> values(chunk * valueBytes);
  uint32_t inBatch = 0;
  uint32_t outBatch = 0;
  bool first = true;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    uint32_t count = chunk;
    int rc = bpf_map_lookup_batch(fd, first ? nullptr : &inBatch, &outBatch, keys.data(),
                                  values.data(), &count, &opts);
    int err = rc < 0 ? errno : 0;
    if (rc < 0 && err == ENOSPC && count == 0) {
      chunk *= 2;
      keys.resize(chunk);
      values.resize(chunk * valueBytes);
      continue;
    }
    if (rc < 0 && err != ENOENT) {
      if (first && (err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP)) {
        return makeError(EOPNOTSUPP, std::string("batch lookup of ") + what);
      }
      return makeError(err, std::string("batch lookup of ") + what);
    }
    onBatch(keys.data(), values.data(), count);
    if (rc < 0) {  // ENOENT: that was the last chunk
      return {};
    }
    inBatch = outBatch;
    first = false;
  }
}

}  // namespace

Result<void> readHosts(int hostsFd, std::vector<HostSample>& out) {
  out.clear();
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return makeError(-cpus, "libbpf_num_possible_cpus");
  }
  static_assert(sizeof(sluice_host_counters) % 8 == 0);
  const size_t stride = sizeof(sluice_host_counters);
  auto r = batchWalk<sluice_addr>(
      hostsFd, stride * static_cast<size_t>(cpus), "the host map",
      [&](const sluice_addr* keys, const uint8_t* values, uint32_t count) {
        for (uint32_t i = 0; i < count; ++i) {
          HostSample h;
          h.addr = Addr::fromBytes(keys[i].addr);
          const uint8_t* base = values + static_cast<size_t>(i) * stride * cpus;
          for (int c = 0; c < cpus; ++c) {
            sluice_host_counters v;
            std::memcpy(&v, base + static_cast<size_t>(c) * stride, sizeof(v));
            for (int d = 0; d < SLUICE_DIR_COUNT; ++d) {
              h.bytes[d] += v.bytes[d];
              h.packets[d] += v.packets[d];
              for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
                h.protoPackets[p][d] += v.proto_packets[p][d];
              }
            }
            h.lastSeenNs = std::max<uint64_t>(h.lastSeenNs, v.last_seen_ns);
          }
          out.push_back(h);
        }
      });
  if (r || r.error().errnum != EOPNOTSUPP) {
    return r;
  }
  auto all = dataplane::readHostCounters(hostsFd);
  if (!all) {
    return std::unexpected(all.error());
  }
  for (const auto& hc : *all) {
    HostSample h;
    sluice_addr key = dataplane::addressToBytes(hc.address);
    h.addr = Addr::fromBytes(key.addr);
    h.bytes = hc.bytes;
    h.packets = hc.packets;
    h.protoPackets = hc.protoPackets;
    h.lastSeenNs = hc.lastSeenNs;
    out.push_back(h);
  }
  return {};
}

Result<void> readFlowTable(int flowsFd, std::vector<sluice_flow_key>& keys,
                           std::vector<sluice_flow>& flows) {
  keys.clear();
  flows.clear();
  auto r = batchWalk<sluice_flow_key>(
      flowsFd, sizeof(sluice_flow), "the flow table",
      [&](const sluice_flow_key* k, const uint8_t* values, uint32_t count) {
        keys.insert(keys.end(), k, k + count);
        const size_t at = flows.size();
        flows.resize(at + count);
        std::memcpy(flows.data() + at, values, count * sizeof(sluice_flow));
      });
  if (r || r.error().errnum != EOPNOTSUPP) {
    return r;
  }
  auto all = dataplane::readFlows(flowsFd);
  if (!all) {
    return std::unexpected(all.error());
  }
  for (const auto& rec : *all) {
    keys.push_back(rec.key);
    flows.push_back(rec.flow);
  }
  return {};
}

void AddressIndex::build(std::span<const IpNet> prefixes, std::span<const int32_t> circuits) {
  levels_.clear();
  count_ = 0;
  // (level, masked address, input order, circuit), sorted by level, address and order: of
  // equal prefixes the first counts.
  struct Entry {
    uint32_t level;
    Addr a;
    uint32_t order;
    int32_t circuit;
  };
  std::vector<Entry> entries;
  entries.reserve(std::min(prefixes.size(), circuits.size()));
  for (size_t i = 0; i < prefixes.size() && i < circuits.size(); ++i) {
    const IpNet& p = prefixes[i];
    auto it = std::find_if(levels_.begin(), levels_.end(),
                           [&](const Level& l) { return l.prefixLen == p.prefixLen; });
    if (it == levels_.end()) {
      Level l;
      l.prefixLen = p.prefixLen;
      uint8_t mask[16] = {};
      for (int b = 0; b < p.prefixLen; ++b) {
        mask[b / 8] |= static_cast<uint8_t>(0x80 >> (b % 8));
      }
      l.mask = Addr::fromBytes(mask);
      levels_.push_back(std::move(l));
      it = levels_.end() - 1;
    }
    uint8_t bytes[16];
    std::memcpy(bytes, p.addr.data(), 16);
    Addr a = Addr::fromBytes(bytes);
    a.hi &= it->mask.hi;
    a.lo &= it->mask.lo;
    entries.push_back(Entry{static_cast<uint32_t>(it - levels_.begin()), a,
                            static_cast<uint32_t>(i), circuits[i]});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
    if (x.level != y.level) return x.level < y.level;
    if (x.a.hi != y.a.hi) return x.a.hi < y.a.hi;
    if (x.a.lo != y.a.lo) return x.a.lo < y.a.lo;
    return x.order < y.order;
  });
  for (size_t i = 0; i < entries.size();) {
    Level& l = levels_[entries[i].level];
    size_t end = i;
    while (end < entries.size() && entries[end].level == entries[i].level) {
      ++end;
    }
    l.hi = entries[i].a.hi;
    l.oneHi = std::all_of(entries.begin() + static_cast<ptrdiff_t>(i),
                          entries.begin() + static_cast<ptrdiff_t>(end),
                          [&](const Entry& e) { return e.a.hi == l.hi; });
    for (size_t j = i; j < end; ++j) {
      const Entry& e = entries[j];
      if (!l.los.empty() && e.a.lo == l.los.back() &&
          (l.oneHi || e.a.hi == l.his.back())) {
        continue;  // a later duplicate
      }
      if (!l.oneHi) {
        l.his.push_back(e.a.hi);
      }
      l.los.push_back(e.a.lo);
      l.circuits.push_back(e.circuit);
      ++count_;
    }
    l.his.shrink_to_fit();
    l.los.shrink_to_fit();
    l.circuits.shrink_to_fit();
    i = end;
  }
  std::sort(levels_.begin(), levels_.end(),
            [](const Level& a, const Level& b) { return a.prefixLen > b.prefixLen; });
}

int32_t AddressIndex::find(const Addr& addr) const {
  for (const Level& l : levels_) {
    const uint64_t hi = addr.hi & l.mask.hi;
    const uint64_t lo = addr.lo & l.mask.lo;
    size_t at;
    if (l.oneHi) {
      if (hi != l.hi) {
        continue;
      }
      auto it = std::lower_bound(l.los.begin(), l.los.end(), lo);
      if (it == l.los.end() || *it != lo) {
        continue;
      }
      at = static_cast<size_t>(it - l.los.begin());
    } else {
      size_t first = 0, count = l.los.size();
      while (count > 0) {  // lower_bound on (hi, lo)
        const size_t step = count / 2, mid = first + step;
        if (l.his[mid] < hi || (l.his[mid] == hi && l.los[mid] < lo)) {
          first = mid + 1;
          count -= step + 1;
        } else {
          count = step;
        }
      }
      if (first == l.los.size() || l.his[first] != hi || l.los[first] != lo) {
        continue;
      }
      at = first;
    }
    return l.circuits[at];
  }
  return -1;
}

size_t AddressIndex::heapBytes() const {
  size_t bytes = levels_.capacity() * sizeof(Level);
  for (const Level& l : levels_) {
    bytes += l.his.capacity() * 8 + l.los.capacity() * 8 + l.circuits.capacity() * 4;
  }
  return bytes;
}

std::string addrToString(const Addr& addr) {
  uint8_t bytes[16];
  toBytes(addr, bytes);
  return dataplane::addressFromBytes(bytes).toString();
}

}  // namespace sluice::telemetry
