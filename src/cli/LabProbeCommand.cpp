// sluice lab probe CIRCUIT: a sequence-numbered UDP stream from the Internet side through one
// circuit (src/lab/Probe.h); exit 0 when nothing was lost, 1 otherwise or on error.

#include <memory>

#include <fmt/format.h>

#include "cli/Commands.h"
#include "lab/Lab.h"
#include "lab/Probe.h"

namespace sluice::cli {

namespace {

struct ProbeCliOptions {
  std::string circuit;
  uint32_t pps = 2000;
  double seconds = 10;
  bool json = false;
};

void runProbe(const ProbeCliOptions& options, const std::string& stateDir) {
  auto state = lab::loadLabState(stateDir);
  if (!state) {
    fmt::print(stderr, "sluice lab probe: {}\n", state.error().message());
    setExitCode(1);
    return;
  }
  auto probe = lab::startCircuitProbe(
      *state, options.circuit, options.pps,
      std::chrono::milliseconds(static_cast<int64_t>(options.seconds * 1000)));
  if (!probe) {
    fmt::print(stderr, "sluice lab probe: {}\n", probe.error().message());
    setExitCode(1);
    return;
  }
  (*probe)->waitSent();
  const lab::ProbeReport report = (*probe)->stop();
  if (options.json) {
    nlohmann::json j = report.toJson();
    j["circuit"] = options.circuit;
    j["target"] = (*probe)->options().target.toString();
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", lab::renderProbeReport(
                         report, fmt::format("probe {} -> circuit {} ({})", lab::kIspNs,
                                             options.circuit,
                                             (*probe)->options().target.toString())));
  }
  setExitCode(report.lost == 0 ? 0 : 1);
}

}  // namespace

void addLabProbeCommand(CLI::App& lab, const std::string& stateDir) {
  auto options = std::make_shared<ProbeCliOptions>();
  CLI::App* probe = lab.add_subcommand(
      "probe", "UDP stream with sequence numbers through one circuit (loss, reorder, latency)");
  probe->add_option("circuit", options->circuit, "Circuit ID (or Circuit Name)")->required();
  probe->add_option("--pps", options->pps, "Packets per second")
      ->check(CLI::Range(1u, 200000u))
      ->capture_default_str();
  probe->add_option("--seconds", options->seconds, "How long to send")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  probe->add_flag("--json", options->json, "JSON output");
  // stateDir is the lab's --state-dir, parsed before this callback runs.
  probe->callback([options, &stateDir] { runProbe(*options, stateDir); });
}

}  // namespace sluice::cli
