#pragma once
// The packet scheduler clock as iproute2 sees it, and the transmit-time arithmetic built on it
// (facts from iproute2 tc/tc_core.c tc_core_init/tc_calc_xmittime/tc_calc_rtable and lib/utils.c
// get_hz; kernel net/sched/sch_api.c psched_show writes /proc/net/psched).
//
// /proc/net/psched holds four hex words: t2us, us2t, clock resolution (Hz), and HZ-ish. On every
// current kernel it reads "000003e8 00000040 000f4240 3b9aca00": a tick is 1000/64 = 15.625 us
// "units" and iproute2 derives buffer sizes from rate / 1e9 (the fourth word, when the third is
// 1,000,000).

#include <array>
#include <cstdint>
#include <string>

#include "common/Error.h"

namespace sluice::tc {

/// Microseconds per second: iproute2's TIME_UNITS_PER_SEC.
inline constexpr double kTimeUnitsPerSec = 1'000'000.0;

struct Psched {
  uint32_t t2us = 1000;
  uint32_t us2t = 64;
  uint32_t clockRes = 1'000'000;
  uint32_t hzWord = 1'000'000'000;

  /// Scheduler ticks per microsecond: t2us / us2t * clockRes / 1e6, with iproute2's
  /// compatibility rule that a 1 GHz clock resolution means t2us = us2t.
  double tickInUsec() const;
  /// The "hz" iproute2 divides rates by for default bursts: the fourth word when the third is
  /// 1,000,000, else 100 (iproute2's HZ fallback).
  uint32_t hz() const;

  /// Time to send `sizeBytes` at `rateBytesPerSec`, in scheduler ticks, truncated like iproute2:
  /// microseconds are truncated to an unsigned integer, then scaled by tickInUsec() and truncated
  /// again. `rateBytesPerSec` must be > 0.
  uint32_t xmitTime(uint64_t rateBytesPerSec, uint32_t sizeBytes) const;

  /// Reads /proc/net/psched (or `path`). Errors: open/parse failures with the path.
  static Result<Psched> read(const std::string& path = "/proc/net/psched");
  /// The values every current Linux kernel reports (used by tests and as the documented default).
  static Psched standard() { return Psched{}; }
};

/// A 256-entry rate table (TCA_HTB_RTAB/CTAB): entry i is the transmit time in ticks of a packet
/// of ((i + 1) << cellLog) bytes (at least `mpu`), Ethernet link layer (no ATM cell padding).
struct RateTable {
  std::array<uint32_t, 256> ticks{};
  uint8_t cellLog = 0;
};

/// Builds the rate table for `rate32` (the 32-bit rate iproute2 writes into tc_ratespec; it uses
/// that one, not the 64-bit rate, for the table) and `mtu` (0 means 2047); the cell log is the
/// smallest with (mtu >> cellLog) <= 255 (iproute2 tc_calc_rtable with cell_log -1).
RateTable computeRateTable(const Psched& clock, uint32_t rate32, uint32_t mtu, uint16_t mpu);

}  // namespace sluice::tc
