#include "api/ControlClient.h"

#include <cerrno>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

#include <fmt/format.h>

#include "api/SocketFile.h"

namespace sluice::api {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = net::local::stream_protocol;

// Boost 1.74's Beast uses boost::string_view.
beast::string_view toBeast(std::string_view s) { return {s.data(), s.size()}; }

// What the exchange was doing when it failed, for the error's context.
enum class Stage { kConnect, kSend, kReceive };

Error exchangeError(beast::error_code ec, Stage stage, const std::string& socketPath,
                    std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return Error{ETIMEDOUT, fmt::format("request to sluiced on {}", socketPath),
                 fmt::format("no answer within {} ms", timeout.count())};
  }
  const char* what = stage == Stage::kConnect ? "connect to"
                     : stage == Stage::kSend  ? "send request to"
                                              : "read answer from";
  if (ec.category() != beast::system_category()) {
    return Error{EPROTO, fmt::format("{} sluiced on {}", what, socketPath), ec.message()};
  }
  if (stage == Stage::kConnect) {
    const int err = ec.value();
    std::string detail;
    if (err == ENOENT || err == ECONNREFUSED) {
      detail = "sluiced is not running";
    } else if (err == EACCES) {
      detail = "run as root or as a member of the socket's group";
    }
    return Error{err, fmt::format("connect to {}", socketPath), std::move(detail)};
  }
  return Error{ec.value(), fmt::format("{} sluiced on {}", what, socketPath)};
}

}  // namespace

Result<RawResponse> requestRaw(const std::string& socketPath, std::string_view method,
                               std::string_view target, const nlohmann::json* body,
                               std::chrono::milliseconds timeout) {
  const http::verb verb = http::string_to_verb(toBeast(method));
  if (verb == http::verb::unknown) {
    return makeError(EINVAL, fmt::format("HTTP method '{}'", method));
  }
  if (socketPath.size() > maxSocketPathLength()) {
    return makeError(ENAMETOOLONG, fmt::format("control socket path {}", socketPath),
                     fmt::format("at most {} bytes", maxSocketPathLength()));
  }

  http::request<http::string_body> req{verb, toBeast(target), 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "sluice");
  req.set(http::field::accept, "application/json");
  if (body != nullptr) {
    req.set(http::field::content_type, "application/json");
    req.body() = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  req.keep_alive(false);
  req.prepare_payload();

  net::io_context ioc(1);
  beast::basic_stream<Local> stream(ioc);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBodyBytes);
  beast::error_code failure;
  Stage stage = Stage::kConnect;

  // One deadline covers the whole exchange: expires_after applies to every pending operation.
  stream.expires_after(timeout);
  stream.async_connect(Local::endpoint(socketPath), [&](beast::error_code ec) {
    if (ec) {
      failure = ec;
      return;
    }
    stage = Stage::kSend;
    http::async_write(stream, req, [&](beast::error_code writeEc, std::size_t) {
      if (writeEc) {
        failure = writeEc;
        return;
      }
      stage = Stage::kReceive;
      http::async_read(stream, buffer, parser,
                       [&](beast::error_code readEc, std::size_t) { failure = readEc; });
    });
  });
  ioc.run();
  if (failure) {
    return std::unexpected(exchangeError(failure, stage, socketPath, timeout));
  }

  RawResponse raw;
  raw.status = static_cast<int>(parser.get().result_int());
  raw.body = std::move(parser.get().body());
  for (const auto& field : parser.get()) {
    std::string name(field.name_string());
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    raw.headers[name] = std::string(field.value());
  }
  raw.contentType = raw.headers["content-type"];
  return raw;
}

Result<Response> request(const std::string& socketPath, std::string_view method,
                         std::string_view target, const nlohmann::json* body,
                         std::chrono::milliseconds timeout) {
  auto raw = requestRaw(socketPath, method, target, body, timeout);
  if (!raw) {
    return std::unexpected(raw.error());
  }
  Response response;
  response.status = raw->status;
  if (!raw->body.empty()) {
    response.body = nlohmann::json::parse(raw->body, nullptr, /*allow_exceptions=*/false);
    if (response.body.is_discarded()) {
      return makeError(EPROTO, fmt::format("read answer from sluiced on {}", socketPath),
                       fmt::format("HTTP {} with a body that is not JSON", response.status));
    }
  }
  return response;
}

}  // namespace sluice::api
