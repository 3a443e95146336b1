#pragma once
// MapWriter over the real LPM trie and epoch map (file descriptors from Dataplane, or from
// pinned maps). Single writer: two BpfMapWriters on the same maps would race on the epoch.
//
// It also keeps the host-route map (the LPM's one-address prefixes by exact address) in step
// with the LPM, and owns the host slots (dataplane/HostSlots.h): every one-address mapping it writes gets
// a slot of the host slot array (found through the epoch map), kept while the prefix stays
// published and freed after the epoch bump that follows its removal.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "abi/sluice_abi.h"
#include "dataplane/HostSlots.h"
#include "dataplane/MapWriter.h"

namespace sluice::dataplane {

/// The LPM key/value a mapping is stored as (prefixlen in the 128-bit space, v4-mapped).
sluice_lpm_key toLpmKey(const IpNet& prefix);
sluice_mapping toLpmValue(const plan::AddressMapping& mapping);

class BpfMapWriter final : public MapWriter {
 public:
  /// `lpmFd` and `epochFd` are borrowed and must outlive the writer. `batchSize` bounds the
  /// elements per bpf() call.
  BpfMapWriter(int lpmFd, int epochFd, size_t batchSize = 4096);
  ~BpfMapWriter() override;
  BpfMapWriter(const BpfMapWriter&) = delete;
  BpfMapWriter& operator=(const BpfMapWriter&) = delete;

  Result<uint32_t> publish(std::span<const plan::AddressMapping> mappings) override;
  Result<uint32_t> update(std::span<const plan::AddressMapping> upserts,
                          std::span<const IpNet> removals) override;
  Result<uint32_t> bumpEpoch() override;

  /// Current epoch value. Errors: bpf_map_lookup_elem errno.
  Result<uint32_t> epoch() const;
  /// Every key in the LPM (one get_next_key walk). Errors: bpf() errno.
  Result<std::vector<sluice_lpm_key>> keys() const;
  /// True once a batch call was refused and the writer fell back to per-element calls.
  bool perElementFallback() const { return !batchUpdate_; }
  /// Host slots in use after the last call (0 before the first, or without a slot array).
  size_t hostSlotsUsed() const { return slots_.used(); }

 private:
  Result<void> writeAll(const std::vector<sluice_lpm_key>& keys,
                        const std::vector<sluice_mapping>& values);
  Result<void> deleteAll(const std::vector<sluice_lpm_key>& keys);
  /// The one-address keys of a write/delete into/from the host-route map (before the LPM's
  /// writes, before its deletes: the trie holds the same answer meanwhile). Errors: bpf() errno.
  Result<void> writeHostRoutes(const std::vector<sluice_lpm_key>& keys,
                               const std::vector<sluice_mapping>& values);
  Result<void> deleteHostRoutes(const std::vector<sluice_lpm_key>& keys);
  /// bumpEpoch(), then frees the slots released by this call.
  Result<uint32_t> bumpAndCommitSlots();
  /// Opens the host slots on first use; a failure leaves them off (hosts counted per address).
  void openSlots();
  /// values[i].slot for keys[i]. Errors: bpf() errno.
  Result<void> assignSlots(const std::vector<sluice_lpm_key>& keys,
                           std::vector<sluice_mapping>& values);

  int lpmFd_;
  int epochFd_;
  size_t batchSize_;
  bool batchUpdate_ = true;
  bool batchDelete_ = true;
  bool slotsOpened_ = false;
  int routesFd_ = -1;
  bool batchRoutes_ = true;  ///< sluice_host_routes, opened by id with the slots; -1 = none
  HostSlots slots_;
};

}  // namespace sluice::dataplane
