#pragma once
// The control API client: one synchronous HTTP/1.1 request over the Unix socket of sluiced, used
// by the `sluice` CLI (status, reload, check) and the lab.

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/ControlApi.h"
#include "common/Error.h"

namespace sluice::api {

/// Largest response body accepted from the server.
inline constexpr std::size_t kMaxResponseBodyBytes = 64 * 1024 * 1024;

/// Sends `method` `target` (e.g. "GET", "/api/status") to the server on `socketPath`, with
/// `body` as JSON when given, and returns the status code and the parsed JSON body (null when the
/// body is empty). Every HTTP status is a successful Result: callers decide what 4xx/5xx mean.
/// Errors:
/// - ENOENT / ECONNREFUSED: nobody listens there; the message names the path and says that
///   sluiced is not running. EACCES: the message says the socket's group or root is needed.
/// - ETIMEDOUT: the whole exchange took longer than `timeout`.
/// - EINVAL: `method` is not an HTTP method. ENAMETOOLONG: the path does not fit sun_path.
/// - EPROTO: the answer is not HTTP, is larger than kMaxResponseBodyBytes, or its body is not
///   JSON. Other errnos come from the socket.
Result<Response> request(const std::string& socketPath, std::string_view method,
                         std::string_view target, const nlohmann::json* body = nullptr,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// An answer whose body is kept as bytes (e.g. a pcap file of GET /api/capture/{id}).
struct RawResponse {
  int status = 200;
  std::string contentType;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
};

/// As request(), but the body is returned as sent, whatever its type (no JSON parsing).
/// Errors: as request(), except EPROTO is only for a non-HTTP or oversized answer.
Result<RawResponse> requestRaw(const std::string& socketPath, std::string_view method,
                               std::string_view target, const nlohmann::json* body = nullptr,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace sluice::api
