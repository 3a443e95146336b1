#include "api/OperatorApi.h"

#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "auth/Authenticator.h"

namespace sluice::api {

extern const char* const kOpenApiJson;  // OpenApiDocument.cpp, generated from openapi.json

namespace {

using nlohmann::json;
using Call = HttpResponse (OperatorBackend::*)(const HttpRequest&, const std::string&);

enum class Access : uint8_t { Any, Admin };
enum class Special : uint8_t { None, Me, Logout, Users, ApiKeys };

struct Route {
  std::string_view method;
  std::string_view path;  ///< exact, or a prefix ending in '/' when `param`
  bool param;             ///< the rest of the path is the parameter
  Access access;
  Call call;
  Special special = Special::None;
};

constexpr std::array kRoutes{
    Route{"GET", "/api/status", false, Access::Any, &OperatorBackend::status},
    Route{"POST", "/api/reload", false, Access::Admin, &OperatorBackend::reload},
    Route{"POST", "/api/check", false, Access::Admin, &OperatorBackend::check},
    Route{"GET", "/api/summary", false, Access::Any, &OperatorBackend::summary},
    Route{"GET", "/api/tree", false, Access::Any, &OperatorBackend::tree},
    Route{"GET", "/api/circuits", false, Access::Any, &OperatorBackend::circuits},
    Route{"POST", "/api/circuits", false, Access::Admin, &OperatorBackend::addCircuit},
    Route{"GET", "/api/circuits/", true, Access::Any, &OperatorBackend::circuit},
    Route{"PATCH", "/api/circuits/", true, Access::Admin, &OperatorBackend::patchCircuit},
    Route{"DELETE", "/api/circuits/", true, Access::Admin, &OperatorBackend::deleteCircuit},
    Route{"GET", "/api/top", false, Access::Any, &OperatorBackend::top},
    Route{"GET", "/api/unknown", false, Access::Any, &OperatorBackend::unknown},
    Route{"GET", "/api/urgent", false, Access::Any, &OperatorBackend::urgent},
    Route{"GET", "/api/config", false, Access::Any, &OperatorBackend::config},
    Route{"PUT", "/api/config", false, Access::Admin, &OperatorBackend::putConfig},
    Route{"POST", "/api/config/validate", false, Access::Admin, &OperatorBackend::validateConfig},
    Route{"PUT", "/api/queue-mode", false, Access::Admin, &OperatorBackend::queueMode},
    Route{"GET", "/metrics", false, Access::Any, &OperatorBackend::metrics},
    Route{"GET", "/api/integration", false, Access::Any, &OperatorBackend::integration},
    Route{"POST", "/api/integration/run", false, Access::Admin, &OperatorBackend::integrationRun},
    Route{"POST", "/api/integration/approve", false, Access::Admin,
          &OperatorBackend::integrationApprove},
    Route{"GET", "/api/ha", false, Access::Any, &OperatorBackend::ha},
    Route{"GET", "/api/stormguard", false, Access::Any, &OperatorBackend::stormguard},
    Route{"GET", "/api/treeguard", false, Access::Any, &OperatorBackend::treeguard},
    Route{"GET", "/api/radius", false, Access::Any, &OperatorBackend::radius},
    // Captures hold subscribers' payload: admins only, downloads included.
    Route{"POST", "/api/capture", false, Access::Admin, &OperatorBackend::captureStart},
    Route{"GET", "/api/capture", false, Access::Admin, &OperatorBackend::captureList},
    Route{"GET", "/api/capture/", true, Access::Admin, &OperatorBackend::captureGet},
    Route{"GET", "/api/me", false, Access::Any, nullptr, Special::Me},
    Route{"POST", "/api/logout", false, Access::Any, nullptr, Special::Logout},
    Route{"GET", "/api/users", false, Access::Admin, nullptr, Special::Users},
    Route{"POST", "/api/users", false, Access::Admin, nullptr, Special::Users},
    Route{"DELETE", "/api/users/", true, Access::Admin, nullptr, Special::Users},
    Route{"GET", "/api/apikeys", false, Access::Admin, nullptr, Special::ApiKeys},
    Route{"POST", "/api/apikeys", false, Access::Admin, nullptr, Special::ApiKeys},
    Route{"DELETE", "/api/apikeys/", true, Access::Admin, nullptr, Special::ApiKeys},
};

bool matches(const Route& r, const std::string& path, std::string& param) {
  if (!r.param) {
    return path == r.path;
  }
  if (path.size() <= r.path.size() || !path.starts_with(r.path)) {
    return false;
  }
  param = path.substr(r.path.size());
  return true;
}

/// The status a UsersStore error maps to (UsersStore.h's errnum table).
int storeStatus(int errnum) {
  switch (errnum) {
    case EINVAL: return 422;
    case EEXIST: return 409;
    case ENOENT: return 404;
    case EPERM: return 409;
    default: return 500;
  }
}

HttpResponse denial(const auth::Denial& d) {
  HttpResponse r = HttpResponse::error(d.status, d.reason);
  if (d.status == 429) {
    r.headers.emplace_back("Retry-After", std::to_string(std::max<uint32_t>(1, d.retryAfterSeconds)));
  }
  return r;
}

json parseBody(const HttpRequest& req, bool& ok) {
  json body = json::parse(req.body, nullptr, false);
  ok = !body.is_discarded() && body.is_object();
  return body;
}

std::string contentTypeFor(const std::filesystem::path& p) {
  static const std::array<std::pair<std::string_view, std::string_view>, 14> kTypes{{
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"},
      {".webmanifest", "application/manifest+json"}, {".jpg", "image/jpeg"}}};
  const std::string ext = p.extension().string();
  for (const auto& [e, type] : kTypes) {
    if (ext == e) {
      return std::string(type);
    }
  }
  return "application/octet-stream";
}

}  // namespace

OperatorApi::OperatorApi(OperatorBackend& backend, auth::Authenticator* auth,
                         OperatorApiOptions options)
    : backend_(backend), auth_(auth), options_(std::move(options)) {}

std::string_view OperatorApi::openApiDocument() { return kOpenApiJson; }

HttpResponse OperatorBackend::health(const HttpRequest&, const std::string&) {
  return HttpResponse::error(404, "no health endpoint on this server");
}

HttpResponse OperatorBackend::ready(const HttpRequest&, const std::string&) {
  return HttpResponse::error(404, "no readiness endpoint on this server");
}

HttpResponse OperatorBackend::ha(const HttpRequest&, const std::string&) {
  return HttpResponse::error(404, "no HA identity on this server");
}

HttpResponse OperatorApi::handle(const HttpRequest& req) {
  if (req.path == "/health" || req.path == "/ready") {
    // Public: the routers' health checks and load balancers probe without credentials.
    if (req.method != "GET" && req.method != "HEAD") {
      HttpResponse r = HttpResponse::error(405, "method not allowed on " + req.path);
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    return req.path == "/health" ? backend_.health(req, "") : backend_.ready(req, "");
  }
  const bool api = req.path.starts_with("/api/") || req.path == "/metrics";
  if (!api) {
    return staticFile(req);
  }
  if (req.path == "/api/openapi.json") {
    if (req.method != "GET" && req.method != "HEAD") {
      HttpResponse r = HttpResponse::error(405, "method not allowed on /api/openapi.json");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    HttpResponse r;
    r.body = std::string(openApiDocument());
    return r;
  }
  if (req.path == "/api/login") {
    if (req.method != "POST") {
      HttpResponse r = HttpResponse::error(405, "method not allowed on /api/login");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    return login(req);
  }

  // Find the route first (404/405 answer the same for everyone: routes are public knowledge in
  // the OpenAPI document).
  const Route* found = nullptr;
  std::string param;
  std::string allow;
  for (const Route& r : kRoutes) {
    std::string p;
    if (!matches(r, req.path, p)) {
      continue;
    }
    if (r.method == req.method) {
      found = &r;
      param = std::move(p);
      break;
    }
    if (allow.find(r.method) == std::string::npos) {
      allow += allow.empty() ? "" : ", ";
      allow += r.method;
    }
  }
  if (found == nullptr) {
    if (!allow.empty()) {
      HttpResponse r = HttpResponse::error(
          405, fmt::format("method {} not allowed on {} (allowed: {})", req.method, req.path, allow));
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return HttpResponse::error(404, fmt::format("no such resource: {}", req.path));
  }

  std::optional<auth::Principal> who;
  if (!req.trusted) {
    if (auth_ == nullptr) {
      return HttpResponse::error(503, "authentication is unavailable (the users file could not be "
                                      "read; see the daemon's log)");
    }
    auth::AuthResult result = auth_->authorize(req.method, req.header("cookie"),
                                               req.header("x-csrf-token"),
                                               req.header("authorization"));
    if (!result) {
      return denial(result.error());
    }
    who = std::move(*result);
    if (found->access == Access::Admin && !who->isAdmin()) {
      return HttpResponse::error(403, "admin role required");
    }
  }

  switch (found->special) {
    case Special::Me:
      if (!who) {
        return HttpResponse::json(200, {{"user", "control socket"}, {"role", "admin"},
                                        {"csrf_token", ""}});
      }
      return HttpResponse::json(200, {{"user", who->name},
                                      {"role", std::string(auth::roleName(who->role))},
                                      {"csrf_token", who->csrfToken}});
    case Special::Logout: {
      HttpResponse r = HttpResponse::json(200, {{"outcome", "logged out"}});
      if (auth_ != nullptr && !req.trusted) {
        r.headers.emplace_back("Set-Cookie", auth_->logout(req.header("cookie")));
      }
      return r;
    }
    case Special::Users: return users(req, param);
    case Special::ApiKeys: return apiKeys(req, param);
    case Special::None: break;
  }
  return (backend_.*(found->call))(req, param);
}

HttpResponse OperatorApi::login(const HttpRequest& req) {
  if (req.trusted) {
    return HttpResponse::error(400, "the control socket needs no login");
  }
  if (auth_ == nullptr) {
    return HttpResponse::error(503, "authentication is unavailable (the users file could not be "
                                    "read; see the daemon's log)");
  }
  // A cross-site form cannot send application/json without a CORS preflight (never granted).
  if (!req.header("content-type").starts_with("application/json")) {
    return HttpResponse::error(415, "POST /api/login needs Content-Type: application/json");
  }
  bool ok = false;
  json body = parseBody(req, ok);
  if (!ok || !body.contains("username") || !body["username"].is_string() ||
      !body.contains("password") || !body["password"].is_string()) {
    return HttpResponse::error(400, "expected {\"username\": \"...\", \"password\": \"...\"}");
  }
  auto in = auth_->login(body["username"].get<std::string>(), body["password"].get<std::string>(),
                         req.peer);
  if (!in) {
    return denial(in.error());
  }
  HttpResponse r = HttpResponse::json(
      200, {{"user", in->principal.name},
            {"role", std::string(auth::roleName(in->principal.role))},
            {"csrf_token", in->principal.csrfToken}});
  r.headers.emplace_back("Set-Cookie", in->setCookie);
  return r;
}

HttpResponse OperatorApi::users(const HttpRequest& req, const std::string& name) {
  if (auth_ == nullptr) {
    return HttpResponse::error(503, "the users file is not open");
  }
  auth::UsersStore& store = auth_->users();
  if (req.method == "GET") {
    json list = json::array();
    for (const auth::User& u : store.snapshot()->users) {
      list.push_back({{"username", u.name},
                      {"role", std::string(auth::roleName(u.role))},
                      {"created", auth::formatWallTime(u.created)}});
    }
    return HttpResponse::json(200, {{"users", list}});
  }
  if (req.method == "DELETE") {
    if (auto r = store.removeUser(name); !r) {
      return HttpResponse::error(storeStatus(r.error().errnum), r.error().context);
    }
    return HttpResponse::json(200, {{"outcome", "removed"}, {"username", name}});
  }
  bool ok = false;
  json body = parseBody(req, ok);
  if (!ok || !body.value("username", json()).is_string() ||
      !body.value("password", json()).is_string()) {
    return HttpResponse::error(400, "expected {\"username\", \"password\", \"role\"}");
  }
  const std::string user = body["username"].get<std::string>();
  const auto role = auth::parseRole(body.value("role", std::string("read-only")));
  if (!role) {
    return HttpResponse::json(422, {{"error", "invalid user"},
                                    {"errors", json::array({{{"field", "role"},
                                                             {"message", "admin or read-only"},
                                                             {"value", body["role"].dump()}}})}});
  }
  const std::string password = body["password"].get<std::string>();
  const auto snapshot = store.snapshot();
  Result<void> r = snapshot->findUser(user) != nullptr ? store.setPassword(user, password)
                                                       : store.addUser(user, *role, password);
  if (!r) {
    return HttpResponse::error(storeStatus(r.error().errnum), r.error().context);
  }
  return HttpResponse::json(200, {{"username", user}, {"role", std::string(auth::roleName(*role))}});
}

HttpResponse OperatorApi::apiKeys(const HttpRequest& req, const std::string& name) {
  if (auth_ == nullptr) {
    return HttpResponse::error(503, "the users file is not open");
  }
  auth::UsersStore& store = auth_->users();
  if (req.method == "GET") {
    json list = json::array();
    for (const auth::ApiKey& k : store.snapshot()->apiKeys) {
      json e = {{"name", k.name},
                {"role", std::string(auth::roleName(k.role))},
                {"created", auth::formatWallTime(k.created)}};
      e["last_used"] = k.lastUsed ? json(auth::formatWallTime(*k.lastUsed)) : json();
      list.push_back(std::move(e));
    }
    return HttpResponse::json(200, {{"apikeys", list}});
  }
  if (req.method == "DELETE") {
    if (auto r = store.revokeApiKey(name); !r) {
      return HttpResponse::error(storeStatus(r.error().errnum), r.error().context);
    }
    return HttpResponse::json(200, {{"outcome", "revoked"}, {"name", name}});
  }
  bool ok = false;
  json body = parseBody(req, ok);
  if (!ok || !body.value("name", json()).is_string()) {
    return HttpResponse::error(400, "expected {\"name\", \"role\"}");
  }
  const auto role = auth::parseRole(body.value("role", std::string("read-only")));
  if (!role) {
    return HttpResponse::error(422, "role must be admin or read-only");
  }
  auto key = store.addApiKey(body["name"].get<std::string>(), *role);
  if (!key) {
    return HttpResponse::error(storeStatus(key.error().errnum), key.error().context);
  }
  return HttpResponse::json(200, {{"name", body["name"]},
                                  {"role", std::string(auth::roleName(*role))},
                                  {"key", *key}});
}

HttpResponse OperatorApi::staticFile(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse r = HttpResponse::error(405, "static files are GET only");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (options_.webRoot.empty()) {
    return HttpResponse::error(404, "no web UI configured ([sluice] web_root)");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(options_.webRoot, ec);
  std::string rel = req.path.substr(1);
  if (rel.empty()) {
    rel = "index.html";
  }
  fs::path file = fs::weakly_canonical(root / rel, ec);
  // Stay inside web_root whatever the path says ("..", symlinks out).
  const std::string rootText = root.string() + "/";
  if (ec || !file.string().starts_with(rootText)) {
    return HttpResponse::error(404, fmt::format("no such file: {}", req.path));
  }
  if (!fs::is_regular_file(file, ec)) {
    // Client-side routes of the UI (no file extension) get the app itself.
    if (fs::path(rel).has_extension()) {
      return HttpResponse::error(404, fmt::format("no such file: {}", req.path));
    }
    file = root / "index.html";
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return HttpResponse::error(404, fmt::format("no such file: {}", req.path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  HttpResponse r;
  r.contentType = contentTypeFor(file);
  r.body = std::move(text).str();
  // Vite's assets carry a content hash in their names; index.html must be revalidated.
  r.headers.emplace_back("Cache-Control", req.path.starts_with("/assets/")
                                              ? "public, max-age=31536000, immutable"
                                              : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

std::optional<HttpResponse> OperatorApi::admitWebSocket(const HttpRequest& req) {
  if (req.trusted) {
    return std::nullopt;
  }
  if (auth_ == nullptr) {
    return HttpResponse::error(503, "authentication is unavailable");
  }
  // Cross-site WebSocket hijacking: a browser always sends Origin; it must name this host.
  const std::string& origin = req.header("origin");
  if (!origin.empty()) {
    const size_t scheme = origin.find("://");
    const std::string host = scheme == std::string::npos ? origin : origin.substr(scheme + 3);
    if (host != req.header("host")) {
      return HttpResponse::error(403, fmt::format("WebSocket from origin {} refused", origin));
    }
  }
  auth::AuthResult who = auth_->authorize("GET", req.header("cookie"), "",
                                          req.header("authorization"));
  if (!who) {
    return denial(who.error());
  }
  return std::nullopt;
}

std::pair<bool, std::string> OperatorApi::channelData(const HttpRequest& req,
                                                      const std::string& channel) {
  if (!req.trusted && auth_ != nullptr) {
    // Sessions end (logout, expiry, user removed) while a socket is open: stop pushing then.
    auth::AuthResult who = auth_->authorize("GET", req.header("cookie"), "",
                                            req.header("authorization"));
    if (!who) {
      return {false, who.error().reason};
    }
  }
  return backend_.channel(channel);
}

}  // namespace sluice::api
