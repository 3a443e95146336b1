#pragma once
// Numbers of the HTB tree: rate units, r2q and quantum, the queue count (DESIGN §4).

#include <cstdint>
#include <optional>

namespace sluice::plan {

/// Largest quantum (bytes) Sluice lets HTB use. Source: LibreQoS (LibreQoS.py `MAX_R2Q = 60_000`,
/// after HTB's "quantum of class is big" warnings); DESIGN §4.
inline constexpr uint64_t kMaxQuantumBytes = 60'000;
/// Smallest quantum (bytes): one full Ethernet frame with a VLAN tag (1500 + 14 + 4 + 4).
/// Source: LibreQoS.py `MIN_QUANTUM = 1522`; DESIGN §4.
inline constexpr uint32_t kMinQuantumBytes = 1522;
/// HTB's own default rate-to-quantum ratio (kernel sch_htb.c, tc-htb(8) `r2q`, default 10).
inline constexpr uint32_t kDefaultR2q = 10;
/// HTB nests at most 8 class levels (kernel include/uapi/linux/pkt_sched.h TC_HTB_MAXDEPTH).
inline constexpr uint32_t kHtbMaxDepth = 8;
/// Site levels kept as they are: the link class and the circuit level take 2 of the 8 levels, so
/// 6 site levels fit; nodes deeper than the 5th site level are flattened into one 6th level under
/// their 5th-level ancestor (DESIGN §4, LibreQoS flattens the same way).
inline constexpr uint32_t kKeptSiteLevels = 5;

/// Mbps (10^6 bit/s, as LibreQoS inputs use) → bytes per second, rounded to the nearest byte.
/// The kernel stores HTB rates in bytes per second, so planning in whole bytes keeps the plan, the
/// tc-batch text and the netlink encoding identical.
uint64_t mbpsToBytesPerSecond(double mbps);

/// Mbps → bits per second as a whole number of bytes times 8 (see mbpsToBytesPerSecond).
uint64_t mbpsToBits(double mbps);

/// r2q for an HTB qdisc whose largest class rate is `maxMbps`: the smallest integer ≥ 10 for which
/// maxRateBytes / r2q ≤ 60000 (LibreQoS.py calculateR2q, called with max(uplink, downlink)).
/// Examples: 1 Mbps → 10, 10 Mbps → 21, 100 Mbps → 209, 10 Gbps → 20834.
uint32_t computeR2q(double maxMbps);

/// HTB quantum in bytes for a class: max(1522, floor(ceilBytes / r2q)), capped at 60000 (so a ceil
/// above the link rate cannot produce a quantum HTB complains about). LibreQoS.py quantum() passes
/// the class's max rate (ceil), not its min; Sluice does the same.
uint32_t computeQuantum(uint64_t ceilBitsPerSecond, uint32_t r2q);

/// Shaping queues per direction. Without an override: min(availableTxQueues, cpuCount) (LibreQoS
/// findQueuesAvailable). With `override_available_queues` the override is the count (a lab may
/// want more HTB qdiscs than CPUs, DESIGN §5). On a stick the interface carries both directions,
/// so the count is halved (at least 1). Never 0; at most 0x7FFE so majors stay below 0x7FFF.
uint16_t computeQueueCount(uint32_t availableTxQueues, uint32_t cpuCount,
                           std::optional<uint32_t> overrideQueues, bool onAStick);

/// CAKE `rtt` (µs) for a low-rate circuit, or nullopt to keep the configured rtt. ≤1 Mbps 300 ms,
/// ≤2 180 ms, ≤3 140 ms, ≤4 120 ms (DESIGN §4; LibreQoS sqmFixupRate: one 1500-byte MTU at the
/// rate plus 3 ms, taken as 5 % of the rtt).
std::optional<uint32_t> lowRateCakeRttUs(double maxMbps);

}  // namespace sluice::plan
