#pragma once
// Internal to src/api (included by ControlServer.cpp and WebServer.cpp only; it pulls in Beast):
// one HTTP/1.1 connection over any Beast stream (Unix socket, TCP, TLS), keep-alive, limits and
// timeouts, handing each request to a RequestHandler; and the WebSocket session of /api/ws that
// pushes the subscribed channels every second.

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <fcntl.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/Http.h"

namespace sluice::api::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

/// Worker threads for requests that may take long in the handler (argon2id in POST /api/login,
/// a reload behind a live change): the I/O threads only read and write, so GETs on other
/// connections are never queued behind them. At most `maxPending` such requests are queued or
/// running; beyond that the server answers 503 with Retry-After at once.
struct Offload {
  Offload(std::size_t threads, std::size_t maxPendingRequests)
      : pool(threads), maxPending(maxPendingRequests) {}
  net::thread_pool pool;
  std::atomic<std::size_t> pending{0};
  const std::size_t maxPending;

  /// The requests that go to the workers: every state-changing method (login included).
  static bool wants(const HttpRequest& r) {
    return r.method == "POST" || r.method == "PUT" || r.method == "PATCH" ||
           r.method == "DELETE";
  }
};

struct SessionLimits {
  std::size_t maxBodyBytes = 64 * 1024;
  std::size_t maxHeaderBytes = 16 * 1024;
  std::chrono::seconds idleTimeout{30};
  bool webSocket = false;  ///< upgrades of /api/ws are offered to the handler
  bool trusted = false;    ///< requests are marked trusted (control socket)
  bool tls = false;
  Offload* offload = nullptr;  ///< null: every request is answered on the I/O thread
};

template <class T>
struct IsTls : std::false_type {};
template <class Next>
struct IsTls<beast::ssl_stream<Next>> : std::true_type {};

inline std::string toStd(beast::string_view s) { return {s.data(), s.size()}; }

/// Builds the transport-free request from a parsed Beast request.
template <class Body>
HttpRequest toHttpRequest(const http::request<Body>& req, std::string peer,
                          const SessionLimits& limits) {
  HttpRequest out;
  out.method = toStd(req.method_string());
  out.target = toStd(req.target());
  splitTarget(out.target, out.path, out.query);
  for (const auto& field : req) {
    std::string name = toStd(field.name_string());
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.headers[std::move(name)] = toStd(field.value());
  }
  out.body = req.body();
  out.peer = std::move(peer);
  out.trusted = limits.trusted;
  out.tls = limits.tls;
  return out;
}

/// Calls the handler, turning an escaping exception into 500 and an out-of-range status into 500.
inline HttpResponse callHandler(RequestHandler& handler, const HttpRequest& req) {
  HttpResponse r;
  try {
    r = handler.handle(req);
  } catch (const std::exception& e) {
    r = HttpResponse::error(500, fmt::format("{} {} failed: {}", req.method, req.path, e.what()));
  } catch (...) {
    r = HttpResponse::error(500, fmt::format("{} {} failed", req.method, req.path));
  }
  if (r.status < 200 || r.status > 599) {
    r = HttpResponse::error(500, fmt::format("handler answered HTTP status {}", r.status));
  }
  return r;
}

inline void setCloseOnExec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

/// The accept loop of both listeners (Unix socket and TCP): accepts until the acceptor is closed
/// or its io_context stops, hands each connection to `onSocket`, and after an accept error
/// (EMFILE and friends) retries after kRetryDelay instead of spinning: the listener must survive.
/// `socketExecutor` gives the executor of each new connection (a strand per connection on a
/// multi-threaded io_context). The acceptor and timer must outlive the loop; stop by stopping the
/// io_context.
template <class Acceptor>
class AcceptLoop {
 public:
  using Socket = typename Acceptor::protocol_type::socket;
  static constexpr auto kRetryDelay = std::chrono::milliseconds(100);

  AcceptLoop(Acceptor& acceptor, net::steady_timer& retryTimer,
             std::function<net::any_io_executor()> socketExecutor,
             std::function<void(Socket)> onSocket)
      : acceptor_(acceptor), retryTimer_(retryTimer),
        socketExecutor_(std::move(socketExecutor)), onSocket_(std::move(onSocket)) {}

  void start() {
    acceptor_.async_accept(socketExecutor_(), [this](beast::error_code ec, Socket socket) {
      if (ec == net::error::operation_aborted) {
        return;
      }
      if (ec) {
        retryTimer_.expires_after(kRetryDelay);
        retryTimer_.async_wait([this](beast::error_code waitEc) {
          if (!waitEc) {
            start();
          }
        });
        return;
      }
      setCloseOnExec(socket.native_handle());
      onSocket_(std::move(socket));
      start();
    });
  }

 private:
  Acceptor& acceptor_;
  net::steady_timer& retryTimer_;
  std::function<net::any_io_executor()> socketExecutor_;
  std::function<void(Socket)> onSocket_;
};

/// Half-closes the connection (for TLS without close_notify: that would need an async round trip
/// and the client already has its whole response).
template <class Stream>
void shutdownStream(Stream& stream) {
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(net::socket_base::shutdown_send, ignored);
}


/// The WebSocket session of /api/ws: reads subscription messages, pushes every second.
template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  static constexpr std::size_t kMaxMessageBytes = 64 * 1024;
  static constexpr std::size_t kMaxQueuedMessages = 256;  ///< a client that does not read is dropped

  WsSession(Stream stream, RequestHandler& handler, HttpRequest upgrade)
      : ws_(std::move(stream)), timer_(ws_.get_executor()), handler_(handler),
        upgrade_(std::move(upgrade)) {}

  template <class Body>
  void run(http::request<Body> req) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(kMaxMessageBytes);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "sluiced");
    }));
    ws_.async_accept(req, [self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->read();
        self->tick();
      }
    });
  }

 private:
  void read() {
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->closed_ = true;
        self->timer_.cancel();
        return;
      }
      self->onMessage(beast::buffers_to_string(self->in_.data()));
      self->in_.consume(self->in_.size());
      self->read();
    });
  }

  void onMessage(const std::string& text) {
    nlohmann::json msg = nlohmann::json::parse(text, nullptr, false);
    if (!msg.is_object() || !msg.contains("subscribe") || !msg["subscribe"].is_array()) {
      queue(nlohmann::json{{"error", "expected {\"subscribe\": [channel, ...]}"}}.dump());
      return;
    }
    channels_.clear();
    for (const auto& c : msg["subscribe"]) {
      if (c.is_string()) {
        channels_.insert(c.get<std::string>());
      }
    }
    push();  // the first values at once, not a second later
  }

  void tick() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) {
        return;
      }
      self->push();
      self->tick();
    });
  }

  void push() {
    for (const std::string& channel : channels_) {
      auto [ok, data] = handler_.channelData(upgrade_, channel);
      const std::string name = nlohmann::json(channel).dump();
      queue(ok ? fmt::format("{{\"channel\":{},\"data\":{}}}", name, data)
               : fmt::format("{{\"channel\":{},\"error\":{}}}", name,
                             nlohmann::json(data).dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)));
    }
  }

  void queue(std::string message) {
    if (outbox_.size() >= kMaxQueuedMessages) {
      closed_ = true;
      beast::get_lowest_layer(ws_).close();
      return;
    }
    outbox_.push_back(std::move(message));
    if (outbox_.size() == 1) {
      write();
    }
  }

  void write() {
    ws_.text(true);
    ws_.async_write(net::buffer(outbox_.front()),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec) {
                        self->closed_ = true;
                        self->timer_.cancel();
                        return;
                      }
                      self->outbox_.pop_front();
                      if (!self->outbox_.empty()) {
                        self->write();
                      }
                    });
  }

  websocket::stream<Stream> ws_;
  net::steady_timer timer_;
  RequestHandler& handler_;
  HttpRequest upgrade_;
  beast::flat_buffer in_;
  std::set<std::string> channels_;
  std::deque<std::string> outbox_;
  bool closed_ = false;
};

/// One HTTP connection: reads requests one at a time (keep-alive), answers each, closes on a
/// protocol error, on `Connection: close`, or after the idle timeout without progress.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream stream, RequestHandler& handler, SessionLimits limits, std::string peer)
      : stream_(std::move(stream)), handler_(handler), limits_(limits), peer_(std::move(peer)) {}

  /// Starts reading (after the TLS handshake for TLS streams).
  void start() {
    if constexpr (IsTls<Stream>::value) {
      beast::get_lowest_layer(stream_).expires_after(limits_.idleTimeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) {
                                  self->readRequest();
                                }
                              });
    } else {
      readRequest();
    }
  }

 private:
  void readRequest() {
    parser_.emplace();
    parser_->body_limit(limits_.maxBodyBytes);
    parser_->header_limit(static_cast<std::uint32_t>(limits_.maxHeaderBytes));
    beast::get_lowest_layer(stream_).expires_after(limits_.idleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->onRead(ec);
                     });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) {
      shutdownStream(stream_);
      return;
    }
    if (ec == http::error::body_limit) {
      sendError(413, fmt::format("request body larger than {} bytes", limits_.maxBodyBytes));
      return;
    }
    if (ec == http::error::header_limit) {
      sendError(431, fmt::format("request header larger than {} bytes", limits_.maxHeaderBytes));
      return;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category()) {
      sendError(400, fmt::format("malformed HTTP request: {}", ec.message()));
      return;
    }
    if (ec) {
      return;  // timeout or socket error: the stream is closed when this session is released
    }
    http::request<http::string_body> req = parser_->release();
    HttpRequest request = toHttpRequest(req, peer_, limits_);
    if (websocket::is_upgrade(req)) {
      if (limits_.webSocket && request.path == "/api/ws") {
        std::optional<HttpResponse> refusal = handler_.admitWebSocket(request);
        if (!refusal) {
          std::make_shared<WsSession<Stream>>(std::move(stream_), handler_, std::move(request))
              ->run(std::move(req));
          return;
        }
        send(std::move(*refusal), req.version(), false);
        return;
      }
    }
    const bool head = req.method() == http::verb::head;
    if (limits_.offload && Offload::wants(request)) {
      offload(std::move(request), req.version(), req.keep_alive());
      return;
    }
    send(callHandler(handler_, request), req.version(), req.keep_alive(), head);
  }

  /// Runs the handler on a worker and sends its answer from this connection's executor.
  void offload(HttpRequest request, unsigned version, bool keepAlive) {
    Offload& o = *limits_.offload;
    if (o.pending.fetch_add(1) >= o.maxPending) {
      o.pending.fetch_sub(1);
      HttpResponse busy = HttpResponse::error(503, "too many requests in progress; retry");
      busy.headers.emplace_back("Retry-After", "1");
      send(std::move(busy), version, keepAlive);
      return;
    }
    net::post(o.pool, [self = this->shared_from_this(), request = std::move(request), version,
                       keepAlive]() mutable {
      HttpResponse r = callHandler(self->handler_, request);
      self->limits_.offload->pending.fetch_sub(1);
      auto executor = self->stream_.get_executor();
      net::post(executor, [self = std::move(self), r = std::move(r), version, keepAlive]() mutable {
        self->send(std::move(r), version, keepAlive);
      });
    });
  }

  void sendError(int status, std::string message) {
    send(HttpResponse::error(status, std::move(message)), 11, false);
  }

  /// `head`: answer a HEAD request (the headers of the GET answer, no body).
  void send(HttpResponse r, unsigned version, bool keepAlive, bool head = false) {
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::server, "sluiced");
    response_.set(http::field::content_type, r.contentType);
    for (auto& [name, value] : r.headers) {
      response_.insert(name, value);
    }
    // 204 and 304 carry no body by definition (Beast refuses to frame one).
    if (r.status != 204 && r.status != 304) {
      response_.body() = std::move(r.body);
    }
    response_.keep_alive(keepAlive);
    response_.prepare_payload();
    if (head) {
      const auto length = response_.body().size();
      response_.body().clear();
      response_.content_length(length);
    }
    beast::get_lowest_layer(stream_).expires_after(limits_.idleTimeout);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this(), keepAlive](beast::error_code ec,
                                                                   std::size_t) {
                        if (ec) {
                          return;
                        }
                        if (keepAlive) {
                          self->readRequest();
                        } else {
                          shutdownStream(self->stream_);
                        }
                      });
  }

  Stream stream_;
  RequestHandler& handler_;
  SessionLimits limits_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

}  // namespace sluice::api::detail
