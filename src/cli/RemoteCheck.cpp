// sluice check (no --config): the running daemon validates its own inputs.

#include "cli/RemoteCheck.h"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/ControlClient.h"

namespace sluice::cli {

namespace {

// Validating 100k circuits takes seconds, not minutes; the bound only catches a hung daemon.
constexpr auto kCheckTimeout = std::chrono::minutes(10);

void printLines(const nlohmann::json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_array()) {
    return;
  }
  for (const nlohmann::json& line : *it) {
    fmt::print("{}\n", line.is_string() ? line.get<std::string>() : line.dump());
  }
}

}  // namespace

int runRemoteCheck(const std::string& socketPath, bool json) {
  const Result<api::Response> r = api::request(socketPath, "POST", "/api/check", nullptr,
                                               kCheckTimeout);
  if (!r) {
    fmt::print(stderr, "sluice check: {}\n", r.error().message());
    return 1;
  }
  const nlohmann::json& body = r->body;
  const bool answered = (r->status == 200 || r->status == 422) && body.is_object() &&
                        body.contains("valid") && body["valid"].is_boolean();
  if (!answered) {
    const std::string why = body.is_object() && body.contains("error") && body["error"].is_string()
                                ? body["error"].get<std::string>()
                                : body.dump();
    fmt::print(stderr, "sluice check: sluiced answered HTTP {}: {}\n", r->status, why);
    return 1;
  }
  const bool valid = body["valid"].get<bool>();
  if (json) {
    fmt::print("{}\n", body.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    return valid ? 0 : 1;
  }
  printLines(body, "errors");
  printLines(body, "warnings");
  const auto count = [&](const char* key) {
    return body.contains(key) && body[key].is_array() ? body[key].size() : 0;
  };
  fmt::print("{}: {} error(s), {} warning(s) in the inputs of the running config\n",
             valid ? "valid" : "invalid", count("errors"), count("warnings"));
  return valid ? 0 : 1;
}

}  // namespace sluice::cli
