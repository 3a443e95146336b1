// sluice lab up|down|status|traffic: the namespace lab (src/lab/Lab.h) from the command line.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "api/ControlClient.h"
#include "cli/Commands.h"
#include "lab/Lab.h"
#include "lab/Traffic.h"
#include "lab/UiForward.h"

namespace sluice::cli {

namespace {

struct LabOptions {
  std::string stateDir = lab::kDefaultStateDir;
  lab::UpOptions up;
  bool noSluiced = false;
  int readyTimeoutSeconds = 90;
  lab::TrafficOptions traffic;
  std::string family = "auto";
  bool json = false;
  bool hard = false;
};

Result<nlohmann::json> queryStatus(const std::string& socketPath) {
  auto response = api::request(socketPath, "GET", "/api/status", nullptr, std::chrono::seconds(5));
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status != 200) {
    return makeError(0, fmt::format("GET /api/status on {}: HTTP {}", socketPath,
                                    response->status),
                     response->body.dump());
  }
  return response->body;
}

void runUp(LabOptions& options) {
  options.up.stateDir = options.stateDir;
  options.up.startDaemon = !options.noSluiced;
  options.up.readyTimeout = std::chrono::seconds(options.readyTimeoutSeconds);
  auto state = lab::labUp(options.up, queryStatus, stdout);
  if (!state) {
    fmt::print(stderr, "sluice lab up: {}\n", state.error().message());
    if (!state.error().detail.empty() && state.error().detail.find('\n') != std::string::npos) {
      fmt::print(stderr, "{}\n", state.error().detail);
    }
    setExitCode(1);
    return;
  }
  fmt::print("lab up ({}): config {}, sluiced log {}/sluiced.log; `sluice lab down` removes it\n",
             state->mode == lab::LabMode::Bridge ? "bridge" : "on a stick", state->config,
             state->stateDir);
  if (auto ui = lab::loadUiAccess(state->stateDir); ui && !state->uiUrl.empty()) {
    fmt::print("web UI: {}  user {}  password {}  (also in {}/ui.json)\n", ui->url, ui->user,
               ui->password, state->stateDir);
  }
  setExitCode(0);
}

void runDown(const LabOptions& options) {
  const std::vector<std::string> problems = lab::labDown(options.stateDir);
  for (const std::string& problem : problems) {
    fmt::print(stderr, "sluice lab down: {}\n", problem);
  }
  if (problems.empty()) {
    fmt::print("lab down\n");
  }
  setExitCode(problems.empty() ? 0 : 1);
}

void runStatus(const LabOptions& options) {
  const nlohmann::json status = lab::labStatus(options.stateDir, queryStatus);
  if (options.json) {
    fmt::print("{}\n", status.dump(2));
  } else {
    fmt::print("lab: {}\n", status["up"].get<bool>() ? "up" : "down");
    for (const auto& [ns, links] : status["links"].items()) {
      std::string names;
      for (const auto& link : links) {
        names += fmt::format(" {}({},{}txq{})", link["name"].get<std::string>(),
                             link["state"].get<std::string>(), link["tx_queues"].get<int>(),
                             link["xdp"].get<bool>() ? ",xdp" : "");
      }
      fmt::print("  netns {}:{}\n", ns, names);
    }
    if (status.contains("sluiced")) {
      const auto& daemon = status["sluiced"];
      std::string state = daemon.contains("status")
                              ? daemon["status"].value("state", std::string("?"))
                              : daemon.value("error", std::string("no answer"));
      fmt::print("  sluiced: pid {} {} ({})\n", daemon["pid"].get<int>(),
                 daemon["alive"].get<bool>() ? "running" : "not running", state);
    }
  }
  setExitCode(status["up"].get<bool>() ? 0 : 1);
}

void runRestart(const LabOptions& options) {
  auto state = lab::restartSluiced(options.stateDir, options.hard, queryStatus,
                                   std::chrono::seconds(options.readyTimeoutSeconds), stdout);
  if (!state) {
    fmt::print(stderr, "sluice lab restart: {}\n{}\n", state.error().message(),
               state.error().detail);
    setExitCode(1);
    return;
  }
  setExitCode(0);
}

void runTraffic(LabOptions& options) {
  auto state = lab::loadLabState(options.stateDir);
  if (!state) {
    fmt::print(stderr, "sluice lab traffic: {}\n", state.error().message());
    setExitCode(1);
    return;
  }
  options.traffic.family = options.family == "4"   ? lab::AddressFamily::V4
                           : options.family == "6" ? lab::AddressFamily::V6
                                                   : lab::AddressFamily::Auto;
  auto rows = lab::measure(*state, options.traffic);
  if (!rows) {
    fmt::print(stderr, "sluice lab traffic: {}\n", rows.error().message());
    setExitCode(1);
    return;
  }
  if (options.json) {
    fmt::print("{}\n", lab::toJson(*rows).dump(2));
  } else {
    fmt::print("{}", lab::renderTable(*rows, options.traffic.tolerancePercent));
  }
  bool allWithin = true;
  for (const lab::CircuitMeasurement& row : *rows) {
    allWithin = allWithin && row.withinTolerance;
  }
  setExitCode(allWithin ? 0 : 1);
}

}  // namespace

void addLabCommand(CLI::App& app) {
  auto options = std::make_shared<LabOptions>();
  CLI::App* lab = app.add_subcommand("lab", "Namespace lab: sluiced shaping real traffic");
  lab->require_subcommand(1);
  lab->add_option("--state-dir", options->stateDir, "Lab state directory")
      ->capture_default_str();

  CLI::App* up = lab->add_subcommand("up", "Build the namespaces and start sluiced");
  up->add_flag("--stick", options->up.stick, "On a stick: one port, two VLANs");
  up->add_option("--config", options->up.config, "lqos.conf to start from (default: the demo's)");
  up->add_option("--network", options->up.network, "network.json (default: from the config)");
  up->add_option("--devices", options->up.devices,
                 "ShapedDevices.csv (default: from the config)");
  up->add_option("--sluiced", options->up.sluiced, "sluiced binary (default: found nearby)");
  up->add_flag("--no-sluiced", options->noSluiced,
               "Build the network, servers and config but do not start sluiced");
  up->add_option("--timeout", options->readyTimeoutSeconds, "Seconds to wait for ready")
      ->capture_default_str();
  up->add_option("--ui-listen", options->up.uiListen,
                 "Host address for the forwarded web UI and API (default: the first free port "
                 "of 127.0.0.1:9180..9199)");
  options->up.uiForward = true;
  up->add_flag("--no-ui", [options](int64_t) { options->up.uiForward = false; },
               "No UI forward and no lab admin");
  up->callback([options] { runUp(*options); });

  CLI::App* down = lab->add_subcommand("down", "Stop sluiced and remove the lab");
  down->callback([options] { runDown(*options); });

  CLI::App* restart = lab->add_subcommand("restart", "Stop sluiced and start it again");
  restart->add_flag("--kill", options->hard,
                    "SIGKILL instead of SIGTERM: the tree and programs stay, as after a crash, "
                    "and the new sluiced adopts them");
  restart->add_option("--timeout", options->readyTimeoutSeconds, "Seconds to wait for ready")
      ->capture_default_str();
  restart->callback([options] { runRestart(*options); });

  CLI::App* status = lab->add_subcommand("status", "Namespaces, links and sluiced's state");
  status->add_flag("--json", options->json, "JSON output");
  status->callback([options] { runStatus(*options); });

  CLI::App* traffic = lab->add_subcommand("traffic", "iperf3 through circuits vs. their ceilings");
  traffic->add_option("circuits", options->traffic.circuits, "Circuit IDs")->required();
  traffic->add_option("--seconds", options->traffic.seconds, "Seconds per direction")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  traffic->add_option("--tolerance", options->traffic.tolerancePercent,
                      "Allowed deviation from the ceil, percent")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  traffic->add_option("--family", options->family, "Address family: auto, 4 or 6")
      ->check(CLI::IsMember({"auto", "4", "6"}))
      ->capture_default_str();
  traffic->add_flag("--json", options->json, "JSON output");
  traffic->callback([options] { runTraffic(*options); });

  addLabQoeCommand(*lab, options->stateDir);
  addLabProbeCommand(*lab, options->stateDir);
  addLabHaCommand(*lab, options->stateDir);
}

}  // namespace sluice::cli
