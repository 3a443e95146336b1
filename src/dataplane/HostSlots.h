#pragma once
// Host slots (abi/sluice_abi.h, struct sluice_host_slot): the per-CPU array that holds the
// counters of every host whose mapping is a single address (/32, /128), indexed by the slot the
// map writer stores in the mapping, so that XDP counts a host with an inlined array access
// instead of a per-CPU LRU hash lookup (~11 ns of a ~70 ns flow hit here, docs/dataplane.md).
//
// Ownership: the map writer (BpfMapWriter, through HostSlots) is the only one that assigns,
// frees and (re)initialises slots; XDP only increments counters of slots named by mappings.
// Slot 0 is the descriptor: it names the per-address host map (unknown hosts) and the highest
// slot in use, so a reader holding only the slot array's fd (Dataplane::hostMapFd()) finds
// everything, and the epoch map names the slot array so that a writer built from the LPM and
// epoch fds alone (the daemon's) finds it too.

#include <array>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "abi/sluice_abi.h"
#include "common/Error.h"

namespace sluice::dataplane {

/// At open: writes the descriptor (slot 0: aux = map id of `hostsFd`, limit kept from a reused
/// pinned array, else 1) and records the map ids of the slot array and of the host-route map
/// (`hostRoutesFd`) in the epoch map (the epoch value itself is kept). Errors: bpf() errno.
Result<void> initHostSlots(int slotsFd, int hostsFd, int hostRoutesFd, int epochFd);

/// The descriptor of a slot array: {aux = per-address host map id, limit}. Errors: bpf() errno;
/// EINVAL when slot 0 is not a descriptor (not a Sluice slot array).
Result<sluice_host_slot> readSlotDescriptor(int slotsFd);

/// Calls `onSlot(slot, perCpuValues)` for every slot in [1, limit) whose writer marked it in use;
/// `perCpuValues` points at libbpf_num_possible_cpus() consecutive sluice_host_slot values.
/// Reads by BPF_MAP_LOOKUP_BATCH (4096 slots per call) up to the descriptor's limit only.
/// Errors: bpf() errno.
Result<void> forEachUsedSlot(int slotsFd,
                             const std::function<void(uint32_t, const sluice_host_slot*)>& onSlot);

/// The map writer's side: which one-address prefix holds which slot. Built from the slot array
/// itself (its in_use entries), so a writer created after a daemon restart over pinned maps
/// keeps the slots, and the counters, the previous daemon assigned.
class HostSlots {
 public:
  using Addr = std::array<uint8_t, 16>;

  /// The slot array named by the epoch map (host_slots_map_id), or a disabled HostSlots when the
  /// epoch map names none (every host is then counted per address). Errors: bpf() errno (EPERM
  /// without CAP_SYS_ADMIN for bpf_map_get_fd_by_id).
  static Result<HostSlots> open(int epochFd);
  HostSlots() = default;
  HostSlots(HostSlots&& other) noexcept;
  HostSlots& operator=(HostSlots&& other) noexcept;
  HostSlots(const HostSlots&) = delete;
  HostSlots& operator=(const HostSlots&) = delete;
  ~HostSlots();

  bool enabled() const { return fd_ >= 0; }
  /// Slots the array can hold, descriptor included.
  uint32_t capacity() const { return capacity_; }

  /// The slot for a mapping with this LPM key: its current slot, else a free one (initialised on
  /// every CPU: address, in_use = 1, zero counters), else SLUICE_SLOT_NONE (a prefix wider than
  /// one address, a full array, or slots disabled). Errors: bpf() errno of the initialisation.
  Result<uint32_t> assign(const sluice_lpm_key& key);
  /// The slot of a prefix that is going away is freed at the next commit().
  void release(const sluice_lpm_key& key);
  /// publish(): releases every slot whose host was not assign()ed since the last commit().
  void releaseUnassigned();
  /// After the epoch bump that retired the released prefixes: clears their slots (in_use = 0,
  /// counters zero) and makes them reusable, and writes the descriptor's limit. Errors: bpf().
  Result<void> commit();

  /// Slots in use (tests, status).
  size_t used() const { return slotOf_.size(); }

 private:
  struct AddrHash {
    size_t operator()(const Addr& a) const;
  };
  Result<void> load();
  Result<void> writeSlot(uint32_t slot, const Addr* addr);

  int fd_ = -1;
  uint32_t capacity_ = 0;
  uint32_t limit_ = 1;  ///< one past the highest slot ever assigned
  int cpus_ = 0;
  std::unordered_map<Addr, uint32_t, AddrHash> slotOf_;
  std::vector<uint32_t> free_;      ///< reusable slots below limit_, highest first
  std::vector<uint32_t> released_;  ///< freed at the next commit()
  std::vector<uint8_t> touched_;    ///< [slot]: assigned since the last commit()
};

}  // namespace sluice::dataplane
