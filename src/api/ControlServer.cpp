#include "api/ControlServer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "api/Router.h"
#include "api/SocketFile.h"

namespace sluice::api {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = net::local::stream_protocol;
using Stream = beast::basic_stream<Local>;

constexpr auto kIdleTimeout = std::chrono::seconds(ControlServer::kIdleTimeoutSeconds);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

// Boost 1.74's Beast uses boost::string_view.
std::string_view toStd(beast::string_view s) { return {s.data(), s.size()}; }

void setCloseOnExec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

// One connection: reads requests one at a time (keep-alive), answers each, closes on a protocol
// error, on `Connection: close`, or after kIdleTimeout without progress.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Local::socket socket, ControlHandler& handler)
      : stream_(std::move(socket)), handler_(handler) {}

  void readRequest() {
    parser_.emplace();
    parser_->body_limit(ControlServer::kMaxRequestBodyBytes);
    parser_->header_limit(static_cast<std::uint32_t>(ControlServer::kMaxRequestHeaderBytes));
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->onRead(ec);
                     });
  }

 private:
  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) {
      closeConnection();
      return;
    }
    if (ec == http::error::body_limit) {
      sendError(413, fmt::format("request body larger than {} bytes",
                                 ControlServer::kMaxRequestBodyBytes));
      return;
    }
    if (ec == http::error::header_limit) {
      sendError(431, fmt::format("request header larger than {} bytes",
                                 ControlServer::kMaxRequestHeaderBytes));
      return;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category()) {
      sendError(400, fmt::format("malformed HTTP request: {}", ec.message()));
      return;
    }
    if (ec) {
      return;  // timeout or socket error: the stream is closed when this session is released
    }
    const http::request<http::string_body>& req = parser_->get();
    RoutedResponse routed = route(toStd(req.method_string()), toStd(req.target()), handler_);
    send(std::move(routed), req.version(), req.keep_alive());
  }

  void sendError(int status, std::string message) {
    send({Response{status, nlohmann::json{{"error", std::move(message)}}}, {}}, 11, false);
  }

  void send(RoutedResponse routed, unsigned version, bool keepAlive) {
    Response& r = routed.response;
    // 1xx would need a second, final answer; anything outside 100-599 is not HTTP.
    if (r.status < 200 || r.status > 599) {
      r = Response{500, {{"error", fmt::format("handler answered HTTP status {}", r.status)}}};
    }
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::server, "sluiced");
    response_.set(http::field::content_type, "application/json");
    if (!routed.allow.empty()) {
      response_.set(http::field::allow, routed.allow);
    }
    // Replace invalid UTF-8 (e.g. from a broken input file quoted in an error) rather than throw.
    // 204 and 304 carry no body by definition (Beast refuses to frame one).
    if (r.status != 204 && r.status != 304) {
      response_.body() = r.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    response_.keep_alive(keepAlive);
    response_.prepare_payload();
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keepAlive](beast::error_code ec, std::size_t) {
                        if (ec) {
                          return;
                        }
                        if (keepAlive) {
                          self->readRequest();
                        } else {
                          self->closeConnection();
                        }
                      });
  }

  void closeConnection() {
    beast::error_code ignored;
    stream_.socket().shutdown(Local::socket::shutdown_send, ignored);
  }

  Stream stream_;
  ControlHandler& handler_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

struct ControlServer::Impl {
  Impl(std::string path, ControlHandler& h)
      : socketPath(std::move(path)), handler(h), ioc(std::make_unique<net::io_context>(1)) {
    acceptor.emplace(*ioc);
    retryTimer.emplace(*ioc);
  }

  Result<void> listen() {
    beast::error_code ec;
    acceptor->open(Local(), ec);
    if (ec) {
      return makeError(ec.value(), "socket(AF_UNIX) for the control API");
    }
    setCloseOnExec(acceptor->native_handle());
    acceptor->bind(Local::endpoint(socketPath), ec);
    if (ec) {
      return makeError(ec.value(), fmt::format("bind control socket {}", socketPath));
    }
    // chmod before listen(): until then connects are refused, so the umask's mode never serves.
    if (::chmod(socketPath.c_str(), 0660) != 0) {
      const int err = errno;
      ::unlink(socketPath.c_str());
      return makeError(err, fmt::format("chmod 0660 {}", socketPath));
    }
    Result<FileIdentity> id = fileIdentity(socketPath);
    if (!id) {
      ::unlink(socketPath.c_str());
      return std::unexpected(id.error());
    }
    identity = *id;
    acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      removeIfSame(socketPath, identity);
      return makeError(ec.value(), fmt::format("listen on control socket {}", socketPath));
    }
    return {};
  }

  void accept() {
    acceptor->async_accept([this](beast::error_code ec, Local::socket socket) {
      if (ec == net::error::operation_aborted) {
        return;
      }
      if (ec) {
        // EMFILE and friends: retry later instead of spinning; the listener must survive.
        retryTimer->expires_after(kAcceptRetryDelay);
        retryTimer->async_wait([this](beast::error_code waitEc) {
          if (!waitEc) {
            accept();
          }
        });
        return;
      }
      setCloseOnExec(socket.native_handle());
      std::make_shared<Session>(std::move(socket), handler)->readRequest();
      accept();
    });
  }

  void stop() {
    if (!ioc) {
      return;
    }
    ioc->stop();
    if (thread.joinable()) {
      thread.join();
    }
    // Destroying the io_context destroys the pending handlers and with them every session,
    // closing its connection; the acceptor and timer must go first.
    retryTimer.reset();
    acceptor.reset();
    ioc.reset();
    removeIfSame(socketPath, identity);
  }

  std::string socketPath;
  ControlHandler& handler;
  std::unique_ptr<net::io_context> ioc;
  std::optional<Local::acceptor> acceptor;
  std::optional<net::steady_timer> retryTimer;
  FileIdentity identity;
  std::thread thread;
};

Result<std::unique_ptr<ControlServer>> ControlServer::start(const std::string& socketPath,
                                                            ControlHandler& handler) {
  // Probe first: it also rejects a path too long for sun_path before any directory is made.
  if (Result<void> r = clearStaleSocket(socketPath); !r) {
    return std::unexpected(r.error());
  }
  if (Result<void> r = createParentDirectories(socketPath); !r) {
    return std::unexpected(r.error());
  }
  auto impl = std::make_unique<Impl>(socketPath, handler);
  if (Result<void> r = impl->listen(); !r) {
    return std::unexpected(r.error());
  }
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc->run(); });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() { impl_->stop(); }

const std::string& ControlServer::socketPath() const { return impl_->socketPath; }

}  // namespace sluice::api
