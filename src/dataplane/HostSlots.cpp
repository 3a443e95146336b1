#include "dataplane/HostSlots.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace sluice::dataplane {
namespace {

// Per-CPU array values come at 8-byte strides (kernel/bpf/arraymap.c: round_up(value_size, 8));
// sluice_host_slot is a multiple of 8 (AbiChecks.cpp).
constexpr size_t kSlotStride = sizeof(sluice_host_slot);

Result<int> possibleCpus() {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return makeError(-cpus, "libbpf_num_possible_cpus");
  }
  return cpus;
}

Result<uint32_t> mapId(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    return makeError(errno, "map info");
  }
  return info.id;
}

// One-address prefixes get slots: IPv4 /32 is prefixlen 128 in the v4-mapped key space.
bool isHostKey(const sluice_lpm_key& key) { return key.prefixlen == 128; }

}  // namespace

Result<sluice_host_slot> readSlotDescriptor(int slotsFd) {
  auto cpus = possibleCpus();
  if (!cpus) {
    return std::unexpected(cpus.error());
  }
  std::vector<sluice_host_slot> perCpu(static_cast<size_t>(*cpus));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(slotsFd, &zero, perCpu.data()) != 0) {
    return makeError(errno, "read host slot descriptor");
  }
  if (perCpu[0].in_use != SLUICE_SLOT_DESCRIPTOR) {
    return makeError(EINVAL, "host slot array", "slot 0 holds no descriptor");
  }
  return perCpu[0];
}

Result<void> initHostSlots(int slotsFd, int hostsFd, int hostRoutesFd, int epochFd) {
  auto cpus = possibleCpus();
  auto hostsId = mapId(hostsFd);
  auto slotsId = mapId(slotsFd);
  auto routesId = mapId(hostRoutesFd);
  if (!cpus || !hostsId || !slotsId || !routesId) {
    return makeError(errno ? errno : EIO, "host slots: map ids");
  }
  sluice_host_slot d{};
  d.in_use = SLUICE_SLOT_DESCRIPTOR;
  d.aux = *hostsId;
  d.limit = 1;
  if (auto old = readSlotDescriptor(slotsFd); old && old->limit >= 1) {
    d.limit = old->limit;  // a reused pinned array keeps its assignments
  }
  std::vector<sluice_host_slot> perCpu(static_cast<size_t>(*cpus), d);
  uint32_t zero = 0;
  if (bpf_map_update_elem(slotsFd, &zero, perCpu.data(), BPF_ANY) != 0) {
    return makeError(errno, "write host slot descriptor");
  }
  sluice_epoch e{};
  if (bpf_map_lookup_elem(epochFd, &zero, &e) != 0) {
    return makeError(errno, "read epoch");
  }
  e.host_slots_map_id = *slotsId;
  e.host_routes_map_id = *routesId;
  if (bpf_map_update_elem(epochFd, &zero, &e, BPF_ANY) != 0) {
    return makeError(errno, "write epoch map (host slot array id)");
  }
  return {};
}

Result<void> forEachUsedSlot(
    int slotsFd, const std::function<void(uint32_t, const sluice_host_slot*)>& onSlot) {
  auto cpus = possibleCpus();
  if (!cpus) {
    return std::unexpected(cpus.error());
  }
  auto d = readSlotDescriptor(slotsFd);
  if (!d) {
    return std::unexpected(d.error());
  }
  const size_t valueBytes = kSlotStride * static_cast<size_t>(*cpus);
  constexpr uint32_t kChunk = 4096;
  std::vector<uint32_t> keys(kChunk);
  std::vector<uint8_t> values(kChunk * valueBytes);
  uint32_t inBatch = 0;
  uint32_t outBatch = 0;
  bool first = true;
  uint32_t seen = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  while (seen < d->limit) {
    uint32_t count = std::min(kChunk, d->limit - seen);
    const int rc = bpf_map_lookup_batch(slotsFd, first ? nullptr : &inBatch, &outBatch,
                                        keys.data(), values.data(), &count, &opts);
    if (rc != 0 && errno != ENOENT) {
      return makeError(errno, "batch lookup of the host slot array");
    }
    for (uint32_t i = 0; i < count; ++i) {
      const auto* v = reinterpret_cast<const sluice_host_slot*>(values.data() + i * valueBytes);
      if (keys[i] != 0 && keys[i] < d->limit && v->in_use == 1) {
        onSlot(keys[i], v);
      }
    }
    seen += count;
    if (rc != 0 || count == 0) {
      break;
    }
    inBatch = outBatch;
    first = false;
  }
  return {};
}

size_t HostSlots::AddrHash::operator()(const Addr& a) const {
  uint64_t hi;
  uint64_t lo;
  std::memcpy(&hi, a.data(), 8);
  std::memcpy(&lo, a.data() + 8, 8);
  return std::hash<uint64_t>{}(hi * 0x9e3779b97f4a7c15ull ^ lo);
}

Result<HostSlots> HostSlots::open(int epochFd) {
  HostSlots s;
  uint32_t zero = 0;
  sluice_epoch e{};
  if (bpf_map_lookup_elem(epochFd, &zero, &e) != 0) {
    return makeError(errno, "read epoch");
  }
  if (e.host_slots_map_id == 0) {
    return s;
  }
  s.fd_ = bpf_map_get_fd_by_id(e.host_slots_map_id);
  if (s.fd_ < 0) {
    return makeError(errno, "open host slot array",
                     "map id " + std::to_string(e.host_slots_map_id) + " named by the epoch map");
  }
  if (auto ok = s.load(); !ok) {
    return std::unexpected(ok.error());
  }
  return s;
}

HostSlots::HostSlots(HostSlots&& o) noexcept { *this = std::move(o); }

HostSlots& HostSlots::operator=(HostSlots&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = std::exchange(o.fd_, -1);
    capacity_ = o.capacity_;
    limit_ = o.limit_;
    cpus_ = o.cpus_;
    slotOf_ = std::move(o.slotOf_);
    free_ = std::move(o.free_);
    released_ = std::move(o.released_);
    touched_ = std::move(o.touched_);
  }
  return *this;
}

HostSlots::~HostSlots() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

Result<void> HostSlots::load() {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd_, &info, &len) != 0) {
    return makeError(errno, "host slot array info");
  }
  if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.value_size != sizeof(sluice_host_slot)) {
    return makeError(EINVAL, "host slot array", "unexpected map type or value size");
  }
  capacity_ = info.max_entries;
  auto cpus = possibleCpus();
  if (!cpus) {
    return std::unexpected(cpus.error());
  }
  cpus_ = *cpus;
  auto d = readSlotDescriptor(fd_);
  if (!d) {
    return std::unexpected(d.error());
  }
  limit_ = std::clamp<uint32_t>(d->limit, 1, capacity_);
  std::vector<uint8_t> used(limit_, 0);
  auto ok = forEachUsedSlot(fd_, [&](uint32_t slot, const sluice_host_slot* v) {
    Addr a;
    std::memcpy(a.data(), v->addr, 16);
    if (slot < limit_ && slotOf_.emplace(a, slot).second) {
      used[slot] = 1;
    }
  });
  if (!ok) {
    return ok;
  }
  for (uint32_t s = limit_; s-- > 1;) {
    if (used[s] == 0) {
      free_.push_back(s);  // descending: back() is the lowest free slot
    }
  }
  touched_.assign(capacity_, 0);
  return {};
}

Result<void> HostSlots::writeSlot(uint32_t slot, const Addr* addr) {
  sluice_host_slot v{};
  if (addr != nullptr) {
    std::memcpy(v.addr, addr->data(), 16);
    v.in_use = 1;
    v.counters.circuit = SLUICE_CIRCUIT_NONE;
  }
  std::vector<sluice_host_slot> perCpu(static_cast<size_t>(cpus_), v);
  if (bpf_map_update_elem(fd_, &slot, perCpu.data(), BPF_ANY) != 0) {
    return makeError(errno, "write host slot " + std::to_string(slot));
  }
  return {};
}

Result<uint32_t> HostSlots::assign(const sluice_lpm_key& key) {
  if (fd_ < 0 || !isHostKey(key)) {
    return SLUICE_SLOT_NONE;
  }
  Addr a;
  std::memcpy(a.data(), key.addr, 16);
  if (auto it = slotOf_.find(a); it != slotOf_.end()) {
    touched_[it->second] = 1;
    return it->second;
  }
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else if (limit_ < capacity_) {
    slot = limit_++;
  } else {
    return SLUICE_SLOT_NONE;  // full: this host is counted per address
  }
  if (auto ok = writeSlot(slot, &a); !ok) {
    free_.push_back(slot);
    return std::unexpected(ok.error());
  }
  slotOf_.emplace(a, slot);
  touched_[slot] = 1;
  return slot;
}

void HostSlots::release(const sluice_lpm_key& key) {
  if (fd_ < 0 || !isHostKey(key)) {
    return;
  }
  Addr a;
  std::memcpy(a.data(), key.addr, 16);
  if (auto it = slotOf_.find(a); it != slotOf_.end()) {
    released_.push_back(it->second);
    slotOf_.erase(it);
  }
}

void HostSlots::releaseUnassigned() {
  for (auto it = slotOf_.begin(); it != slotOf_.end();) {
    if (touched_[it->second] == 0) {
      released_.push_back(it->second);
      it = slotOf_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<void> HostSlots::commit() {
  if (fd_ < 0) {
    return {};
  }
  std::fill(touched_.begin(), touched_.end(), 0);
  for (uint32_t slot : released_) {
    if (auto ok = writeSlot(slot, nullptr); !ok) {
      return ok;
    }
    free_.push_back(slot);
  }
  released_.clear();
  std::sort(free_.begin(), free_.end(), std::greater<>());
  auto d = readSlotDescriptor(fd_);
  if (!d) {
    return std::unexpected(d.error());
  }
  if (d->limit != limit_) {
    d->limit = limit_;
    std::vector<sluice_host_slot> perCpu(static_cast<size_t>(cpus_), *d);
    uint32_t zero = 0;
    if (bpf_map_update_elem(fd_, &zero, perCpu.data(), BPF_ANY) != 0) {
      return makeError(errno, "write host slot descriptor");
    }
  }
  return {};
}

}  // namespace sluice::dataplane
