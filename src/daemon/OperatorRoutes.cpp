// OperatorServices' read routes: status, telemetry bodies (cached per tick), circuits, top,
// Prometheus metrics, RADIUS, captures, the sync, the WebSocket channels, HA, TreeGuard and
// StormGuard.

#include <algorithm>

#include <fmt/format.h>

#include "daemon/CaptureService.h"
#include "daemon/HaService.h"
#include "daemon/OperatorServices.h"
#include "daemon/RadiusService.h"
#include "daemon/StormGuardService.h"
#include "daemon/SyncService.h"
#include "daemon/TreeGuardService.h"
#include "flowexport/Exporter.h"
#include "telemetry/Collector.h"
#include "telemetry/Prometheus.h"

namespace sluice::daemon {

namespace {

using api::HttpRequest;
using api::HttpResponse;
using nlohmann::json;

// The sync's additions to a status body (input_mode) and to a circuit's body (owner), the same on
// the GET routes and their WebSocket channels (the UI reads either).
void addInputMode(json& status, const SyncService* sync) {
  if (sync != nullptr && status.is_object()) {
    const auto [mode, integration] = sync->mode();
    status["input_mode"] = {{"mode", mode}, {"integration", integration}};
  }
}

// The RADIUS line of the status (`sluice status`), when [radius] runs or failed to start.
void addRadius(json& status, const RadiusService* radius) {
  if (radius != nullptr && status.is_object() &&
      (radius->running() || !radius->startError().empty())) {
    status["radius"] = radius->summary();
  }
}

void addOwner(json& circuit, const Shaper& shaper, const SyncService* sync, const std::string& id) {
  if (const auto inputs = shaper.snapshot().inputs; inputs && sync != nullptr) {
    circuit["owner"] = SyncService::owner(*inputs, id, sync->mode());
  }
}

HttpResponse fromControl(const api::Response& r) { return HttpResponse::json(r.status, r.body); }

size_t queryNumber(const HttpRequest& req, const std::string& key, size_t fallback, size_t max,
                   bool& ok) {
  const std::string text = req.queryOr(key);
  if (text.empty()) {
    return fallback;
  }
  if (text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    ok = false;
    return 0;
  }
  return std::min<size_t>(std::stoul(text), max);
}

}  // namespace

HttpResponse OperatorServices::status(const HttpRequest&, const std::string&) {
  api::Response r = shaper_.status();
  addInputMode(r.body, sync_.get());
  addRadius(r.body, radius_.get());
  if (ha_ != nullptr && r.body.is_object()) {
    r.body["ha"] = ha_->readiness();
  }
  return fromControl(std::move(r));
}

HttpResponse OperatorServices::reload(const HttpRequest&, const std::string&) {
  std::lock_guard lock(changeMutex_);
  return fromControl(shaper_.reload(ReloadTrigger::Api));
}

HttpResponse OperatorServices::check(const HttpRequest&, const std::string&) {
  return fromControl(shaper_.check());
}

HttpResponse OperatorServices::summary(const HttpRequest&, const std::string&) {
  HttpResponse r;
  r.body = cached("summary");
  return r;
}

HttpResponse OperatorServices::tree(const HttpRequest&, const std::string&) {
  HttpResponse r;
  r.body = cached("tree");
  return r;
}

HttpResponse OperatorServices::unknown(const HttpRequest&, const std::string&) {
  HttpResponse r;
  r.body = cached("unknown");
  return r;
}

HttpResponse OperatorServices::circuits(const HttpRequest& req, const std::string&) {
  bool ok = true;
  const size_t offset = queryNumber(req, "offset", 0, SIZE_MAX, ok);
  const size_t limit = queryNumber(req, "limit", 100, 10000, ok);
  if (!ok) {
    return HttpResponse::error(400, "offset and limit must be non-negative integers");
  }
  auto body = collector_->circuits(req.queryOr("search"), offset, limit,
                                   req.queryOr("sort", "name"));
  if (!body) {
    return HttpResponse::error(400, body.error().message());
  }
  if (const auto inputs = shaper_.snapshot().inputs; inputs && sync_) {
    const auto mode = sync_->mode();
    for (json& c : (*body)["circuits"]) {
      c["owner"] = SyncService::owner(*inputs, c.value("id", ""), mode);
    }
  }
  return HttpResponse::json(200, *body);
}

HttpResponse OperatorServices::circuit(const HttpRequest& req, const std::string& id) {
  bool ok = true;
  const size_t minutes = queryNumber(req, "minutes", 0, 2880, ok);
  if (!ok) {
    return HttpResponse::error(400, "minutes must be a non-negative integer");
  }
  auto body = collector_->circuit(id, static_cast<uint32_t>(minutes));
  if (!body) {
    return HttpResponse::error(404, fmt::format("no circuit with id \"{}\"", id));
  }
  addOwner(*body, shaper_, sync_.get(), id);
  return HttpResponse::json(200, *body);
}

HttpResponse OperatorServices::top(const HttpRequest& req, const std::string&) {
  bool ok = true;
  const size_t n = queryNumber(req, "n", 10, 1000, ok);
  if (!ok) {
    return HttpResponse::error(400, "n must be a non-negative integer");
  }
  auto body = collector_->top(req.queryOr("metric", "throughput"), n);
  if (!body) {
    return HttpResponse::error(400, body.error().message());
  }
  return HttpResponse::json(200, *body);
}

HttpResponse OperatorServices::metrics(const HttpRequest&, const std::string&) {
  HttpResponse r;
  r.contentType = "text/plain; version=0.0.4; charset=utf-8";
  r.body = collector_->prometheus();
  if (stormguard_) {
    r.body += stormguard_->prometheus();
  }
  if (treeguard_) {
    r.body += treeguard_->prometheus();
  }
  if (flowExport_) {
    r.body += flowExport_->prometheus();
  }
  const json status = shaper_.status().body;
  if (status.contains("dataplane")) {
    telemetry::PromWriter w;
    w.family("sluice_dataplane_xdp_metadata", "gauge",
             "1: tc classifies from XDP's metadata; 0: tc repeats the lookup (reason label)");
    const json& dp = status["dataplane"];
    w.sample("sluice_dataplane_xdp_metadata", {{"reason", dp.value("reason", "")}},
             dp.value("xdp_metadata", false) ? 1 : 0);
    r.body += w.take();
  }
  if (radius_) {
    r.body += radius_->metrics();
  }
  return r;
}

HttpResponse OperatorServices::radius(const HttpRequest&, const std::string&) {
  if (!radius_ || (!radius_->running() && radius_->startError().empty())) {
    return HttpResponse::error(404, "RADIUS is not enabled ([radius] enabled = true)");
  }
  return HttpResponse::json(200, radius_->status());
}

HttpResponse OperatorServices::captureStart(const HttpRequest& req, const std::string&) {
  return capture_->begin(req);
}

HttpResponse OperatorServices::captureList(const HttpRequest& req, const std::string&) {
  return capture_->list(req);
}

HttpResponse OperatorServices::captureGet(const HttpRequest& req, const std::string& id) {
  return capture_->get(req, id);
}

HttpResponse OperatorServices::integration(const HttpRequest& req, const std::string&) {
  return sync_->status(req);
}

HttpResponse OperatorServices::integrationRun(const HttpRequest& req, const std::string&) {
  return sync_->run(req);
}

HttpResponse OperatorServices::integrationApprove(const HttpRequest& req, const std::string&) {
  return sync_->approve(req);
}

std::pair<bool, std::string> OperatorServices::channel(const std::string& name) {
  auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
  if (name == "summary" || name == "tree") {
    return {true, cached(name)};
  }
  if (name == "urgent") {
    return {true, dump(urgentJson())};
  }
  if (name == "status") {
    json body = shaper_.status().body;
    addInputMode(body, sync_.get());
    addRadius(body, radius_.get());
    if (ha_ != nullptr && body.is_object()) {
      body["ha"] = ha_->readiness();
    }
    return {true, dump(body)};
  }
  if (name.starts_with("circuit:")) {
    auto body = collector_->circuit(name.substr(8));
    if (!body) {
      return {false, fmt::format("no circuit with id \"{}\"", name.substr(8))};
    }
    addOwner(*body, shaper_, sync_.get(), name.substr(8));
    return {true, dump(*body)};
  }
  return {false, fmt::format("no such channel: {} (summary, tree, urgent, status, circuit:<id>)",
                             name)};
}

// HA (daemon/HaService.h). /health and /ready are public (OperatorApi) and answer from the HA
// owner's last verdict without waiting for the shaper; /api/ha adds telemetry's peak.

HttpResponse OperatorServices::health(const HttpRequest&, const std::string&) {
  if (ha_ == nullptr) {
    return HttpResponse::json(200, {{"status", "alive"}});
  }
  return HttpResponse::json(200, ha_->liveness());
}

HttpResponse OperatorServices::ready(const HttpRequest&, const std::string&) {
  if (ha_ == nullptr) {
    return HttpResponse::error(404, "HA is not running in this sluiced");
  }
  json body = ha_->readiness();
  return HttpResponse::json(body.value("ready", false) ? 200 : 503, body);
}

HttpResponse OperatorServices::ha(const HttpRequest&, const std::string&) {
  if (ha_ == nullptr) {
    return HttpResponse::error(404, "HA is not running in this sluiced");
  }
  json body = ha_->identity();
  // The busiest second of the summary's history (the last 10 minutes at 1 s).
  const json summary = json::parse(cached("summary"), nullptr, false);
  body["peak"] = nullptr;
  if (summary.is_object() && summary.contains("history") && summary["history"].is_array() &&
      !summary["history"].empty()) {
    double down = 0;
    double up = 0;
    for (const json& point : summary["history"]) {
      down = std::max(down, point.value("down_bps", 0.0));
      up = std::max(up, point.value("up_bps", 0.0));
    }
    body["peak"] = {{"down_mbps", down / 1e6},
                    {"up_mbps", up / 1e6},
                    {"window_s", summary["history"].size()}};
  }
  return HttpResponse::json(200, body);
}

HttpResponse OperatorServices::treeguard(const HttpRequest& req, const std::string&) {
  if (!treeguard_) {
    return HttpResponse::error(503, "TreeGuard has not started");
  }
  return treeguard_->status(req);
}

HttpResponse OperatorServices::stormguard(const HttpRequest& req, const std::string&) {
  if (!stormguard_) {
    return HttpResponse::error(503, "StormGuard has not started");
  }
  return stormguard_->status(req);
}

}  // namespace sluice::daemon
