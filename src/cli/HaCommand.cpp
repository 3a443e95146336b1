// sluice health / sluice ha compare|check (docs/ha.md): readiness for scripts and monitoring, and
// the parity and checklist of an HA pair. A shaper is reached through its control socket (a path)
// or its operator API (an http(s):// URL; /api/ha needs an API key there).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"
#include "api/SocketPath.h"
#include "cli/Commands.h"
#include "ha/Parity.h"
#include "integrations/HttpClient.h"

namespace sluice::cli {

namespace {

using nlohmann::json;

struct HaOptions {
  std::string socket{api::kDefaultSocketPath};
  std::string peer;    ///< socket path or URL ("" = the local [ha] peer)
  std::string apiKey;  ///< for a URL (default: $SLUICE_API_KEY)
  std::string caFile;
  bool json = false;
  double maxDrillAgeDays = 90;
};

/// An answer: HTTP status and JSON body.
struct Answer {
  int status = 0;
  json body;
};

/// GET `path` from a shaper given as a socket path or an http(s) URL.
Result<Answer> get(const std::string& where, const std::string& path, const HaOptions& o) {
  if (!where.starts_with("http://") && !where.starts_with("https://")) {
    auto r = api::request(where, "GET", path, nullptr, std::chrono::seconds(30));
    if (!r) {
      return std::unexpected(r.error());
    }
    return Answer{r->status, r->body};
  }
  integrations::HttpOptions http;
  http.maxAttempts = 1;
  http.connectTimeoutMs = 5'000;
  http.totalTimeoutMs = 30'000;
  http.caFile = o.caFile;
  http.userAgent = "sluice-ha/1";
  integrations::HttpClient client(http);
  integrations::HttpClient::Request request;
  std::string base = where;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  request.url = base + path;
  const char* envKey = std::getenv("SLUICE_API_KEY");
  const std::string key = !o.apiKey.empty() ? o.apiKey : (envKey != nullptr ? envKey : "");
  if (!key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + key);
  }
  auto r = client.fetch(request);
  if (!r) {
    return std::unexpected(r.error());
  }
  json body = json::parse(r->body, nullptr, false);
  if (body.is_discarded()) {
    return makeError(EPROTO, request.url + " did not answer JSON");
  }
  return Answer{static_cast<int>(r->status), std::move(body)};
}

void runHealth(const HaOptions& o) {
  auto answer = get(o.socket, "/ready", o);
  if (!answer) {
    fmt::print(stderr, "sluice health: {}\n", answer.error().message());
    setExitCode(1);
    return;
  }
  const json& body = answer->body;
  const bool ready = answer->status == 200 && body.is_object() && body.value("ready", false);
  if (o.json) {
    fmt::print("{}\n", body.dump(1));
  } else if (!body.is_object() || !body.contains("checks")) {
    fmt::print("sluiced answered HTTP {}: {}\n", answer->status, body.dump());
  } else {
    fmt::print("{}: {}\n", ready ? "ready" : "NOT READY", body.value("reason", std::string("?")));
    for (const json& check : body["checks"]) {
      fmt::print("  {:<10} {:<4} {}\n", check.value("name", std::string("?")),
                 check.value("ok", false) ? "ok" : "FAIL", check.value("detail", std::string()));
    }
    if (body.contains("fail_engaged") && body["fail_engaged"].is_string()) {
      fmt::print("!!! {} !!!\n", body["fail_engaged"].get<std::string>());
    }
    if (body.contains("hook") && body["hook"].is_object()) {
      const json& hook = body["hook"];
      fmt::print("routing hook: {}, routes {}, {} drain(s), {} restore(s), {} failure(s)\n",
                 hook.value("configured", false) ? "configured" : "not configured",
                 hook.value("state", std::string("?")), hook.value("drains", 0),
                 hook.value("restores", 0), hook.value("failures", 0));
    }
  }
  setExitCode(ready ? 0 : 1);
}

/// Both shapers' HA identities; prints the failure and returns false when one is unreachable.
bool identities(const HaOptions& o, json& local, json& peer, const char* command) {
  auto mine = get(o.socket, "/api/ha", o);
  if (!mine || mine->status != 200) {
    fmt::print(
        stderr, "sluice ha {}: local sluiced: {}\n", command,
        mine ? fmt::format("HTTP {} {}", mine->status, mine->body.dump()) : mine.error().message());
    return false;
  }
  local = mine->body;
  std::string where = o.peer;
  if (where.empty()) {
    where = local.value("peer", std::string());
  }
  if (where.empty()) {
    fmt::print(stderr, "sluice ha {}: no --peer given and no [ha] peer configured\n", command);
    return false;
  }
  auto theirs = get(where, "/api/ha", o);
  if (!theirs || theirs->status != 200) {
    fmt::print(stderr, "sluice ha {}: peer {}: {}\n", command, where,
               theirs ? fmt::format("HTTP {} {}", theirs->status, theirs->body.dump())
                      : theirs.error().message());
    return false;
  }
  peer = theirs->body;
  return true;
}

void runCompare(const HaOptions& o) {
  json local;
  json peer;
  if (!identities(o, local, peer, "compare")) {
    setExitCode(1);
    return;
  }
  const std::vector<ha::Difference> diffs = ha::compareShapers(local, peer);
  const json out = ha::differencesJson(diffs);
  if (o.json) {
    fmt::print("{}\n", out.dump(1));
  } else if (diffs.empty()) {
    fmt::print("identical: inputs, plan, leaf, queues, interfaces, version and fail mode\n");
  } else {
    fmt::print("{:<36} {:<20} {:<20} {}\n", "what", "local", "peer", "shaping differs");
    for (const ha::Difference& d : diffs) {
      fmt::print("{:<36} {:<20} {:<20} {}\n", d.what, d.local.substr(0, 20), d.peer.substr(0, 20),
                 d.shapingDiffers ? "YES" : "no");
    }
  }
  setExitCode(out["shaping_differs"].get<bool>() ? 1 : 0);
}

void runCheck(const HaOptions& o) {
  json local;
  json peer;
  if (!identities(o, local, peer, "check")) {
    setExitCode(1);
    return;
  }
  ha::PairCheckOptions options;
  options.maxDrillAgeDays = o.maxDrillAgeDays;
  options.nowUnix = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const std::vector<ha::PairItem> items = ha::checkPair(local, peer, options);
  const json out = ha::pairJson(items);
  if (o.json) {
    fmt::print("{}\n", out.dump(1));
  } else {
    for (const ha::PairItem& item : items) {
      fmt::print("{:<9} {:<4} {}\n", item.name, item.ok ? "ok" : "FAIL", item.detail);
    }
  }
  setExitCode(out["ok"].get<bool>() ? 0 : 1);
}

void addTarget(CLI::App* cmd, HaOptions& o, bool peer) {
  cmd->add_option("--socket", o.socket, "this sluiced's control socket")->capture_default_str();
  if (peer) {
    cmd->add_option("--peer", o.peer,
                    "the other shaper: its operator API URL (https://host:9123) or control "
                    "socket path (default: [ha] peer)");
    cmd->add_option("--api-key", o.apiKey, "API key for a peer URL (default: $SLUICE_API_KEY)");
    cmd->add_option("--ca-file", o.caFile, "CA file to verify a peer's TLS certificate");
  }
  cmd->add_flag("--json", o.json, "print JSON");
}

}  // namespace

void addHealthCommand(CLI::App& app) {
  auto o = std::make_shared<HaOptions>();
  CLI::App* cmd = app.add_subcommand(
      "health", "Is this shaper ready to carry traffic? Exit 0 ready, 1 not (docs/ha.md)");
  cmd->add_option("--socket", o->socket, "control socket, or the operator API's URL")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the readiness object as JSON");
  cmd->callback([o] { runHealth(*o); });
}

void addHaCommand(CLI::App& app) {
  CLI::App* ha = app.add_subcommand("ha", "An active/backup shaper pair (docs/ha.md)");
  ha->require_subcommand(1);
  auto compare = std::make_shared<HaOptions>();
  CLI::App* c = ha->add_subcommand(
      "compare", "What differs between this shaper and its peer (exit 1 if shaping would)");
  addTarget(c, *compare, true);
  c->callback([compare] { runCompare(*compare); });
  auto check = std::make_shared<HaOptions>();
  CLI::App* k = ha->add_subcommand(
      "check", "The pair's checklist: both ready, capacity, identical inputs, recent drill");
  addTarget(k, *check, true);
  k->add_option("--max-drill-age-days", check->maxDrillAgeDays,
                "a failover drill older than this fails the check")
      ->capture_default_str();
  k->callback([check] { runCheck(*check); });
}

}  // namespace sluice::cli
