#include "stormguard/Trace.h"

#include <charconv>

#include <fmt/format.h>

namespace sluice::stormguard {
namespace {

bool parseNumber(std::string_view text, double& out) {
  while (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<std::vector<TraceTick>> parseTrace(std::string_view text, const std::string& name) {
  std::vector<TraceTick> out;
  size_t lineNo = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineNo;
    if (line.empty() || line.front() == '#' || line == "\r") {
      continue;
    }
    std::vector<std::string_view> fields;
    for (size_t at = 0;;) {
      const size_t comma = line.find(',', at);
      fields.push_back(line.substr(at, comma == std::string_view::npos ? comma : comma - at));
      if (comma == std::string_view::npos) {
        break;
      }
      at = comma + 1;
    }
    auto bad = [&](std::string_view what, std::string_view value) {
      return makeError(EINVAL, fmt::format("{}:{}", name, lineNo),
                       fmt::format("{} ({})", what, value));
    };
    if (fields.size() < 4 || fields.size() > 5) {
      return bad("expected time_s,throughput_mbps,rtt_ms,retransmit_fraction[,apply_ok]", line);
    }
    TraceTick t;
    double rtt = 0, ok = 1;
    if (!parseNumber(fields[0], t.timeSeconds)) {
      return bad("time_s is not a number", fields[0]);
    }
    if (!parseNumber(fields[1], t.sample.throughputMbps)) {
      return bad("throughput_mbps is not a number", fields[1]);
    }
    if (fields[2].find_first_not_of(' ') != std::string_view::npos) {
      if (!parseNumber(fields[2], rtt)) {
        return bad("rtt_ms is not a number", fields[2]);
      }
      t.sample.rttMs = rtt;
    }
    if (!parseNumber(fields[3], t.sample.retransmitFraction)) {
      return bad("retransmit_fraction is not a number", fields[3]);
    }
    if (fields.size() == 5) {
      if (!parseNumber(fields[4], ok) || (ok != 0 && ok != 1)) {
        return bad("apply_ok must be 0 or 1", fields[4]);
      }
      t.applyOk = ok == 1;
    }
    out.push_back(t);
  }
  return out;
}

std::vector<TraceStep> replay(const DelayProbeParams& params, double plannedMbps,
                              double minimumShare, const std::vector<TraceTick>& ticks) {
  DelayProbe probe(params, plannedMbps, minimumShare);
  std::vector<TraceStep> out;
  out.reserve(ticks.size());
  for (const TraceTick& t : ticks) {
    TraceStep step;
    step.timeSeconds = t.timeSeconds;
    step.decision = probe.tick(t.sample, t.timeSeconds);
    probe.reportApplied(step.decision, t.applyOk, t.timeSeconds);
    step.rateAfterMbps = probe.currentMbps();
    step.baselineMs = probe.baselineMs();
    out.push_back(std::move(step));
  }
  return out;
}

}  // namespace sluice::stormguard
