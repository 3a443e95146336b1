// sluice stormguard status [--json] [--events N]: StormGuard in the running sluiced
// (daemon/StormGuardService.h, docs/stormguard.md) over the control socket (GET /api/stormguard):
// mode, the active probe (delay_probe_active), every watched node's planned, current and minimum rate per direction, its RTT baseline,
// the last decision and why, and the latest events.

#include <chrono>
#include <memory>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"
#include "api/SocketPath.h"
#include "cli/Commands.h"

namespace sluice::cli {
namespace {

using nlohmann::json;

struct Options {
  std::string socket{api::kDefaultSocketPath};
  bool json = false;
  size_t events = 10;
};

std::string ms(const json& v) {
  return v.is_number() ? fmt::format("{:.1f} ms", v.get<double>()) : "-";
}

std::string clock(double unixSeconds) {
  const auto t = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(static_cast<int64_t>(unixSeconds * 1000)));
  return fmt::format("{:%F %T}", std::chrono::floor<std::chrono::seconds>(t));
}

void printStatus(const json& b, const Options& o) {
  fmt::print("StormGuard: {} (strategy {}), {} watched nodes, {} rate changes\n",
             b.value("phase", "?"), b.value("strategy", "?"), b["nodes"].size(),
             b.value("changes", 0));
  if (b.value("error", json()).is_string()) {
    fmt::print("ERROR: {}\n", b["error"].get<std::string>());
  }
  if (const json probe = b.value("active_probe", json()); probe.is_object()) {
    fmt::print("active probe: {} every {} s ({} socket), {} sent, {} answered, {} timed out, "
               "last {}{}\n",
               probe.value("target", "?"), probe.value("interval_s", 0.0),
               probe["socket"].is_string() ? probe["socket"].get<std::string>() : "no",
               probe.value("sent", 0), probe.value("answered", 0), probe.value("timeouts", 0),
               ms(probe.value("last_rtt_ms", json())),
               probe.value("error", "").empty() ? "" : "; ERROR: " + probe.value("error", ""));
  }
  for (const json& m : b.value("missing", json::array())) {
    fmt::print("not watched: {}\n", m.get<std::string>());
  }
  if (!b["nodes"].empty()) {
    fmt::print("\n{:<20} {:<4} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}  {}\n", "node", "dir",
               "planned", "current", "minimum", "traffic", "rtt", "baseline", "last decision");
  }
  for (const json& n : b["nodes"]) {
    for (const char* dir : {"download", "upload"}) {
      const json& d = n[dir];
      const json& last = d["last"];
      const bool held = d.value("current_mbps", 0.0) != d.value("planned_mbps", 0.0);
      fmt::print("{:<20} {:<4} {:>9.2f} {:>8.2f}{} {:>9.2f} {:>10.2f} {:>10} {:>10}  {}: {}\n",
                 n.value("name", "?"), dir[0] == 'd' ? "down" : "up", d.value("planned_mbps", 0.0),
                 d.value("current_mbps", 0.0), held ? "*" : " ", d.value("minimum_mbps", 0.0),
                 d.value("throughput_mbps", 0.0), ms(n.value("rtt_ms", json())),
                 ms(d.value("baseline_rtt_ms", json())), last.value("action", "none"),
                 last.value("why", ""));
    }
  }
  const json events = b.value("events", json::array());
  if (!events.empty()) {
    fmt::print("\nlatest events (newest last):\n");
  }
  const size_t skip = events.size() > o.events ? events.size() - o.events : 0;
  for (size_t i = skip; i < events.size(); ++i) {
    const json& e = events[i];
    fmt::print("  {} {}: {}\n", clock(e.value("at", 0.0)), e.value("node", "?"),
               e.value("what", ""));
  }
}

void runStatus(const Options& o) {
  printStatusRoute(o.socket, "/api/stormguard", "sluice stormguard status", o.json,
                   [&](const json& body) { printStatus(body, o); });
}

}  // namespace

void addStormGuardCommand(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "stormguard", "StormGuard: site rates that follow a variable backhaul's capacity");
  cmd->require_subcommand(1);
  CLI::App* status = cmd->add_subcommand(
      "status", "Watched nodes: planned, current and minimum rates, RTT baseline, decisions");
  status->add_option("--socket", options->socket, "Control socket of sluiced")
      ->capture_default_str();
  status->add_flag("--json", options->json, "Print GET /api/stormguard as JSON");
  status->add_option("--events", options->events, "Events to print")->capture_default_str();
  status->callback([options] { runStatus(*options); });
}

}  // namespace sluice::cli
