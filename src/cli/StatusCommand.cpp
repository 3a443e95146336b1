// sluice status / sluice reload: ask the running sluiced over its control socket.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"
#include "api/SocketPath.h"
#include "cli/Commands.h"

namespace sluice::cli {

namespace {

using nlohmann::json;

// A full rebuild of 100k circuits takes a while; the bound only catches a hung daemon.
constexpr auto kReloadTimeout = std::chrono::minutes(10);

struct RemoteOptions {
  std::string socket{api::kDefaultSocketPath};
  bool json = false;
};

// The status object is read tolerantly: a starting daemon leaves parts out, and an older or
// newer one may differ; a missing field prints as "?" rather than failing the command.
const json* field(const json& object, std::string_view key) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string text(const json& object, std::string_view key, std::string fallback = "?") {
  const json* value = field(object, key);
  if (value == nullptr) {
    return fallback;
  }
  return value->is_string() ? value->get<std::string>()
                            : value->dump(-1, ' ', false, json::error_handler_t::replace);
}

bool flag(const json& object, std::string_view key) {
  const json* value = field(object, key);
  return value != nullptr && value->is_boolean() && value->get<bool>();
}

void printLines(const json& object, std::string_view key, std::string_view indent) {
  const json* lines = field(object, key);
  if (lines == nullptr || !lines->is_array()) {
    return;
  }
  for (const json& line : *lines) {
    fmt::print("{}{}\n", indent,
               line.is_string() ? line.get<std::string>()
                                : line.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

void printInterfaces(const json& status) {
  const json* list = field(status, "interfaces");
  if (list == nullptr || !list->is_array() || list->empty()) {
    fmt::print("interfaces: none\n");
    return;
  }
  fmt::print("interfaces:\n");
  for (const json& i : *list) {
    fmt::print("  {} ({}): {} tx queues, XDP {}\n", text(i, "name"), text(i, "role"),
               text(i, "tx_queues"), text(i, "xdp_mode"));
  }
}

void printLeaf(const json& status) {
  const json* leaf = field(status, "leaf");
  if (leaf == nullptr) {
    fmt::print("leaf: ?\n");
    return;
  }
  if (!flag(*leaf, "fallback")) {
    fmt::print("leaf: {}\n", text(*leaf, "active"));
    return;
  }
  fmt::print("leaf: {} (configured {})\n", text(*leaf, "active"), text(*leaf, "configured"));
  fmt::print("!!! LEAF FALLBACK ACTIVE: {} IS NOT AVAILABLE, LEAVES RUN {}: {} !!!\n",
             text(*leaf, "configured"), text(*leaf, "active"), text(*leaf, "reason", "no reason"));
}

void printDataplane(const json& status) {
  const json* dp = field(status, "dataplane");
  if (dp == nullptr) {
    return;
  }
  fmt::print("classification: {}: {}\n", text(*dp, "classification"), text(*dp, "reason"));
}

void printLastReload(const json& status) {
  const json* last = field(status, "last_reload");
  if (last == nullptr) {
    fmt::print("last reload: none yet\n");
    return;
  }
  fmt::print("last reload: {} ({}) at {}, {} ms", text(*last, "outcome"), text(*last, "trigger"),
             text(*last, "time"), text(*last, "duration_ms"));
  const std::string message = text(*last, "message", "");
  fmt::print("{}\n", message.empty() ? "" : ": " + message);
}

void printRefused(const json& status) {
  const json* refused = field(status, "refused");
  if (refused == nullptr) {
    fmt::print("refused inputs: none\n");
    return;
  }
  fmt::print("REFUSED INPUTS at {} (the shaper keeps running on the last good inputs):\n",
             text(*refused, "time"));
  printLines(*refused, "errors", "  ");
}

// "incremental at 2026-..., 3 tc ops, 1 map upserts, 0 removals, 24.1 ms (reason)"
std::string applyLine(const json& a) {
  std::string line = fmt::format("#{} {} at {}, {} tc ops, {} map upserts, {} removals, {} ms",
                                 text(a, "sequence"), text(a, "mode"), text(a, "time"),
                                 text(a, "tc_ops"), text(a, "map_upserts"),
                                 text(a, "map_removals"), text(a, "duration_ms"));
  const std::string reason = text(a, "reason", "");
  return reason.empty() ? line : line + " (" + reason + ")";
}

void printBakery(const json& status) {
  const json* b = field(status, "bakery");
  if (b == nullptr) {
    return;
  }
  fmt::print("bakery: {} mode, {} applies{}\n", text(*b, "queue_mode"), text(*b, "applies"),
             flag(*b, "reconciled_at_start") ? ", reconciled with the kernel at start" : "");
  const json* last = field(*b, "last_apply");
  fmt::print("  last apply: {}\n", last != nullptr ? applyLine(*last) : "none yet");
  if (const json* t = field(*b, "last_transition"); t != nullptr) {
    fmt::print("  last transition: {}\n", applyLine(*t));
  }
  if (flag(*b, "reload_required")) {
    fmt::print("  !!! RELOAD REQUIRED: {} !!!\n", text(*b, "reload_required_cause", "no cause"));
  }
  const json* drift = field(*b, "drift");
  if (drift == nullptr) {
    fmt::print("  drift: not checked yet\n");
  } else if (!text(*drift, "error", "").empty()) {
    fmt::print("  drift: check failed at {}: {}\n", text(*drift, "time"), text(*drift, "error"));
  } else if (flag(*drift, "in_sync")) {
    fmt::print("  drift: in sync with the kernel (checked {})\n", text(*drift, "time"));
  } else {
    fmt::print("  DRIFT: the kernel differs from the active state in {} places (checked {}; "
               "first: {})\n",
               text(*drift, "differences"), text(*drift, "time"), text(*drift, "first"));
  }
}

// Lazy queues (present when the daemon reports them).
void printLazy(const json& status) {
  const json* l = field(status, "lazy");
  if (l == nullptr) {
    return;
  }
  const std::string mode = text(*l, "mode");
  if (mode == "No" || mode == "no") {
    fmt::print("lazy queues: off\n");
    return;
  }
  fmt::print("lazy queues: {}, {} of {} circuits active, {} activations, {} expirations, "
             "last tick {} ms\n",
             mode, text(*l, "active_circuits"), text(*l, "total_circuits"),
             text(*l, "activations"), text(*l, "expirations"), text(*l, "last_tick_ms"));
  if (const std::string error = text(*l, "error", ""); !error.empty()) {
    fmt::print("  lazy error: {}\n", error);
  }
}

// "radius: 12 circuits from 14 sessions (2 pending), 3 rejected; 0.0.0.0 accounting 1813, CoA
// 3799; last apply applied in 4.2 ms", or why RADIUS did not start.
void printRadius(const json& s) {
  const json* r = field(s, "radius");
  if (r == nullptr) {
    return;
  }
  if (!flag(*r, "enabled")) {
    fmt::print("radius: NOT RUNNING: {}\n", text(*r, "error", ""));
    return;
  }
  const json* last = field(*r, "last_apply");
  std::string apply;
  if (last != nullptr && !text(*last, "outcome", "").empty()) {
    apply = fmt::format("; last apply {} in {:.1f} ms", text(*last, "outcome"),
                        last->value("ms", 0.0));
    if (!text(*last, "error", "").empty()) {
      apply += ": " + text(*last, "error");
    }
  }
  fmt::print("radius: {} circuits from {} sessions ({} pending), {} rejected; {}{}\n",
             text(*r, "circuits"), text(*r, "sessions"), text(*r, "pending"),
             text(*r, "rejected"), text(*r, "listen"), apply);
}

void printStatus(const json& s) {
  fmt::print("sluiced: {} (pid {}, version {})\n", text(s, "state"), text(s, "pid"),
             text(s, "version"));
  fmt::print("config: {}\n", text(s, "config"));
  if (const json* inputs = field(s, "input_mode")) {
    const std::string integration = text(*inputs, "integration", "");
    fmt::print("inputs: {}{}\n", text(*inputs, "mode"),
               integration.empty() ? "" : " (" + integration + ", `sluice integration status`)");
  }
  printRadius(s);
  fmt::print("mode: {}, queue mode: {}\n", text(s, "mode"), text(s, "queue_mode"));
  printInterfaces(s);
  const std::string holder = text(s, "queue_holder", "none");
  fmt::print("queues: {}{}\n", text(s, "queues"),
             holder == "none" ? "" : ", each below a " + holder + " holder qdisc (queue_holder)");
  fmt::print("shaped: {} circuits ({} devices, {} addresses) under {} nodes\n",
             text(s, "circuits"), text(s, "devices"), text(s, "addresses"), text(s, "nodes"));
  printLeaf(s);
  printDataplane(s);
  printLines(s, "notices", "NOTICE: ");
  if (flag(s, "adopted")) {
    fmt::print("adopted: this start took over the tree a previous sluiced left behind\n");
  }
  printBakery(s);
  printLazy(s);
  printLastReload(s);
  printRefused(s);
}

// The "error" member of an error answer, or the whole body.
std::string errorText(const api::Response& r) {
  const json* error = field(r.body, "error");
  return error != nullptr ? text(r.body, "error")
                          : r.body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void runStatus(const RemoteOptions& options) {
  const Result<api::Response> r = api::request(options.socket, "GET", "/api/status");
  if (!r) {
    fmt::print(stderr, "sluice status: {}\n", r.error().message());
    setExitCode(1);
    return;
  }
  if (r->status != 200 || !r->body.is_object()) {
    fmt::print(stderr, "sluice status: sluiced answered HTTP {}: {}\n", r->status, errorText(*r));
    setExitCode(1);
    return;
  }
  if (options.json) {
    fmt::print("{}\n", r->body.dump(1, ' ', false, json::error_handler_t::replace));
  } else {
    printStatus(r->body);
  }
  setExitCode(0);
}

void runReload(const RemoteOptions& options) {
  const Result<api::Response> r =
      api::request(options.socket, "POST", "/api/reload", nullptr, kReloadTimeout);
  if (!r) {
    fmt::print(stderr, "sluice reload: {}\n", r.error().message());
    setExitCode(1);
    return;
  }
  const std::string outcome = text(r->body, "outcome", "");
  if (outcome.empty()) {
    fmt::print(stderr, "sluice reload: sluiced answered HTTP {}: {}\n", r->status, errorText(*r));
    setExitCode(1);
    return;
  }
  fmt::print("reload: {}", outcome);
  if (field(r->body, "duration_ms") != nullptr) {
    fmt::print(" in {} ms", text(r->body, "duration_ms"));
  }
  const std::string message = text(r->body, "message", "");
  fmt::print("{}\n", message.empty() ? "" : ": " + message);
  printLines(r->body, "errors", "  ");
  const bool ok = r->status == 200 && (outcome == "applied" || outcome == "unchanged");
  setExitCode(ok ? 0 : 1);
}

void addSocketOption(CLI::App* cmd, RemoteOptions& options) {
  cmd->add_option("--socket", options.socket, "Control socket of sluiced")
      ->capture_default_str();
}

}  // namespace

void addStatusCommand(CLI::App& app) {
  auto options = std::make_shared<RemoteOptions>();
  CLI::App* cmd = app.add_subcommand("status", "Show the state of the running sluiced");
  addSocketOption(cmd, *options);
  cmd->add_flag("--json", options->json, "Print the status object as JSON");
  cmd->callback([options] { runStatus(*options); });
}

void addReloadCommand(CLI::App& app) {
  auto options = std::make_shared<RemoteOptions>();
  CLI::App* cmd = app.add_subcommand(
      "reload", "Make sluiced reload its config and inputs, and print the outcome");
  addSocketOption(cmd, *options);
  cmd->callback([options] { runReload(*options); });
}

}  // namespace sluice::cli
