#pragma once
// The route table of the control API (see ControlApi.h), free of any transport so that routing is
// tested without sockets and new routes are one line each.

#include <string>
#include <string_view>

#include "api/ControlApi.h"

namespace sluice::api {

/// A routed request: the handler's response, plus the methods the target accepts when the answer
/// is 405 (the server sends them as the `Allow` header).
struct RoutedResponse {
  Response response;
  std::string allow;  ///< e.g. "GET"; empty unless response.status == 405
};

/// Routes one request to `handler`.
/// `method` is the HTTP method as sent ("GET"); `target` the request target, whose query string
/// ("?...") is ignored. Unknown targets answer 404 {"error": ...}; a known target with another
/// method answers 405 {"error": ...} with `allow` set. An exception escaping the handler answers
/// 500 {"error": ...} instead of propagating, so a handler bug cannot take the server down.
RoutedResponse route(std::string_view method, std::string_view target, ControlHandler& handler);

}  // namespace sluice::api
