#pragma once
// Replaying a recorded signal trace through the delay_probe controller: what StormGuard would have
// done, tick by tick. Tests use it with traces under tests/data/stormguard/; an operator can use it
// to tune [stormguard] against a trace of their own link.
//
// Trace text: one tick per line, "time_s,throughput_mbps,rtt_ms,retransmit_fraction[,apply_ok]";
// rtt_ms may be empty (no sample); apply_ok 0 makes that tick's decision fail to apply (default
// 1); '#' starts a comment line.

#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "stormguard/DelayProbe.h"

namespace sluice::stormguard {

struct TraceTick {
  double timeSeconds = 0;
  Sample sample;
  bool applyOk = true;
};

struct TraceStep {
  double timeSeconds = 0;
  Decision decision;
  double rateAfterMbps = 0;  ///< the controller's rate after this tick's apply
  std::optional<double> baselineMs;
};

/// Parses trace text. Errors: EINVAL naming `name`:line and the offending value.
Result<std::vector<TraceTick>> parseTrace(std::string_view text, const std::string& name);

/// Runs every tick through a fresh DelayProbe(params, plannedMbps, minimumShare).
std::vector<TraceStep> replay(const DelayProbeParams& params, double plannedMbps,
                              double minimumShare, const std::vector<TraceTick>& ticks);

}  // namespace sluice::stormguard
