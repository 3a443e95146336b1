#pragma once
// The operator API's request pipeline (docs/api.md), shared by the control socket and TCP:
//
//   request ─► public? (POST /api/login, GET /api/openapi.json, GET /health, GET /ready,
//                       static web UI files)
//           ─► trusted (control socket)? skip auth : auth::Authenticator::authorize
//              (session cookie + X-CSRF-Token on state-changing methods, or Bearer API key;
//               401 / 403 / 429)
//           ─► route table ─► admin-only routes check the role ─► OperatorBackend
//
// The auth routes (/api/login, /api/logout, /api/me) and users/API keys are answered here from
// the Authenticator; everything else is the backend's (the daemon's OperatorServices).

#include <memory>
#include <string>
#include <utility>

#include "api/Http.h"

namespace sluice::auth {
class Authenticator;
}

namespace sluice::api {

/// What the daemon implements behind the routes. Each call gets the request and the path
/// parameter of routes ending in "/{id}" ("" otherwise). Thread-safe: called from the servers'
/// threads concurrently.
class OperatorBackend {
 public:
  virtual ~OperatorBackend() = default;
  virtual HttpResponse status(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse reload(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse check(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse summary(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse tree(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse circuits(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse circuit(const HttpRequest& req, const std::string& id) = 0;
  virtual HttpResponse addCircuit(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse patchCircuit(const HttpRequest& req, const std::string& id) = 0;
  virtual HttpResponse deleteCircuit(const HttpRequest& req, const std::string& id) = 0;
  virtual HttpResponse top(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse unknown(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse urgent(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse config(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse validateConfig(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse putConfig(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse queueMode(const HttpRequest& req, const std::string& param) = 0;
  virtual HttpResponse metrics(const HttpRequest& req, const std::string& param) = 0;
  /// The integrations sync (daemon/SyncService.h); 404 in backends without one.
  virtual HttpResponse integration(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "no integration sync here");
  }
  virtual HttpResponse integrationRun(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "no integration sync here");
  }
  virtual HttpResponse integrationApprove(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "no integration sync here");
  }
  /// GET /api/radius: RADIUS sessions, pending sessions and counters (daemon/RadiusService.h);
  /// 404 in backends without RADIUS.
  virtual HttpResponse radius(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "RADIUS is not enabled here");
  }
  /// GET /api/treeguard: TreeGuard's state, decisions and CPU (daemon/TreeGuardService.h);
  /// 404 in backends without TreeGuard.
  virtual HttpResponse treeguard(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "TreeGuard is not running here");
  }
  /// GET /api/stormguard: StormGuard's nodes, decisions and events (daemon/StormGuardService.h);
  /// 404 in backends without StormGuard.
  virtual HttpResponse stormguard(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "StormGuard is not running here");
  }
  /// Per-subscriber packet captures (daemon/CaptureService.h, docs/capture.md): POST
  /// /api/capture, GET /api/capture, GET /api/capture/{id}[/status]; 404 in backends without.
  virtual HttpResponse captureStart(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "no packet captures here");
  }
  virtual HttpResponse captureList(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "no packet captures here");
  }
  virtual HttpResponse captureGet(const HttpRequest&, const std::string&) {
    return HttpResponse::error(404, "no packet captures here");
  }
  /// GET /health and GET /ready (docs/ha.md): public, like a load balancer's probe (no auth on
  /// TCP either); and GET /api/ha, the HA identity. A backend without HA answers 404.
  virtual HttpResponse health(const HttpRequest& req, const std::string& param);
  virtual HttpResponse ready(const HttpRequest& req, const std::string& param);
  virtual HttpResponse ha(const HttpRequest& req, const std::string& param);
  /// WebSocket channel data (the JSON text of the matching GET body), or {false, error}.
  virtual std::pair<bool, std::string> channel(const std::string& name) = 0;
};

struct OperatorApiOptions {
  /// Directory of the built web UI ("" = no static files: 404).
  std::string webRoot;
};

class OperatorApi final : public RequestHandler {
 public:
  /// `auth` may be null: then untrusted (TCP) requests other than the public ones get 503 (the
  /// daemon could not open the users file: fail closed). Both must outlive this object.
  OperatorApi(OperatorBackend& backend, auth::Authenticator* auth, OperatorApiOptions options);

  HttpResponse handle(const HttpRequest& request) override;
  std::optional<HttpResponse> admitWebSocket(const HttpRequest& request) override;
  std::pair<bool, std::string> channelData(const HttpRequest& request,
                                           const std::string& channel) override;

  /// The OpenAPI 3 document served at /api/openapi.json (src/api/openapi.json, compiled in).
  static std::string_view openApiDocument();

 private:
  HttpResponse login(const HttpRequest& request);
  HttpResponse users(const HttpRequest& request, const std::string& name);
  HttpResponse apiKeys(const HttpRequest& request, const std::string& name);
  HttpResponse staticFile(const HttpRequest& request);

  OperatorBackend& backend_;
  auth::Authenticator* auth_;
  OperatorApiOptions options_;
};

}  // namespace sluice::api
