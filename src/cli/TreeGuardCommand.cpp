// sluice treeguard status [--json] [--all]: TreeGuard in the running sluiced
// (daemon/TreeGuardService.h, docs/treeguard.md) over the control socket (GET /api/treeguard):
// settings, the busiest core, what it holds changed, the last tick and the latest activity.

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
  bool all = false;  ///< every enrolled circuit, not only those off their base
  size_t activity = 10;
};

std::string pct(const json& v) {
  return v.is_number() ? fmt::format("{:.1f} %", v.get<double>()) : "-";
}

std::string direction(const json& d) {
  const std::string base = d.value("base", "?");
  const std::string current = d.value("current", "?");
  return fmt::format("{:<8} util {:>8} idle {:>6.0f} s{}",
                     current == base ? current : current + "*", pct(d.value("util_pct", json())),
                     d.value("idle_s", 0.0),
                     d.value("changes_last_hour", 0) > 0
                         ? fmt::format(" ({} changes/h)", d.value("changes_last_hour", 0))
                         : "");
}

void printStatus(const json& b, const Options& o) {
  if (!b.value("running", false)) {
    fmt::print("TreeGuard: not running{}\n", b.value("settings_error", json()).is_string()
                                                 ? ": " + b["settings_error"].get<std::string>()
                                                 : " (sluiced is not shaping yet)");
    return;
  }
  fmt::print("TreeGuard: {}{}; circuits {}, links {}; tick {} s\n",
             b.value("enabled", false) ? "enabled" : "DISABLED",
             b.value("dry_run", false) ? " (DRY RUN: decisions are not applied)" : "",
             b.value("circuits_enabled", false) ? "on" : "off",
             b.value("links_enabled", false) ? "on" : "off", b.value("tick_seconds", 0));
  const json cpu = b.value("cpu", json::object());
  fmt::print("busiest core: {} (save at >= {} %, revert at <= {} %, mode {}, source {})\n",
             pct(cpu.value("max_pct", json())), cpu.value("high_pct", 0.0),
             cpu.value("low_pct", 0.0), cpu.value("mode", "?"), cpu.value("source", "?"));
  const json circuits = b.value("circuits", json::object());
  const json nodes = b.value("nodes", json::object());
  fmt::print("circuits: {} enrolled, {} directions on fq_codel; nodes: {} enrolled, {} virtual\n",
             circuits.value("enrolled", 0), circuits.value("fq_codel_directions", 0),
             nodes.value("enrolled", 0), nodes.value("virtual", 0));
  if (b.value("last_failure", json()).is_string()) {
    fmt::print("LAST APPLY FAILED: {}\n", b["last_failure"].get<std::string>());
  }
  const json a = b.value("last_apply", json());
  if (a.is_object()) {
    fmt::print("last apply: HTTP {} {} ({}, {} tc ops, {:.1f} ms)\n", a.value("status", 0),
               a.value("outcome", "?"), a.value("apply_mode", "?"), a.value("tc_ops", 0),
               a.value("duration_ms", 0.0));
  }
  bool header = false;
  for (const json& c : circuits.value("list", json::array())) {
    const json down = c.value("down", json::object());
    const json up = c.value("up", json::object());
    const bool off = down.value("current", "") != down.value("base", "") ||
                     up.value("current", "") != up.value("base", "");
    if (!off && !o.all) {
      continue;
    }
    if (!header) {
      fmt::print("\n{:<20} {:<46} {}\n", "circuit (* = changed)", "down", "up");
      header = true;
    }
    fmt::print("{:<20} {:<46} {}\n", c.value("id", "?"), direction(down), direction(up));
  }
  header = false;
  for (const json& n : nodes.value("list", json::array())) {
    if (!n.value("virtual", false) && !o.all) {
      continue;
    }
    if (!header) {
      fmt::print("\n{:<20} {:<8} {:>10} {:>10} {:>8}\n", "node", "state", "util down", "util up",
                 "idle");
      header = true;
    }
    fmt::print("{:<20} {:<8} {:>10} {:>10} {:>6.0f} s\n", n.value("name", "?"),
               n.value("virtual", false) ? "virtual" : (n.value("managed", false) ? "class" : "-"),
               pct(n.value("util_down_pct", json())), pct(n.value("util_up_pct", json())),
               n.value("idle_s", 0.0));
  }
  const json activity = b.value("activity", json::array());
  if (!activity.empty()) {
    fmt::print("\nlatest activity (newest first):\n");
  }
  size_t shown = 0;
  for (const json& a : activity) {
    if (shown++ >= o.activity) {
      break;
    }
    const auto t = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(a.value("time_ms", int64_t{0})));
    fmt::print("  {:%F %T} {} {} {}: {} [{}]\n", std::chrono::floor<std::chrono::seconds>(t),
               a.value("kind", "?"), a.value("id", "?"), a.value("change", "?"), a.value("why", ""),
               a.value("outcome", "?"));
  }
}

void runStatus(const Options& o) {
  printStatusRoute(o.socket, "/api/treeguard", "sluice treeguard status", o.json,
                   [&](const json& body) { printStatus(body, o); });
}

}  // namespace

void addTreeGuardCommand(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "treeguard", "TreeGuard: CPU-aware CAKE <-> fq_codel switching and node virtualisation");
  cmd->require_subcommand(1);
  CLI::App* status = cmd->add_subcommand(
      "status", "Settings, busiest core, circuits and nodes TreeGuard changed, latest activity");
  status->add_option("--socket", options->socket, "Control socket of sluiced")
      ->capture_default_str();
  status->add_flag("--json", options->json, "Print GET /api/treeguard as JSON");
  status->add_flag("--all", options->all, "List every enrolled circuit and node");
  status->add_option("--activity", options->activity, "Activity entries to print")
      ->capture_default_str();
  status->callback([options] { runStatus(*options); });
}

}  // namespace sluice::cli
