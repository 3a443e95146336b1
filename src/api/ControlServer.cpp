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
#include <fmt/format.h>

#include "api/BeastSession.h"
#include "api/Router.h"
#include "api/SocketFile.h"

namespace sluice::api {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = net::local::stream_protocol;
using Stream = beast::basic_stream<Local>;

// Serves the fixed routes of ControlApi.h (Router.h) through the generic session.
class ControlHandlerAdapter final : public RequestHandler {
 public:
  explicit ControlHandlerAdapter(ControlHandler& handler) : handler_(handler) {}
  HttpResponse handle(const HttpRequest& request) override {
    RoutedResponse routed = route(request.method, request.target, handler_);
    HttpResponse r = HttpResponse::json(routed.response.status, routed.response.body);
    if (!routed.allow.empty()) {
      r.headers.emplace_back("Allow", routed.allow);
    }
    return r;
  }

 private:
  ControlHandler& handler_;
};

}  // namespace

struct ControlServer::Impl {
  Impl(std::string path, RequestHandler& h)
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
    detail::setCloseOnExec(acceptor->native_handle());
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
    acceptLoop.emplace(
        *acceptor, *retryTimer, [this] { return net::any_io_executor(ioc->get_executor()); },
        [this](Local::socket socket) {
          detail::SessionLimits limits;
          limits.maxBodyBytes = kMaxRequestBodyBytes;
          limits.maxHeaderBytes = kMaxRequestHeaderBytes;
          limits.idleTimeout = std::chrono::seconds(kIdleTimeoutSeconds);
          limits.trusted = true;
          std::make_shared<detail::HttpSession<Stream>>(Stream(std::move(socket)), handler,
                                                        limits, "unix")
              ->start();
        });
    acceptLoop->start();
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
    acceptLoop.reset();
    retryTimer.reset();
    acceptor.reset();
    ioc.reset();
    removeIfSame(socketPath, identity);
  }

  std::string socketPath;
  RequestHandler& handler;
  std::unique_ptr<RequestHandler> adapter;  ///< owns the ControlHandler adapter, if any
  std::unique_ptr<net::io_context> ioc;
  std::optional<Local::acceptor> acceptor;
  std::optional<net::steady_timer> retryTimer;
  std::optional<detail::AcceptLoop<Local::acceptor>> acceptLoop;
  FileIdentity identity;
  std::thread thread;
};

Result<std::unique_ptr<ControlServer>> ControlServer::start(const std::string& socketPath,
                                                            ControlHandler& handler) {
  auto adapter = std::make_unique<ControlHandlerAdapter>(handler);
  RequestHandler& ref = *adapter;
  auto server = start(socketPath, ref);
  if (server) {
    (*server)->impl_->adapter = std::move(adapter);
  }
  return server;
}

Result<std::unique_ptr<ControlServer>> ControlServer::start(const std::string& socketPath,
                                                            RequestHandler& handler) {
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
