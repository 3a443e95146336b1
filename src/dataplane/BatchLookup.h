#pragma once
// Reading a whole BPF hash map in chunks with BPF_MAP_LOOKUP_BATCH: one bpf() call per few
// thousand entries instead of a get_next_key and a lookup per entry (kernel
// kernel/bpf/hashtab.c, __htab_map_lookup_and_delete_batch). The host map and the flow table
// are read this way every second, by telemetry and by the lazy-queue tracker.

#include <bpf/bpf.h>
#include <errno.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/Error.h"

namespace sluice::dataplane {

/// Entries asked for per BPF_MAP_LOOKUP_BATCH call (the kernel may return fewer).
inline constexpr uint32_t kLookupBatchEntries = 4096;

/// Runs BPF_MAP_LOOKUP_BATCH over the whole hash map `fd` whose keys are `Key` and whose values
/// take `valueBytes` each (for a per-CPU map: the value size rounded up to 8, times the possible
/// CPUs), calling `onBatch(const Key* keys, const uint8_t* values, uint32_t count)` for every
/// chunk. A bucket holding more entries than the chunk (ENOSPC with nothing returned) doubles the
/// chunk. Entries added or deleted during the walk may or may not be seen; none is seen twice.
/// Errors: EOPNOTSUPP when the first call shows the kernel has no batch lookup for this map type
/// (EINVAL, ENOTSUP or EOPNOTSUPP: the caller falls back to a get_next_key walk); else the errno
/// of the failing call, naming `what`.
template <typename Key, typename OnBatch>
Result<void> lookupBatchWalk(int fd, size_t valueBytes, const char* what, OnBatch&& onBatch) {
  uint32_t chunk = kLookupBatchEntries;
  std::vector<Key> keys(chunk);
  std::vector<uint8_t> values(chunk * valueBytes);
  uint32_t inBatch = 0;
  uint32_t outBatch = 0;
  bool first = true;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    uint32_t count = chunk;
    const int rc = bpf_map_lookup_batch(fd, first ? nullptr : &inBatch, &outBatch, keys.data(),
                                        values.data(), &count, &opts);
    const int err = rc < 0 ? errno : 0;
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
    onBatch(static_cast<const Key*>(keys.data()), static_cast<const uint8_t*>(values.data()),
            count);
    if (rc < 0) {  // ENOENT: that was the last chunk
      return {};
    }
    inBatch = outBatch;
    first = false;
  }
}

}  // namespace sluice::dataplane
