#include "daemon/OperatorServices.h"
#include "daemon/HaService.h"
#include "daemon/PersistedOverlay.h"

#include "daemon/RadiusService.h"
#include "daemon/StormGuardService.h"
#include "daemon/SyncService.h"
#include "daemon/CaptureService.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "api/LiveChanges.h"
#include "api/WebServer.h"
#include "auth/Authenticator.h"
#include "common/AtomicFile.h"
#include "config/ConfigLoader.h"
#include "daemon/TreeGuardService.h"
#include "dataplane/Dataplane.h"
#include "flowexport/Exporter.h"
#include "netlink/Socket.h"
#include "telemetry/Collector.h"
#include "telemetry/MapRead.h"
#include "telemetry/Prometheus.h"

#ifndef SLUICE_DEFAULT_WEB_ROOT
#define SLUICE_DEFAULT_WEB_ROOT ""
#endif

namespace sluice::daemon {

namespace {

using api::HttpRequest;
using api::HttpResponse;
using nlohmann::json;

constexpr auto kTickInterval = std::chrono::seconds(1);
/// Longest wait for RTT samples in one drainRtt call (bounds how long stop() waits).
constexpr int kRttWaitMs = 200;

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

std::string webRootFor(const config::Config& config) {
  if (!config.sluice.webRoot.empty()) {
    return config.sluice.webRoot;
  }
  // The build's web/ serves a sluiced run from that build tree; an installed sluiced (the .deb)
  // serves the installed copy, even on a machine that still holds the build tree.
  std::error_code ec;
  const std::string built = SLUICE_DEFAULT_WEB_ROOT;
  const std::string buildTree = std::filesystem::path(built).parent_path().string() + "/";
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (!built.empty() && !ec && self.starts_with(buildTree) &&
      std::filesystem::is_regular_file(built + "/index.html", ec)) {
    return built;
  }
  return "/usr/share/sluice/web";
}

std::string historyPathFor(const config::Config& config) {
  if (!config.sluice.historyDb.empty()) {
    return config.sluice.historyDb;
  }
  return config.sluice.stateDirectory + "/history.sqlite";
}

std::optional<std::string> readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

HttpResponse fromControl(const api::Response& r) { return HttpResponse::json(r.status, r.body); }

std::optional<json> parseObject(const HttpRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return std::nullopt;
  }
  return body;
}

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

/// lqos.conf text with [queues] queue_mode set to `mode` (the line replaced, or added to the
/// section, or a new section appended); other lines are kept byte for byte.
std::string withQueueMode(const std::string& text, const std::string& mode) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  const std::string setting = fmt::format("queue_mode = \"{}\"", mode);
  auto trimmed = [](const std::string& l) {
    const size_t b = l.find_first_not_of(" \t");
    return b == std::string::npos ? std::string() : l.substr(b);
  };
  std::optional<size_t> section;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trimmed(lines[i]);
    if (t.starts_with("[")) {
      if (section) {
        break;
      }
      if (t.starts_with("[queues]")) {
        section = i;
      }
      continue;
    }
    if (section && t.starts_with("queue_mode") &&
        trimmed(t.substr(std::string("queue_mode").size())).starts_with("=")) {
      lines[i] = setting;
      section.reset();
      std::string out;
      for (const std::string& l : lines) {
        out += l + "\n";
      }
      return out;
    }
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
    if (section && i == *section) {
      out += setting + "\n";
    }
  }
  if (!section) {
    out += "\n[queues]\n" + setting + "\n";
  }
  return out;
}

}  // namespace

OperatorServices::OperatorServices(Shaper& shaper, std::string configPath)
    : shaper_(shaper), configPath_(std::move(configPath)) {}

OperatorServices::~OperatorServices() { stop(); }

Result<void> OperatorServices::start() {
  const Shaper::Snapshot snap = shaper_.snapshot();
  const config::Config config = snap.inputs ? snap.inputs->config : config::Config{};

  telemetry::Options topts;
  topts.historyDbPath = historyPathFor(config);
  topts.historyMaxBytes = config.sluice.historyMaxBytes;
  topts.perCircuitMetrics = config.sluice.metricsPerCircuit;
  auto collector = telemetry::Collector::create(topts);
  if (!collector) {
    spdlog::warn("telemetry history disabled: {}", collector.error().message());
    topts.historyDbPath.clear();
    collector = telemetry::Collector::create(topts);
    if (!collector) {
      return std::unexpected(collector.error());
    }
  }
  collector_ = std::move(*collector);
  // NetFlow/IPFIX export ([flows], docs/flows.md), fed by the tick thread; off on bad settings.
  if (auto flows = flowexport::FlowExporter::fromConfig(config, configPath_); !flows) {
    spdlog::error("flow export off: {}", flows.error().message());
  } else {
    flowExport_ = std::move(*flows);
  }

  const bool tls = !config.sluice.tlsCertificate.empty() && !config.sluice.tlsPrivateKey.empty();
  auth::AuthOptions aopts;
  aopts.usersFile = auth::usersFilePath(config);
  aopts.secureCookie = tls;
  auth_ = std::make_unique<auth::Authenticator>(aopts);
  if (auto opened = auth_->open(); !opened) {
    spdlog::error("operator API users file: {} (TCP API answers 503 until fixed and restarted)",
                  opened.error().message());
    auth_.reset();
  } else if (!auth_->hasUsers()) {
    spdlog::warn("{}", auth::firstRunMessage(auth_->usersFile(), configPath_));
  }

  api::OperatorApiOptions options;
  options.webRoot = webRootFor(config);
  api_ = std::make_unique<api::OperatorApi>(*this, auth_.get(), options);
  treeguard_ = std::make_unique<TreeGuardService>(treeGuardHost(shaper_, *collector_));
  if (persisted_ != nullptr) {
    treeguard_->adopt(persisted_->takeTreeGuard());
  }
  treeguard_->start();

  tickThread_ = std::thread([this] { tickLoop(); });
  sync_ = std::make_unique<SyncService>(shaper_, configPath_, shaper_.stateDirectory());
  sync_->start();
  capture_ = std::make_unique<CaptureService>(shaper_);
  capture_->start();
  // StormGuard: node signals from the collector's node rollups, changes through the overlay.
  stormguard_ = std::make_unique<StormGuardService>(shaper_, shaper_.stateDirectory(), [this] {
    return StormGuardService::signalsFromTree(collector_->tree());
  });
  if (persisted_ != nullptr) {
    stormguard_->adopt(persisted_->takeStormGuard());
  }
  stormguard_->start();
  // RADIUS dynamic circuits ([radius]): a bad section or a port in use is the operator's to fix;
  // shaping goes on without it (the error is in status and GET /api/radius).
  radius_ = std::make_unique<RadiusService>(shaper_, configPath_, shaper_.stateDirectory());
  if (persisted_ != nullptr) {
    radius_->adopt(persisted_->takeRadius());
  }
  if (auto started = radius_->start(); !started) {
    spdlog::error("radius: not started: {}", started.error().message());
  }

  if (!config.sluice.webserverListen.empty()) {
    api::WebServerOptions wopts;
    wopts.listen = config.sluice.webserverListen;
    wopts.tlsCertificate = config.sluice.tlsCertificate;
    wopts.tlsPrivateKey = config.sluice.tlsPrivateKey;
    auto web = api::WebServer::start(wopts, *api_);
    if (!web) {
      // Shaping does not depend on the operator UI: keep running, say why it is not there.
      spdlog::error("operator API not served on TCP: {}", web.error().message());
      return {};
    }
    web_ = std::move(*web);
    spdlog::info("operator API on {}://{} (web UI from {})", tls ? "https" : "http",
                 wopts.listen, options.webRoot);
  }
  return {};
}

void OperatorServices::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (web_) {
    web_->stop();
  }
  if (radius_) {
    radius_->stop();
  }
  if (sync_) {
    sync_->stop();
  }
  if (capture_) {
    capture_->stop();
  }
  if (stormguard_) {
    stormguard_->stop();
  }
  if (treeguard_) {
    treeguard_->stop();
  }
  {
    std::lock_guard lock(tickMutex_);
    stopping_ = true;
  }
  tickWake_.notify_all();
  if (tickThread_.joinable()) {
    tickThread_.join();
  }
  if (flowExport_) {
    flowExport_->stop();  // exports what is pending
  }
  if (collector_) {
    if (auto r = collector_->flush(); !r) {
      spdlog::warn("telemetry history flush: {}", r.error().message());
    }
  }
}

void OperatorServices::tickLoop() {
  std::optional<netlink::Socket> tcSocket;
  if (auto s = netlink::Socket::open(); s) {
    tcSocket.emplace(std::move(*s));
  } else {
    spdlog::warn("telemetry: no tc statistics: {}", s.error().message());
  }
  uint64_t version = 0;
  std::string lastWarning;
  std::vector<sluice_flow_key> flowKeys;  // the flow exporter's reading, reused
  std::vector<sluice_flow> flowValues;
  auto next = std::chrono::steady_clock::now();
  while (true) {
    {
      std::lock_guard lock(tickMutex_);
      if (stopping_) {
        return;
      }
    }
    next += kTickInterval;
    const Shaper::Snapshot snap = shaper_.snapshot();
    if (snap.inputs && snap.plan && snap.version != version) {
      collector_->setPlan(snap.inputs, snap.plan);
      version = snap.version;
    }
    const Shaper::MapFds fds = shaper_.mapFds();
    telemetry::Sources sources{fds.hosts, fds.flows, fds.rttRing, fds.stats,
                               tcSocket ? &*tcSocket : nullptr};
    if (version != 0) {
      auto report = collector_->tick(sources);
      std::string warning = !report ? report.error().message()
                            : report->warnings.empty() ? std::string()
                                                       : report->warnings.front();
      if (warning != lastWarning && !warning.empty()) {
        spdlog::warn("telemetry tick: {}", warning);
      }
      lastWarning = std::move(warning);
      ++tickCount_;
      renderCache();
      if (flowExport_ && fds.flows >= 0) {
        if (auto read = telemetry::readFlowTable(fds.flows, flowKeys, flowValues); read) {
          flowExport_->tick(flowKeys, flowValues, flowexport::ExportClock::now());
        }
      }
    }
    // Until the next tick: collect RTT samples (the ring is small), or just wait.
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          next - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        break;
      }
      if (version != 0 && fds.rttRing >= 0) {
        const int wait = static_cast<int>(std::min<int64_t>(left.count(), kRttWaitMs));
        if (!collector_->drainRtt(sources, wait)) {
          std::unique_lock lock(tickMutex_);
          tickWake_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stopping_; });
        }
      } else {
        std::unique_lock lock(tickMutex_);
        tickWake_.wait_for(lock, left, [this] { return stopping_; });
      }
      std::lock_guard lock(tickMutex_);
      if (stopping_) {
        return;
      }
    }
    if (std::chrono::steady_clock::now() - next > 5 * kTickInterval) {
      next = std::chrono::steady_clock::now();  // fell far behind (suspend, overload): resync
    }
  }
}

std::string OperatorServices::render(const std::string& key) const {
  json body = key == "summary" ? collector_->summary()
              : key == "tree"  ? collector_->tree()
                               : collector_->unknown();
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void OperatorServices::renderCache() {
  const uint64_t tick = tickCount_.load();
  for (const char* key : {"summary", "tree", "unknown"}) {
    auto text = std::make_shared<const std::string>(render(key));
    std::lock_guard lock(cacheMutex_);
    cache_[key] = CacheEntry{tick, std::move(text)};
  }
}

std::string OperatorServices::cached(const std::string& key) {
  std::shared_ptr<const std::string> text;
  {
    std::lock_guard lock(cacheMutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      text = it->second.text;
    }
  }
  if (!text) {
    text = std::make_shared<const std::string>(render(key));
    std::lock_guard lock(cacheMutex_);
    cache_.try_emplace(key, CacheEntry{tickCount_.load(), text});
  }
  return *text;
}

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

HttpResponse OperatorServices::persistAndReload(const std::string& path, const std::string& text) {
  if (auto w = writeFileAtomically(path, text, {.keepExistingMode = true}); !w) {
    return HttpResponse::error(500, w.error().message());
  }
  spdlog::info("operator API: wrote {}; reloading", path);
  const api::Response reloaded = shaper_.reload(ReloadTrigger::Api);
  const std::string outcome = reloaded.body.value("outcome", "failed");
  json body{{"outcome", outcome}, {"reload", reloaded.body}, {"persisted", path}};
  if (outcome == "applied" || outcome == "unchanged") {
    return HttpResponse::json(200, body);
  }
  body["error"] = fmt::format("{} was written but the reload {} it", path,
                              outcome == "refused" ? "refused" : "failed to apply");
  return HttpResponse::json(reloaded.status >= 400 ? reloaded.status : 500, body);
}

HttpResponse OperatorServices::change(int kind, const std::string& id, const HttpRequest& req) {
  json body = json::object();
  const auto changeKind = static_cast<api::ChangeKind>(kind);
  if (changeKind != api::ChangeKind::Remove) {
    auto parsed = parseObject(req);
    if (!parsed) {
      return HttpResponse::error(400, "the request body must be a JSON object");
    }
    body = std::move(*parsed);
  }
  std::lock_guard lock(changeMutex_);
  api::PlannedChange plan =
      api::planCircuitChange(model::InputPaths{configPath_, {}, {}}, changeKind, id, body);
  if (!plan.ok()) {
    return HttpResponse::json(plan.status, plan.error);
  }
  return persistAndReload(plan.path, plan.text);
}

HttpResponse OperatorServices::addCircuit(const HttpRequest& req, const std::string&) {
  return change(static_cast<int>(api::ChangeKind::Add), "", req);
}

HttpResponse OperatorServices::patchCircuit(const HttpRequest& req, const std::string& id) {
  return change(static_cast<int>(api::ChangeKind::Patch), id, req);
}

HttpResponse OperatorServices::deleteCircuit(const HttpRequest& req, const std::string& id) {
  return change(static_cast<int>(api::ChangeKind::Remove), id, req);
}

HttpResponse OperatorServices::config(const HttpRequest&, const std::string&) {
  const std::optional<std::string> text = readText(configPath_);
  if (!text) {
    return HttpResponse::error(500, fmt::format("cannot read {}", configPath_));
  }
  json parsed;
  try {
    std::ostringstream out;
    out << toml::json_formatter{toml::parse(*text)};
    parsed = json::parse(out.str());
  } catch (const std::exception& e) {
    parsed = nullptr;  // the file is broken on disk: the text says how, validate says where
  }
  return HttpResponse::json(200, {{"path", configPath_}, {"text", *text}, {"parsed", parsed}});
}

HttpResponse OperatorServices::validateConfig(const HttpRequest& req, const std::string&) {
  auto body = parseObject(req);
  if (!body || !body->value("text", json()).is_string()) {
    return HttpResponse::error(400, "expected {\"text\": \"<lqos.conf>\"}");
  }
  Diagnostics diags;
  config::parseConfig((*body)["text"].get<std::string>(), configPath_, diags);
  return HttpResponse::json(200, {{"valid", !diags.hasErrors()},
                                  {"errors", api::diagnosticsToErrors(diags)}});
}

HttpResponse OperatorServices::putConfig(const HttpRequest& req, const std::string&) {
  auto body = parseObject(req);
  if (!body || !body->value("text", json()).is_string()) {
    return HttpResponse::error(400, "expected {\"text\": \"<lqos.conf>\"}");
  }
  const std::string text = (*body)["text"].get<std::string>();
  Diagnostics diags;
  config::parseConfig(text, configPath_, diags);
  if (diags.hasErrors()) {
    return HttpResponse::json(422, {{"error", "invalid lqos.conf; nothing was written"},
                                    {"valid", false},
                                    {"errors", api::diagnosticsToErrors(diags)}});
  }
  std::lock_guard lock(changeMutex_);
  return persistAndReload(configPath_, text);
}

HttpResponse OperatorServices::queueMode(const HttpRequest& req, const std::string&) {
  auto body = parseObject(req);
  const std::string mode = body ? body->value("mode", std::string()) : std::string();
  if (mode != "shape" && mode != "observe") {
    return HttpResponse::json(
        422, {{"error", "invalid queue mode"},
              {"errors", json::array({{{"field", "mode"},
                                       {"message", "must be \"shape\" or \"observe\""},
                                       {"value", body ? body->value("mode", json()).dump() : ""}}})}});
  }
  std::lock_guard lock(changeMutex_);
  const std::optional<std::string> text = readText(configPath_);
  if (!text) {
    return HttpResponse::error(500, fmt::format("cannot read {}", configPath_));
  }
  const std::string updated = withQueueMode(*text, mode);
  Diagnostics diags;
  config::parseConfig(updated, configPath_, diags);
  if (diags.hasErrors()) {
    return HttpResponse::json(409, {{"error", fmt::format("{} has errors; fix it first",
                                                          configPath_)},
                                    {"errors", api::diagnosticsToErrors(diags)}});
  }
  return persistAndReload(configPath_, updated);
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
