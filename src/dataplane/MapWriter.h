#pragma once
// How the control plane changes the data plane's address mappings. The kernel implementation is
// BpfMapWriter; unit tests of the planner/bakery use RecordingMapWriter.
//
// Contract of every implementation: packets see either the old or the new mapping of a prefix,
// never none; a call ends with exactly one epoch bump, after all map writes, which invalidates
// every flow-table and hot-cache entry made before it (they re-read the LPM on next use).

#include <cstdint>
#include <span>

#include "common/Error.h"
#include "common/IpNet.h"
#include "planner/QueuePlan.h"

namespace sluice::dataplane {

class MapWriter {
 public:
  virtual ~MapWriter() = default;

  /// Full republish: afterwards the LPM holds exactly `mappings` (by prefix). New and changed
  /// prefixes are written first, stale ones deleted after, so a prefix present in both the old
  /// and the new set is never missing. Returns the new epoch. Errors: EINVAL for duplicate
  /// prefixes; otherwise the failing bpf() errno (the map may then hold a mix of old and new
  /// entries, all of them valid mappings; the epoch is not bumped).
  virtual Result<uint32_t> publish(std::span<const plan::AddressMapping> mappings) = 0;

  /// Incremental change: upserts, then removals, then one epoch bump. Removing an absent prefix
  /// is not an error. Returns the new epoch. Errors as publish().
  virtual Result<uint32_t> update(std::span<const plan::AddressMapping> upserts,
                                  std::span<const IpNet> removals) = 0;

  /// Bumps the epoch alone (e.g. after changing the config map's queue CPUs).
  virtual Result<uint32_t> bumpEpoch() = 0;
};

}  // namespace sluice::dataplane
