#include "daemon/SyncService.h"

#include "daemon/RadiusService.h"
#include "integrations/HttpClient.h"

namespace sluice::daemon {
namespace {

using integrations::SyncOutcome;

integrations::SyncHost hostFor(Shaper& shaper, std::string configPath) {
  integrations::SyncHost host;
  host.configPath = std::move(configPath);
  host.inputsInForce = [&shaper] { return shaper.snapshot().inputs; };
  host.reload = [&shaper]() -> Result<void> {
    const api::Response r = shaper.reload(ReloadTrigger::Sync);
    const std::string outcome = r.body.value("outcome", "");
    if (outcome == "applied" || outcome == "unchanged") {
      return {};
    }
    std::string why = r.body.value("message", "");
    for (const auto& e : r.body.value("errors", nlohmann::json::array())) {
      why += (why.empty() ? "" : "; ") + (e.is_string() ? e.get<std::string>() : e.dump());
    }
    return makeError(0, "reload " + outcome, why);
  };
  return host;
}

}  // namespace

SyncService::SyncService(Shaper& shaper, std::string configPath, std::string stateDirectory)
    : runner_(hostFor(shaper, std::move(configPath)), std::move(stateDirectory),
              std::make_shared<integrations::HttpClient>()),
      scheduler_(runner_) {}

SyncService::~SyncService() { stop(); }

void SyncService::start() { scheduler_.start(); }

void SyncService::stop() { scheduler_.stop(); }

api::HttpResponse SyncService::status(const api::HttpRequest&) {
  nlohmann::json body = runner_.status();
  const auto next = scheduler_.nextRun();
  if (next != std::chrono::steady_clock::time_point::max()) {
    body["next_run_in_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(next - std::chrono::steady_clock::now())
            .count();
  }
  return api::HttpResponse::json(200, body);
}

api::HttpResponse SyncService::answer(const SyncOutcome& outcome) {
  switch (outcome.kind) {
    case SyncOutcome::Kind::Applied:
    case SyncOutcome::Kind::Unchanged:
    case SyncOutcome::Kind::DryRun:
      return api::HttpResponse::json(200, outcome.toJson());
    case SyncOutcome::Kind::Held:
      return api::HttpResponse::json(409, outcome.toJson());
    case SyncOutcome::Kind::Failed:
      break;
  }
  return api::HttpResponse::json(502, outcome.toJson());
}

api::HttpResponse SyncService::run(const api::HttpRequest& req) {
  const std::string dry = req.queryOr("dry_run", "0");
  return answer(runner_.run(dry == "1" || dry == "true"));
}

api::HttpResponse SyncService::approve(const api::HttpRequest&) { return answer(runner_.approve()); }

nlohmann::json SyncService::urgentIssues() const {
  nlohmann::json issues = nlohmann::json::array();
  const nlohmann::json s = runner_.status();
  if (s.contains("error")) {
    issues.push_back({{"severity", "error"}, {"kind", "sync-config"}, {"message", s["error"]}});
  }
  const nlohmann::json& last = s["last"];
  if (last.is_object() && last.value("outcome", "") == "failed") {
    issues.push_back({{"severity", "error"},
                      {"kind", "sync-failed"},
                      {"message", "the last sync (" + last.value("source", "") +
                                      ") failed; the inputs in force stay: " +
                                      last.value("message", "")}});
  }
  if (s["pending"].is_object()) {
    issues.push_back({{"severity", "warning"},
                      {"kind", "sync-held"},
                      {"message", s["pending"].value("message", "")}});
  }
  return issues;
}

std::pair<std::string, std::string> SyncService::mode() const {
  auto settings = runner_.settings();
  if (!settings) {
    return {"invalid", ""};
  }
  return {std::string(integrations::inputModeName(settings->mode)), settings->integration};
}

std::string SyncService::owner(const model::Inputs& inputs, const std::string& id,
                               const std::pair<std::string, std::string>& mode) {
  auto it = inputs.model.shaped.byId.find(id);
  if (it == inputs.model.shaped.byId.end()) {
    return "";
  }
  const model::Circuit& c = inputs.model.shaped.circuits[it->second];
  if (RadiusService::owns(c)) {
    return "radius";  // a dynamic circuit of the overlay, not in any file
  }
  if (!inputs.resolvedOverrides.empty() && c.where.file == inputs.resolvedOverrides) {
    return "overrides";
  }
  if (mode.first == "integration" && !mode.second.empty()) {
    return mode.second;
  }
  return mode.first == "custom" ? "custom" : "file";
}

}  // namespace sluice::daemon
