// sluice lab ha up|drill|status|down: the HA lab (src/lab/HaLab.h) and its failover drill
// (src/lab/HaDrill.h). Its own --state-dir (default /run/sluice-lab-ha): the HA lab and the
// single-shaper lab can be up at the same time.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "api/ControlClient.h"
#include "cli/Commands.h"
#include "lab/HaDrill.h"
#include "lab/HaLab.h"

namespace sluice::cli {

namespace {

struct HaLabOptions {
  std::string stateDir = lab::kHaStateDir;
  lab::HaUpOptions up;
  int readyTimeoutSeconds = 90;
  lab::DrillOptions drill;
  bool json = false;
  std::string record;
};

Result<nlohmann::json> status(const std::string& socketPath) {
  auto response = api::request(socketPath, "GET", "/api/status", nullptr, std::chrono::seconds(5));
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status != 200) {
    return makeError(0,
                     fmt::format("GET /api/status on {}: HTTP {}", socketPath, response->status));
  }
  return response->body;
}

void runUp(HaLabOptions& o) {
  o.up.stateDir = o.stateDir;
  o.up.readyTimeout = std::chrono::seconds(o.readyTimeoutSeconds);
  auto lab = lab::haLabUp(o.up, status, stdout);
  if (!lab) {
    fmt::print(stderr, "sluice lab ha up: {}\n", lab.error().message());
    setExitCode(1);
    return;
  }
  fmt::print("HA lab up in {}: sluice health --socket {}/a/sluiced.sock; sluice lab ha drill\n",
             lab->stateDir, lab->stateDir);
}

void runDrill(const HaLabOptions& o) {
  auto rows = lab::runHaDrill(o.stateDir, o.drill, status, o.json ? stderr : stdout);
  if (!rows) {
    fmt::print(stderr, "sluice lab ha drill: {}\n", rows.error().message());
    setExitCode(1);
    return;
  }
  const nlohmann::json out = lab::drillJson(*rows);
  if (!o.record.empty()) {
    std::ofstream(o.record, std::ios::trunc) << out.dump(2) << "\n";
  }
  if (o.json) {
    fmt::print("{}\n", out.dump(1));
  } else {
    fmt::print("\n{}", lab::renderDrillTable(*rows));
  }
  bool ok = true;
  for (const lab::ScenarioResult& r : *rows) {
    ok = ok && r.converged && r.shaped && r.path == r.expectedPath;
  }
  setExitCode(ok ? 0 : 1);
}

void runStatus(const HaLabOptions& o) {
  auto lab = lab::loadHaLabState(o.stateDir);
  if (!lab) {
    fmt::print(stderr, "sluice lab ha status: {}\n", lab.error().message());
    setExitCode(1);
    return;
  }
  nlohmann::json out = lab->toJson();
  out["carrying_path"] = lab::carryingPath("192.0.2.14");
  fmt::print("{}\n", out.dump(1));
}

void runDown(const HaLabOptions& o) {
  const std::vector<std::string> problems = lab::haLabDown(o.stateDir);
  for (const std::string& p : problems) {
    fmt::print(stderr, "sluice lab ha down: {}\n", p);
  }
  setExitCode(problems.empty() ? 0 : 1);
}

}  // namespace

void addLabHaCommand(CLI::App& labApp, const std::string& /*stateDir: the HA lab has its own*/) {
  auto o = std::make_shared<HaLabOptions>();
  CLI::App* ha = labApp.add_subcommand(
      "ha", "An active/backup shaper pair behind OSPF routers (FRR), and its failover drill");
  ha->require_subcommand(1);
  ha->add_option("--state-dir", o->stateDir, "The HA lab's state directory")->capture_default_str();
  CLI::App* up = ha->add_subcommand("up", "Build the HA lab and start both sluiced");
  up->add_option("--config", o->up.config, "Template lqos.conf (default: the small e2e inputs)");
  up->add_option("--network", o->up.network, "network.json (default: the template's)");
  up->add_option("--devices", o->up.devices, "ShapedDevices.csv (default: the template's)");
  up->add_option("--sluiced", o->up.sluiced, "The sluiced binary");
  up->add_option("--hold-down", o->up.holdDownSeconds, "[ha] hold_down_seconds of both shapers")
      ->capture_default_str();
  up->add_option("--timeout", o->readyTimeoutSeconds, "Seconds to wait for each sluiced")
      ->capture_default_str();
  up->callback([o] { runUp(*o); });
  CLI::App* drill = ha->add_subcommand("drill", "Run the failover scenarios and measure each");
  drill->add_option("--probe-circuit", o->drill.probeCircuit, "Circuit the UDP probe crosses");
  drill->add_option("--iperf-circuit", o->drill.iperfCircuit, "Circuit iperf3 measures");
  drill->add_option("--tolerance", o->drill.tolerancePercent, "Shaped: within this % of the ceil")
      ->capture_default_str();
  drill->add_option("--record", o->record, "Also write the JSON result to this file");
  drill->add_flag("--json", o->json, "JSON output (progress on stderr)");
  drill->callback([o] { runDrill(*o); });
  ha->add_subcommand("status", "The HA lab's state and which path carries traffic")->callback([o] {
    runStatus(*o);
  });
  ha->add_subcommand("down", "Stop everything and remove the HA lab")->callback([o] {
    runDown(*o);
  });
}

}  // namespace sluice::cli
