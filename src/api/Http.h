#pragma once
// Transport-free HTTP request/response values and the handler interface the servers call
// (ControlServer on the Unix socket, WebServer on TCP). Beast stays out of this header.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::api {

/// One HTTP request as the servers hand it to a RequestHandler.
struct HttpRequest {
  std::string method;                         ///< "GET", "POST", ...
  std::string target;                         ///< as sent, with the query string
  std::string path;                           ///< target without "?...", percent-decoded
  std::map<std::string, std::string> query;   ///< decoded query parameters (last one wins)
  std::map<std::string, std::string> headers; ///< lower-case names ("cookie", "x-csrf-token")
  std::string body;
  std::string peer;    ///< remote address ("127.0.0.1", "unix")
  bool trusted = false;  ///< arrived on the control socket (no authentication)
  bool tls = false;      ///< arrived over TLS

  /// The header's value, or "" when absent. `name` is lower-case.
  const std::string& header(const std::string& name) const;
  /// The value of cookie `name` in the Cookie header, or "".
  std::string cookie(std::string_view name) const;
  /// The query parameter's value, or `fallback`.
  std::string queryOr(const std::string& name, std::string fallback = {}) const;
};

/// One HTTP response. `body` is sent as is with `contentType`.
struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers (Set-Cookie, Allow)

  /// A JSON response; invalid UTF-8 in strings is replaced, never thrown.
  static HttpResponse json(int status, const nlohmann::json& body);
  /// {"error": message} with `status`.
  static HttpResponse error(int status, std::string message);
};

/// What a server calls for each request. Called from the servers' threads (the TCP server runs
/// several): implementations synchronize.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  /// Answers one request. Exceptions are turned into 500 by the server.
  virtual HttpResponse handle(const HttpRequest& request) = 0;
  /// Decides a WebSocket upgrade of `request` (target /api/ws): an empty optional admits it, a
  /// response refuses it (sent instead of the upgrade). Default: refused with 404.
  virtual std::optional<HttpResponse> admitWebSocket(const HttpRequest& request) {
    (void)request;
    return HttpResponse::error(404, "no WebSocket here");
  }
  /// The current data of WebSocket channel `channel` ("summary", "tree", "circuit:<id>"), or an
  /// error message (the string of an unknown channel). Called once per second per subscription.
  /// `request` is the upgrade request (its credentials are re-checked by the implementation).
  virtual std::pair<bool, std::string> channelData(const HttpRequest& request,
                                                   const std::string& channel) {
    (void)request;
    return {false, "no such channel: " + channel};
  }
};

/// Percent-decodes `s` ('+' stays '+' except in query strings, where `plusIsSpace`). Invalid
/// escapes are kept literally.
std::string percentDecode(std::string_view s, bool plusIsSpace = false);

/// Splits `target` into its decoded path and query parameters.
void splitTarget(std::string_view target, std::string& path,
                 std::map<std::string, std::string>& query);

}  // namespace sluice::api
