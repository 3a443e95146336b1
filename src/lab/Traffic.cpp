#include "lab/Traffic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "lab/Command.h"

namespace sluice::lab {

namespace {

/// "cubic" when the kernel offers it (tcp_available_congestion_control is one list for all
/// namespaces), else "" after saying so once on stderr.
const std::string& loadCongestionControl() {
  static const std::string name = [] {
    std::ifstream file("/proc/sys/net/ipv4/tcp_available_congestion_control");
    for (std::string word; file >> word;) {
      if (word == "cubic") {
        return word;
      }
    }
    std::fprintf(stderr,
                 "lab: the kernel offers no CUBIC: iperf3 keeps the default congestion control, "
                 "and a paced sender (BBR) on a stalled CPU reads below the shaper's rate\n");
    return std::string();
  }();
  return name;
}

bool within(double measured, double expected, double tolerancePercent) {
  return std::fabs(measured - expected) <= expected * tolerancePercent / 100.0;
}

/// One iperf3 test; a test that fails before it measured anything (the server still closing the
/// previous test on that port: "unable to receive control message") is retried twice.
Result<double> runOne(const TrafficTarget& target, uint16_t port, bool download, int seconds,
                      Child first) {
  Child child = std::move(first);
  for (int attempt = 0;; ++attempt) {
    auto output = child.wait(std::chrono::seconds(seconds + 30));
    if (!output) {
      return std::unexpected(output.error());
    }
    auto rate = receiverMbps(output->out);
    if (rate || attempt == 2) {
      if (!rate) {
        return makeError(rate.error().errnum,
                         fmt::format("{} ({} of circuit {}): {}", describe(child.argv()),
                                     download ? "download" : "upload", target.circuit,
                                     rate.error().context),
                         rate.error().detail.empty() ? output->err : rate.error().detail);
      }
      return rate;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto again = Child::start(iperfArgv(target.source, port, download, seconds));
    if (!again) {
      return std::unexpected(again.error());
    }
    child = std::move(*again);
  }
}

/// Runs one phase (all downloads or all uploads), batches of kServerPorts tests.
Result<std::vector<double>> runPhase(const std::vector<TrafficTarget>& targets, bool download,
                                     int seconds) {
  std::vector<double> mbps(targets.size(), 0);
  for (size_t first = 0; first < targets.size(); first += kServerPorts) {
    const size_t last = std::min(targets.size(), first + kServerPorts);
    std::vector<Child> children;
    for (size_t i = first; i < last; ++i) {
      const auto port = static_cast<uint16_t>(kFirstPort + (i - first));
      auto child = Child::start(iperfArgv(targets[i].source, port, download, seconds));
      if (!child) {
        return std::unexpected(child.error());
      }
      children.push_back(std::move(*child));
    }
    for (size_t i = first; i < last; ++i) {
      const auto port = static_cast<uint16_t>(kFirstPort + (i - first));
      auto rate = runOne(targets[i], port, download, seconds, std::move(children[i - first]));
      if (!rate) {
        return std::unexpected(rate.error());
      }
      mbps[i] = *rate;
    }
  }
  return mbps;
}

}  // namespace

double payloadShare(bool v4) {
  // Ethernet 14 + IP (20 / 40) + TCP 20 + timestamps 12 around each MSS-sized payload.
  constexpr double kFrame = 1514;
  return (kFrame - 14 - (v4 ? 20 : 40) - 32) / kFrame;
}

Result<plan::PipelineResult> planLab(const LabState& state) {
  plan::PipelineOptions pipeline;
  pipeline.paths = {state.config, "", ""};
  // The planner's ceilings do not depend on the queue count; fix it so no sysfs probe runs in
  // the host namespace (the shaper ports live in the shaper namespace).
  pipeline.txQueues = state.mode == LabMode::Bridge ? kShaperQueues : 2 * kShaperQueues;
  plan::PipelineResult result = plan::runPipeline(pipeline);
  if (!result.ok()) {
    std::string all;
    for (const Diagnostic& d : result.inputs.diagnostics.all()) {
      all += d.toString() + "\n";
    }
    return makeError(EINVAL, "the lab's inputs do not plan", all);
  }
  return result;
}

Result<std::vector<TrafficTarget>> resolveTargets(const LabState& state,
                                                  const TrafficOptions& options) {
  auto planned = planLab(state);
  if (!planned) {
    return std::unexpected(planned.error());
  }
  const plan::PipelineResult& result = *planned;
  const model::ShapedDevices& shaped = result.inputs.model.shaped;
  const std::vector<CircuitHosts> hosts = circuitHosts(shaped);
  std::vector<TrafficTarget> targets;
  std::vector<std::string> problems;
  for (const std::string& wanted : options.circuits) {
    auto byId = shaped.byId.find(wanted);
    size_t index = shaped.circuits.size();
    if (byId != shaped.byId.end()) {
      index = byId->second;
    } else {
      for (size_t i = 0; i < shaped.circuits.size(); ++i) {
        if (shaped.circuits[i].name == wanted) {
          index = i;
          break;
        }
      }
    }
    if (index == shaped.circuits.size()) {
      problems.push_back(fmt::format("no circuit {} in {}", wanted, state.devices));
      continue;
    }
    const CircuitHosts& h = hosts[index];
    const bool v4 = options.family == AddressFamily::V4 ||
                    (options.family == AddressFamily::Auto && !h.ipv4.empty());
    const std::vector<IpNet>& list = v4 ? h.ipv4 : h.ipv6;
    if (list.empty()) {
      problems.push_back(fmt::format("circuit {} has no IPv{} address", h.circuitId, v4 ? 4 : 6));
      continue;
    }
    const auto placement = std::find_if(
        result.plan->circuits.begin(), result.plan->circuits.end(),
        [&](const plan::CircuitPlacement& c) { return c.circuitId == h.circuitId; });
    if (placement == result.plan->circuits.end()) {
      problems.push_back(fmt::format("circuit {} is not in the plan", h.circuitId));
      continue;
    }
    targets.push_back(
        {h.circuitId, list.front(), placement->downloadMaxMbps, placement->uploadMaxMbps});
  }
  if (!problems.empty()) {
    std::string all;
    for (const std::string& p : problems) {
      all += (all.empty() ? "" : "; ") + p;
    }
    return makeError(EINVAL, all);
  }
  return targets;
}

std::vector<std::string> iperfArgv(const IpNet& source, uint16_t port, bool download,
                                   int seconds, const std::string& ns) {
  std::vector<std::string> argv{"ip",       "netns",
                                "exec",     ns,
                                "iperf3",   "--client",
                                source.isV4 ? kServerV4 : kServerV6,
                                "--port",   std::to_string(port),
                                "--bind",   source.toString(),
                                "--time",   std::to_string(seconds),
                                "--omit",   "1",
                                "--connect-timeout", "5000"};
  if (!loadCongestionControl().empty()) {
    argv.insert(argv.end(), {"--congestion", loadCongestionControl()});
  }
  argv.push_back("--json");
  if (download) {
    argv.push_back("--reverse");
  }
  return argv;
}

Result<double> receiverMbps(const std::string& iperfJson) {
  const nlohmann::json report = nlohmann::json::parse(iperfJson, nullptr, false);
  if (report.is_discarded() || !report.is_object()) {
    return makeError(EPROTO, "not an iperf3 --json report");
  }
  if (report.contains("error")) {
    return makeError(EPROTO, "iperf3 failed", report["error"].get<std::string>());
  }
  const auto& received = report["end"]["sum_received"];
  if (!received.is_object() || !received.contains("bits_per_second")) {
    return makeError(EPROTO, "iperf3 report without end.sum_received");
  }
  return received["bits_per_second"].get<double>() / 1e6;
}

Result<std::vector<CircuitMeasurement>> measure(const LabState& state,
                                                const TrafficOptions& options) {
  auto targets = resolveTargets(state, options);
  if (!targets) {
    return std::unexpected(targets.error());
  }
  auto down = runPhase(*targets, true, options.seconds);
  if (!down) {
    return std::unexpected(down.error());
  }
  auto up = runPhase(*targets, false, options.seconds);
  if (!up) {
    return std::unexpected(up.error());
  }
  std::vector<CircuitMeasurement> rows;
  for (size_t i = 0; i < targets->size(); ++i) {
    const TrafficTarget& t = (*targets)[i];
    CircuitMeasurement row{t.circuit, t.source.toString(), t.plannedDownMbps, t.plannedUpMbps,
                           (*down)[i], (*up)[i], false};
    const double payload = payloadShare(t.source.isV4);
    row.withinTolerance =
        within(row.measuredDownMbps, row.plannedDownMbps * payload, options.tolerancePercent) &&
        within(row.measuredUpMbps, row.plannedUpMbps * payload, options.tolerancePercent);
    rows.push_back(row);
  }
  return rows;
}

std::string renderTable(const std::vector<CircuitMeasurement>& rows, double tolerancePercent) {
  size_t width = 7;
  for (const CircuitMeasurement& row : rows) {
    width = std::max(width, row.circuit.size());
  }
  std::string out = fmt::format("{:<{}}  {:>9}  {:>9}  {:>9}  {:>9}  {}\n", "circuit", width,
                                "ceil down", "ceil up", "down", "up",
                                fmt::format("within ±{:g} %", tolerancePercent));
  for (const CircuitMeasurement& row : rows) {
    out += fmt::format("{:<{}}  {:>9.2f}  {:>9.2f}  {:>9.2f}  {:>9.2f}  {}\n", row.circuit, width,
                       row.plannedDownMbps, row.plannedUpMbps, row.measuredDownMbps,
                       row.measuredUpMbps, row.withinTolerance ? "yes" : "NO");
  }
  out += "(Mbit/s. Measured: TCP payload at the receiver. Ceil: the plan's HTB ceil, which counts\n"
         " Ethernet/IP/TCP headers too, so the target is ceil x 0.956 (IPv4) or x 0.943 (IPv6).)\n";
  return out;
}

nlohmann::json toJson(const std::vector<CircuitMeasurement>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const CircuitMeasurement& row : rows) {
    out.push_back({{"circuit", row.circuit},
                   {"source", row.source},
                   {"planned_down_mbps", row.plannedDownMbps},
                   {"planned_up_mbps", row.plannedUpMbps},
                   {"measured_down_mbps", row.measuredDownMbps},
                   {"measured_up_mbps", row.measuredUpMbps},
                   {"within_tolerance", row.withinTolerance}});
  }
  return out;
}

}  // namespace sluice::lab
