#include "dataplane/BpfMapWriter.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

namespace sluice::dataplane {
namespace {

bool operator<(const sluice_lpm_key& a, const sluice_lpm_key& b) {
  if (a.prefixlen != b.prefixlen) {
    return a.prefixlen < b.prefixlen;
  }
  return std::memcmp(a.addr, b.addr, sizeof(a.addr)) < 0;
}

struct KeyLess {
  bool operator()(const sluice_lpm_key& a, const sluice_lpm_key& b) const { return a < b; }
};

// Batch calls the map type does not implement fail with one of these.
bool batchUnsupported(int err) { return err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP; }

}  // namespace

sluice_lpm_key toLpmKey(const IpNet& prefix) {
  sluice_lpm_key key{};
  key.prefixlen = prefix.prefixLen;
  std::memcpy(key.addr, prefix.addr.data(), sizeof(key.addr));
  return key;
}

sluice_mapping toLpmValue(const plan::AddressMapping& mapping) {
  sluice_mapping value{};
  value.cpu = mapping.cpu;
  value.classid_down = mapping.downClass.raw();
  value.classid_up = mapping.upClass.raw();
  value.circuit =
      mapping.circuit < 0 ? SLUICE_CIRCUIT_NONE : static_cast<uint32_t>(mapping.circuit);
  return value;
}

BpfMapWriter::BpfMapWriter(int lpmFd, int epochFd, size_t batchSize)
    : lpmFd_(lpmFd), epochFd_(epochFd), batchSize_(std::max<size_t>(batchSize, 1)) {}

BpfMapWriter::~BpfMapWriter() {
  if (routesFd_ >= 0) {
    close(routesFd_);
  }
}

void BpfMapWriter::openSlots() {
  if (slotsOpened_) {
    return;
  }
  slotsOpened_ = true;
  uint32_t zero = 0;
  sluice_epoch e{};
  if (bpf_map_lookup_elem(epochFd_, &zero, &e) == 0 && e.host_routes_map_id != 0) {
    routesFd_ = bpf_map_get_fd_by_id(e.host_routes_map_id);
    if (routesFd_ < 0) {
      spdlog::warn("dataplane: host-route map {} unavailable ({}); host routes go to the LPM only",
                   e.host_routes_map_id, std::strerror(errno));
    }
  }
  auto slots = HostSlots::open(epochFd_);
  if (!slots) {
    spdlog::warn("dataplane: host slots unavailable ({}); hosts are counted per address",
                 slots.error().message());
    return;
  }
  slots_ = std::move(*slots);
}

Result<void> BpfMapWriter::assignSlots(const std::vector<sluice_lpm_key>& keys,
                                       std::vector<sluice_mapping>& values) {
  for (size_t i = 0; i < keys.size(); ++i) {
    auto slot = slots_.assign(keys[i]);
    if (!slot) {
      return std::unexpected(slot.error());
    }
    values[i].slot = *slot;
  }
  return {};
}

Result<void> BpfMapWriter::writeHostRoutes(const std::vector<sluice_lpm_key>& keys,
                                           const std::vector<sluice_mapping>& values) {
  if (routesFd_ < 0) {
    return {};
  }
  std::vector<sluice_addr> addrs;
  std::vector<sluice_mapping> vals;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].prefixlen == 128) {
      addrs.emplace_back();
      std::memcpy(addrs.back().addr, keys[i].addr, 16);
      vals.push_back(values[i]);
    }
  }
  size_t done = 0;
  while (batchRoutes_ && done < addrs.size()) {  // one bpf() per chunk, as for the LPM
    uint32_t count = static_cast<uint32_t>(std::min(batchSize_, addrs.size() - done));
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
    if (bpf_map_update_batch(routesFd_, &addrs[done], &vals[done], &count, &opts) == 0) {
      done += count;
      continue;
    }
    if (!batchUnsupported(errno) || done != 0) {
      return makeError(errno, "host route batch update");
    }
    batchRoutes_ = false;
  }
  for (; done < addrs.size(); ++done) {
    if (bpf_map_update_elem(routesFd_, &addrs[done], &vals[done], BPF_ANY) != 0) {
      return makeError(errno, "host route update");
    }
  }
  return {};
}

Result<void> BpfMapWriter::deleteHostRoutes(const std::vector<sluice_lpm_key>& keys) {
  if (routesFd_ < 0) {
    return {};
  }
  for (const auto& k : keys) {
    if (k.prefixlen == 128 && bpf_map_delete_elem(routesFd_, k.addr) != 0 && errno != ENOENT) {
      return makeError(errno, "host route delete");
    }
  }
  return {};
}

Result<void> BpfMapWriter::writeAll(const std::vector<sluice_lpm_key>& keys,
                                    const std::vector<sluice_mapping>& values) {
  if (auto ok = writeHostRoutes(keys, values); !ok) {
    return ok;
  }
  size_t done = 0;
  while (batchUpdate_ && done < keys.size()) {
    uint32_t count = static_cast<uint32_t>(std::min(batchSize_, keys.size() - done));
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
    if (bpf_map_update_batch(lpmFd_, &keys[done], &values[done], &count, &opts) == 0) {
      done += count;
      continue;
    }
    if (!batchUnsupported(errno) || done != 0) {
      return makeError(errno, "LPM batch update", std::to_string(done) + " written before");
    }
    spdlog::debug("dataplane: LPM map refuses batch updates; writing element by element");
    batchUpdate_ = false;
  }
  for (; done < keys.size(); ++done) {
    if (bpf_map_update_elem(lpmFd_, &keys[done], &values[done], BPF_ANY) != 0) {
      return makeError(errno, "LPM update", std::to_string(done) + " written before");
    }
  }
  return {};
}

Result<void> BpfMapWriter::deleteAll(const std::vector<sluice_lpm_key>& keys) {
  if (auto ok = deleteHostRoutes(keys); !ok) {
    return ok;
  }
  size_t done = 0;
  while (batchDelete_ && done < keys.size()) {
    uint32_t count = static_cast<uint32_t>(std::min(batchSize_, keys.size() - done));
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_delete_batch(lpmFd_, &keys[done], &count, &opts) == 0) {
      done += count;
      continue;
    }
    if (errno == ENOENT) {  // `count` were deleted, the next one was absent: skip it
      done += count + 1;
      continue;
    }
    if (!batchUnsupported(errno) || done != 0) {
      return makeError(errno, "LPM batch delete");
    }
    batchDelete_ = false;
  }
  for (; done < keys.size(); ++done) {
    if (bpf_map_delete_elem(lpmFd_, &keys[done]) != 0 && errno != ENOENT) {
      return makeError(errno, "LPM delete");
    }
  }
  return {};
}

Result<std::vector<sluice_lpm_key>> BpfMapWriter::keys() const {
  std::vector<sluice_lpm_key> out;
  sluice_lpm_key key{};
  sluice_lpm_key next{};
  const void* prev = nullptr;  // NULL asks the trie for its first key
  while (bpf_map_get_next_key(lpmFd_, prev, &next) == 0) {
    out.push_back(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) {
    return makeError(errno, "LPM key walk");
  }
  return out;
}

Result<uint32_t> BpfMapWriter::publish(std::span<const plan::AddressMapping> mappings) {
  // The mappings in key order as 4-byte indices, keys made on the fly: they find duplicates now
  // and the stale keys below. The keys and values themselves go to the kernel in chunks. At 335k
  // prefixes whole key and value arrays beside a sorted copy took ~13 MB at sluiced's peak, a
  // std::set before that more (issue 5's RSS budget).
  const KeyLess less;
  const auto keyAt = [&](uint32_t i) { return toLpmKey(mappings[i].prefix); };
  std::vector<uint32_t> order(mappings.size());
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = static_cast<uint32_t>(i);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const sluice_lpm_key ka = keyAt(a), kb = keyAt(b);
    return less(ka, kb) || (!less(kb, ka) && a < b);
  });
  for (size_t i = 1; i < order.size(); ++i) {
    if (!less(keyAt(order[i - 1]), keyAt(order[i]))) {
      return makeError(EINVAL, "publish: duplicate prefix " + mappings[order[i]].prefix.toString());
    }
  }
  auto existing = this->keys();
  if (!existing) {
    return std::unexpected(existing.error());
  }
  openSlots();
  constexpr size_t kChunk = 16384;
  std::vector<sluice_lpm_key> keys;
  std::vector<sluice_mapping> values;
  keys.reserve(std::min(kChunk, mappings.size()));
  values.reserve(keys.capacity());
  for (size_t at = 0; at < mappings.size(); at += kChunk) {
    keys.clear();
    values.clear();
    for (const auto& m : mappings.subspan(at, std::min(kChunk, mappings.size() - at))) {
      keys.push_back(toLpmKey(m.prefix));
      values.push_back(toLpmValue(m));
    }
    if (auto ok = assignSlots(keys, values); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = writeAll(keys, values); !ok) {
      return std::unexpected(ok.error());
    }
  }
  std::vector<sluice_lpm_key> stale;
  for (const auto& k : *existing) {
    const auto it = std::lower_bound(
        order.begin(), order.end(), k,
        [&](uint32_t i, const sluice_lpm_key& key) { return less(keyAt(i), key); });
    if (it == order.end() || less(k, keyAt(*it))) {
      stale.push_back(k);
    }
  }
  if (auto ok = deleteAll(stale); !ok) {
    return std::unexpected(ok.error());
  }
  slots_.releaseUnassigned();
  return bumpAndCommitSlots();
}

Result<uint32_t> BpfMapWriter::update(std::span<const plan::AddressMapping> upserts,
                                      std::span<const IpNet> removals) {
  std::vector<sluice_lpm_key> keys;
  std::vector<sluice_mapping> values;
  std::set<sluice_lpm_key, KeyLess> seen;
  for (const auto& m : upserts) {
    keys.push_back(toLpmKey(m.prefix));
    values.push_back(toLpmValue(m));
    if (!seen.insert(keys.back()).second) {
      return makeError(EINVAL, "update: duplicate prefix " + m.prefix.toString());
    }
  }
  std::vector<sluice_lpm_key> gone;
  for (const auto& p : removals) {
    gone.push_back(toLpmKey(p));
  }
  openSlots();
  if (auto ok = assignSlots(keys, values); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = writeAll(keys, values); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = deleteAll(gone); !ok) {
    return std::unexpected(ok.error());
  }
  for (const auto& k : gone) {
    if (!seen.contains(k)) {  // removed, not just re-written by this call
      slots_.release(k);
    }
  }
  return bumpAndCommitSlots();
}

Result<uint32_t> BpfMapWriter::bumpAndCommitSlots() {
  auto epoch = bumpEpoch();
  if (!epoch) {
    return epoch;
  }
  // After the bump no cached decision names a released slot any more: reuse is safe.
  if (auto ok = slots_.commit(); !ok) {
    return std::unexpected(ok.error());
  }
  return epoch;
}

Result<uint32_t> BpfMapWriter::epoch() const {
  uint32_t zero = 0;
  sluice_epoch value{};
  if (bpf_map_lookup_elem(epochFd_, &zero, &value) != 0) {
    return makeError(errno, "read epoch");
  }
  return value.epoch;
}

Result<uint32_t> BpfMapWriter::bumpEpoch() {
  uint32_t zero = 0;
  sluice_epoch value{};
  if (bpf_map_lookup_elem(epochFd_, &zero, &value) != 0) {
    return makeError(errno, "read epoch");
  }
  value.epoch += 1;  // host_slots_map_id stays
  if (bpf_map_update_elem(epochFd_, &zero, &value, BPF_ANY) != 0) {
    return makeError(errno, "bump epoch");
  }
  return value.epoch;
}

}  // namespace sluice::dataplane
