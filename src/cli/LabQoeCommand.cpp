// sluice lab qoe CIRCUIT: latency under load through the lab's shaper, CAKE vs pfifo
// (src/lab/Qoe.h).

#include <memory>

#include <fmt/format.h>

#include "cli/Commands.h"
#include "lab/Lab.h"
#include "lab/Qoe.h"

namespace sluice::cli {

namespace {

struct QoeCommandOptions {
  lab::QoeOptions qoe;
  bool json = false;
  bool noFifo = false;
};

void runQoe(const std::string& stateDir, QoeCommandOptions& options) {
  auto state = lab::loadLabState(stateDir);
  if (!state) {
    fmt::print(stderr, "sluice lab qoe: {}\n", state.error().message());
    setExitCode(1);
    return;
  }
  if (!state->leafFallback.empty()) {
    fmt::print(stderr,
               "sluice lab qoe: note: this lab's leaves are the fallback {} (the kernel has no "
               "CAKE); the comparison with pfifo shows nothing. Run it in the guest kernel "
               "(tools/guest-lab.sh, docs/qoe.md).\n",
               state->leafFallback);
  }
  options.qoe.compareFifo = !options.noFifo;
  // Progress to stderr, so that --json output stays clean on stdout.
  auto report = lab::measureQoe(*state, options.qoe, stderr);
  if (!report) {
    fmt::print(stderr, "sluice lab qoe: {}\n", report.error().message());
    setExitCode(1);
    return;
  }
  if (options.json) {
    fmt::print("{}\n", lab::toJson(*report).dump(2));
  } else {
    fmt::print("{}", lab::renderQoe(*report));
  }
  setExitCode(0);
}

}  // namespace

void addLabQoeCommand(CLI::App& lab, const std::string& stateDir) {
  auto options = std::make_shared<QoeCommandOptions>();
  CLI::App* qoe = lab.add_subcommand(
      "qoe", "Latency under load through one circuit: its leaf (CAKE) vs pfifo");
  qoe->add_option("circuit", options->qoe.circuit, "Circuit ID")->required();
  qoe->add_option("--seconds", options->qoe.seconds, "Ping seconds per phase")
      ->check(CLI::Range(2, 600))
      ->capture_default_str();
  qoe->add_option("--flows", options->qoe.flows, "TCP flows per direction under load")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  qoe->add_option("--interval-ms", options->qoe.pingIntervalMs, "Ping interval (ms)")
      ->check(CLI::Range(10, 1000))
      ->capture_default_str();
  qoe->add_flag("--no-fifo", options->noFifo, "Measure only the live leaf (no pfifo comparison)");
  qoe->add_flag("--json", options->json, "JSON output");
  qoe->callback([options, &stateDir] { runQoe(stateDir, *options); });
}

}  // namespace sluice::cli
