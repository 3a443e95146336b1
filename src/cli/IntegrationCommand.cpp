// sluice integration run [--dry-run] [--json] | status [--json] | approve [--json]: the sync of
// the CRM/NMS integration or custom pipeline in the running sluiced (integrations/Sync.h), over
// the control socket (POST /api/integration/run, GET /api/integration, POST
// /api/integration/approve).

#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"
#include "api/SocketPath.h"
#include "cli/Commands.h"

namespace sluice::cli {
namespace {

using nlohmann::json;

// A sync fetches from a vendor and may rebuild part of the tree; the bound catches a hung daemon.
constexpr auto kSyncTimeout = std::chrono::minutes(15);

struct Options {
  std::string socket{api::kDefaultSocketPath};
  bool json = false;
  bool dryRun = false;
};

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return "";
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void printList(const json& changes, const char* key, const char* label) {
  const json& part = changes.value(key, json::object());
  const size_t count = part.value("count", size_t{0});
  if (count == 0) {
    return;
  }
  fmt::print("  {} ({}):\n", label, count);
  for (const json& item : part.value("items", json::array())) {
    if (item.is_string()) {
      fmt::print("    {}\n", item.get<std::string>());
    } else if (item.contains("from")) {
      fmt::print("    {}: {} -> {}\n", str(item, "circuit_id"), str(item, "from"),
                 str(item, "to"));
    } else {
      const auto pair = [&](const char* k) {
        const json& v = item.value(k, json::array());
        return v.size() == 2 ? fmt::format("{} -> {}", v[0].dump(), v[1].dump()) : "?";
      };
      fmt::print("    {}: down max {}, up max {}, down min {}, up min {} Mbps\n",
                 str(item, "circuit_id"), pair("download_max_mbps"), pair("upload_max_mbps"),
                 pair("download_min_mbps"), pair("upload_min_mbps"));
    }
  }
  if (part.value("items", json::array()).size() < count) {
    fmt::print("    ... ({} more)\n", count - part["items"].size());
  }
}

void printOutcome(const json& o) {
  fmt::print("sync: {} ({}) in {} ms: {}\n", str(o, "outcome"), str(o, "source"),
             str(o, "duration_ms"), str(o, "message"));
  const json& changes = o.value("changes", json::object());
  printList(changes, "circuits_added", "circuits added");
  printList(changes, "circuits_removed", "circuits removed");
  printList(changes, "circuits_reparented", "circuits re-parented");
  printList(changes, "speed_changes", "speed changes");
  printList(changes, "circuits_otherwise_changed", "circuits otherwise changed");
  printList(changes, "nodes_added", "nodes added");
  printList(changes, "nodes_removed", "nodes removed");
  printList(changes, "nodes_changed", "nodes changed");
  for (const json& w : o.value("warnings", json::array())) {
    fmt::print("  warning: {}\n", w.is_string() ? w.get<std::string>() : w.dump());
  }
}

// Sends the request; prints the answer; exit 0 only for `okOutcomes` (or any 200 for status).
void call(const Options& options, const char* method, const std::string& target,
          const char* what) {
  auto r = api::request(options.socket, method, target, nullptr, kSyncTimeout);
  if (!r) {
    fmt::print(stderr, "sluice integration {}: {}\n", what, r.error().message());
    setExitCode(1);
    return;
  }
  if (options.json) {
    fmt::print("{}\n", r->body.dump(1, ' ', false, json::error_handler_t::replace));
  } else if (std::string(what) == "status") {
    fmt::print("operating mode: {}{}\n", str(r->body, "mode"),
               str(r->body, "integration").empty() ? ""
                                                   : " (" + str(r->body, "integration") + ")");
    if (!str(r->body, "error").empty()) {
      fmt::print("error: {}\n", str(r->body, "error"));
    }
    fmt::print("interval: {} s, mass-change threshold: {} %, runs: {}\n",
               str(r->body, "interval_s"), str(r->body, "mass_change_threshold_percent"),
               str(r->body, "runs"));
    if (r->body.contains("last") && r->body["last"].is_object()) {
      fmt::print("last ");
      printOutcome(r->body["last"]);
    } else {
      fmt::print("last sync: none yet\n");
    }
    if (r->body.contains("pending") && r->body["pending"].is_object()) {
      fmt::print("PENDING APPROVAL (sluice integration approve): ");
      printOutcome(r->body["pending"]);
    }
  } else if (r->body.contains("outcome")) {
    printOutcome(r->body);
  } else {
    fmt::print(stderr, "sluice integration {}: sluiced answered HTTP {}: {}\n", what, r->status,
               r->body.dump());
  }
  const std::string outcome = str(r->body, "outcome");
  const bool ok = r->status == 200 && outcome != "failed" && outcome != "held";
  setExitCode(ok ? 0 : 1);
}

}  // namespace

void addIntegrationCommand(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "integration", "The CRM/NMS integration or custom pipeline of the running sluiced");
  cmd->require_subcommand(1);
  auto socket = [&](CLI::App* sub) {
    sub->add_option("--socket", options->socket, "Control socket of sluiced")
        ->capture_default_str();
    sub->add_flag("--json", options->json, "Print the answer as JSON");
  };
  CLI::App* run = cmd->add_subcommand(
      "run", "Sync now and print what changed (circuits added, removed, re-parented, speeds)");
  socket(run);
  run->add_flag("--dry-run", options->dryRun, "Fetch, validate and compare; apply nothing");
  run->callback([options] {
    call(*options, "POST",
         std::string("/api/integration/run") + (options->dryRun ? "?dry_run=1" : ""), "run");
  });
  CLI::App* status = cmd->add_subcommand("status", "Operating mode, last sync, pending approval");
  socket(status);
  status->callback([options] { call(*options, "GET", "/api/integration", "status"); });
  CLI::App* approve = cmd->add_subcommand(
      "approve", "Apply the sync that the mass-change guard held");
  socket(approve);
  approve->callback(
      [options] { call(*options, "POST", "/api/integration/approve", "approve"); });
}

}  // namespace sluice::cli
