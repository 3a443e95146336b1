#include "dataplane/Readers.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "dataplane/BatchLookup.h"
#include "dataplane/HostSlots.h"

namespace sluice::dataplane {

Result<std::array<uint64_t, SLUICE_STAT_COUNT>> readStats(int statsFd) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return makeError(-cpus, "libbpf_num_possible_cpus");
  }
  std::array<uint64_t, SLUICE_STAT_COUNT> out{};
  std::vector<uint64_t> perCpu(static_cast<size_t>(cpus));
  for (uint32_t i = 0; i < SLUICE_STAT_COUNT; ++i) {
    if (bpf_map_lookup_elem(statsFd, &i, perCpu.data()) != 0) {
      return makeError(errno, "read stats slot " + std::to_string(i));
    }
    for (uint64_t v : perCpu) {
      out[i] += v;
    }
  }
  return out;
}

IpNet addressFromBytes(const uint8_t (&addr)[16]) {
  IpNet net;
  std::memcpy(net.addr.data(), addr, 16);
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  net.isV4 = std::memcmp(addr, kMapped, sizeof(kMapped)) == 0;
  net.prefixLen = 128;
  return net;
}

sluice_addr addressToBytes(const IpNet& address) {
  sluice_addr out{};
  std::memcpy(out.addr, address.addr.data(), 16);
  return out;
}

namespace {

// Per-CPU values of the host map are laid out at 8-byte strides (kernel
// kernel/bpf/hashtab.c: round_up(value_size, 8) per possible CPU).
constexpr size_t kHostStride = (sizeof(sluice_host_counters) + 7) / 8 * 8;

/// The host at `key` with its `cpus` per-CPU values at `values` summed; the circuit is that of
/// the CPU that saw the host last.
HostCounters sumHost(const sluice_addr& key, const uint8_t* values, int cpus,
                     size_t stride = kHostStride) {
  HostCounters h;
  h.address = addressFromBytes(key.addr);
  for (int i = 0; i < cpus; ++i) {
    sluice_host_counters c;
    std::memcpy(&c, values + static_cast<size_t>(i) * stride, sizeof(c));
    for (int d = 0; d < SLUICE_DIR_COUNT; ++d) {
      h.bytes[d] += c.bytes[d];
      h.packets[d] += c.packets[d];
      for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
        h.protoPackets[p][d] += c.proto_packets[p][d];
      }
    }
    if (c.last_seen_ns >= h.lastSeenNs && c.packets[0] + c.packets[1] > 0) {
      h.lastSeenNs = c.last_seen_ns;
      h.circuit = c.circuit;
    }
  }
  return h;
}

Result<HostCounters> lookupHost(int hostsFd, const sluice_addr& key, int cpus,
                                std::vector<uint8_t>& perCpu) {
  if (bpf_map_lookup_elem(hostsFd, &key, perCpu.data()) != 0) {
    return makeError(errno, "read host counters");
  }
  return sumHost(key, perCpu.data(), cpus);
}

// The per-address host map (LRU, per CPU).
Result<void> forEachAddressHost(int hostsFd,
                                const std::function<void(const HostCounters&)>& onHost) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return makeError(-cpus, "libbpf_num_possible_cpus");
  }
  const size_t valueBytes = kHostStride * static_cast<size_t>(cpus);
  auto batched = lookupBatchWalk<sluice_addr>(
      hostsFd, valueBytes, "the host map",
      [&](const sluice_addr* keys, const uint8_t* values, uint32_t count) {
        for (uint32_t i = 0; i < count; ++i) {
          onHost(sumHost(keys[i], values + i * valueBytes, cpus));
        }
      });
  if (batched || batched.error().errnum != EOPNOTSUPP) {
    return batched;
  }
  std::vector<uint8_t> perCpu(valueBytes);
  sluice_addr key{};
  sluice_addr next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(hostsFd, prev, &next) == 0) {
    key = next;
    prev = &key;
    auto h = lookupHost(hostsFd, key, cpus, perCpu);
    if (h) {
      onHost(*h);
    } else if (h.error().errnum != ENOENT) {
      return std::unexpected(h.error());
    }
  }
  if (errno != ENOENT) {
    return makeError(errno, "host map walk");
  }
  return {};
}

}  // namespace

Result<void> forEachHost(int hostsFd, const std::function<void(const HostCounters&)>& onHost) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(hostsFd, &info, &len) != 0) {
    return makeError(errno, "host map info");
  }
  if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY) {
    return forEachAddressHost(hostsFd, onHost);
  }
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return makeError(-cpus, "libbpf_num_possible_cpus");
  }
  // Slot hosts first, kept until the per-address walk: an address counted in both (it had
  // per-address counters before its one-address mapping got a slot, and the LRU has not evicted
  // them yet) comes out once with both halves summed.
  std::vector<HostCounters> bySlot;
  std::unordered_map<std::string_view, size_t> index;
  auto slots = forEachUsedSlot(hostsFd, [&](uint32_t, const sluice_host_slot* perCpu) {
    sluice_addr key{};
    std::memcpy(key.addr, perCpu[0].addr, 16);
    // sumHost reads sluice_host_counters at the slot stride: counters lead the slot value.
    HostCounters h = sumHost(key, reinterpret_cast<const uint8_t*>(perCpu), cpus,
                             sizeof(sluice_host_slot));
    if (h.packets[0] + h.packets[1] > 0) {  // as the LRU: hosts that were seen
      bySlot.push_back(h);
    }
  });
  if (!slots) {
    return slots;
  }
  for (size_t i = 0; i < bySlot.size(); ++i) {
    index.emplace(std::string_view(reinterpret_cast<const char*>(bySlot[i].address.addr.data()),
                                   16),
                  i);
  }
  auto d = readSlotDescriptor(hostsFd);
  if (!d) {
    return std::unexpected(d.error());
  }
  const int byAddress = bpf_map_get_fd_by_id(d->aux);
  if (byAddress < 0) {
    return makeError(errno, "open the per-address host map",
                     "map id " + std::to_string(d->aux) + " named by the host slot array");
  }
  auto rest = forEachAddressHost(byAddress, [&](const HostCounters& h) {
    auto it = index.find(
        std::string_view(reinterpret_cast<const char*>(h.address.addr.data()), 16));
    if (it == index.end()) {
      onHost(h);
      return;
    }
    HostCounters& s = bySlot[it->second];
    for (int dir = 0; dir < SLUICE_DIR_COUNT; ++dir) {
      s.bytes[dir] += h.bytes[dir];
      s.packets[dir] += h.packets[dir];
      for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
        s.protoPackets[p][dir] += h.protoPackets[p][dir];
      }
    }
    if (h.lastSeenNs > s.lastSeenNs) {
      s.lastSeenNs = h.lastSeenNs;
      s.circuit = h.circuit;
    }
  });
  close(byAddress);
  if (!rest) {
    return rest;
  }
  for (const HostCounters& h : bySlot) {
    onHost(h);
  }
  return {};
}

Result<std::vector<HostCounters>> readHostCounters(int hostsFd) {
  std::vector<HostCounters> out;
  if (auto ok = forEachHost(hostsFd, [&](const HostCounters& h) { out.push_back(h); }); !ok) {
    return std::unexpected(ok.error());
  }
  return out;
}

Result<HostCounters> readHostCounters(int hostsFd, const IpNet& address) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(hostsFd, &info, &len) != 0) {
    return makeError(errno, "host map info");
  }
  if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY) {  // the slot array: a walk (tests, CLI)
    std::optional<HostCounters> found;
    const sluice_addr want = addressToBytes(address);
    auto ok = forEachHost(hostsFd, [&](const HostCounters& h) {
      if (std::memcmp(h.address.addr.data(), want.addr, 16) == 0) {
        found = h;
      }
    });
    if (!ok) {
      return std::unexpected(ok.error());
    }
    if (!found) {
      return makeError(ENOENT, "read host counters", address.toString());
    }
    return *found;
  }
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return makeError(-cpus, "libbpf_num_possible_cpus");
  }
  std::vector<uint8_t> perCpu(kHostStride * static_cast<size_t>(cpus));
  return lookupHost(hostsFd, addressToBytes(address), cpus, perCpu);
}

Result<std::vector<FlowRecord>> readFlows(int flowsFd) {
  std::vector<FlowRecord> out;
  sluice_flow_key key{};
  sluice_flow_key next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(flowsFd, prev, &next) == 0) {
    key = next;
    prev = &key;
    FlowRecord rec{key, {}};
    if (bpf_map_lookup_elem(flowsFd, &key, &rec.flow) == 0) {
      out.push_back(rec);
    } else if (errno != ENOENT) {
      return makeError(errno, "read flow");
    }
  }
  if (errno != ENOENT) {
    return makeError(errno, "flow table walk");
  }
  return out;
}

Result<std::unique_ptr<RttConsumer>> RttConsumer::create(int ringFd, Callback callback) {
  std::unique_ptr<RttConsumer> c(new RttConsumer());
  c->callback_ = std::move(callback);
  c->ring_ = ring_buffer__new(ringFd, &RttConsumer::onSample, c.get(), nullptr);
  if (c->ring_ == nullptr) {
    return makeError(errno, "ring_buffer__new (RTT events)");
  }
  return c;
}

RttConsumer::~RttConsumer() { ring_buffer__free(ring_); }

int RttConsumer::onSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RttConsumer*>(ctx);
  if (size >= sizeof(sluice_rtt_event)) {
    sluice_rtt_event ev;
    std::memcpy(&ev, data, sizeof(ev));
    self->callback_(ev);
  }
  return 0;
}

Result<int> RttConsumer::poll(int timeoutMs) {
  int n = ring_buffer__poll(ring_, timeoutMs);
  if (n < 0 && n != -EINTR) {
    return makeError(-n, "ring_buffer__poll");
  }
  return n < 0 ? 0 : n;
}

Result<int> RttConsumer::consume() {
  int n = ring_buffer__consume(ring_);
  if (n < 0) {
    return makeError(-n, "ring_buffer__consume");
  }
  return n;
}

}  // namespace sluice::dataplane
