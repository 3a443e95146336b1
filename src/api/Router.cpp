#include "api/Router.h"

#include <array>
#include <exception>

#include <fmt/format.h>

namespace sluice::api {

namespace {

struct Route {
  std::string_view method;
  std::string_view path;
  Response (ControlHandler::*call)();
};

constexpr std::array kRoutes{
    Route{"GET", "/api/status", &ControlHandler::status},
    Route{"POST", "/api/reload", &ControlHandler::reload},
    Route{"POST", "/api/check", &ControlHandler::check},
};

Response errorResponse(int status, std::string message) {
  return Response{status, nlohmann::json{{"error", std::move(message)}}};
}

}  // namespace

RoutedResponse route(std::string_view method, std::string_view target, ControlHandler& handler) {
  const std::string_view path = target.substr(0, target.find('?'));
  std::string allow;
  for (const Route& r : kRoutes) {
    if (r.path != path) {
      continue;
    }
    if (r.method != method) {
      allow += allow.empty() ? "" : ", ";
      allow += r.method;
      continue;
    }
    try {
      return {(handler.*r.call)(), {}};
    } catch (const std::exception& e) {
      return {errorResponse(500, fmt::format("{} {} failed: {}", method, path, e.what())), {}};
    } catch (...) {
      return {errorResponse(500, fmt::format("{} {} failed", method, path)), {}};
    }
  }
  if (!allow.empty()) {
    return {errorResponse(405, fmt::format("method {} not allowed on {} (allowed: {})", method,
                                           path, allow)),
            allow};
  }
  return {errorResponse(404, fmt::format("no such resource: {}", path)), {}};
}

}  // namespace sluice::api
