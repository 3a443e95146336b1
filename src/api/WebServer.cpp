#include "api/WebServer.h"

#include <fcntl.h>

#include <cerrno>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "api/BeastSession.h"

namespace sluice::api {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using Tcp = net::ip::tcp;

/// State-changing requests queued or running on the workers at most (then 503). The login rate
/// limiter runs in the handler, in front of argon2id but on the worker, so this bound is what
/// keeps a flood of logins from many addresses from queueing without end.
constexpr std::size_t kMaxOffloadedRequests = 64;

}  // namespace

Result<std::pair<std::string, uint16_t>> parseListenAddress(const std::string& listen) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    const size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return makeError(EINVAL, fmt::format("webserver_listen \"{}\": expected [address]:port",
                                           listen));
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos || listen.find(':') != colon) {
      return makeError(EINVAL, fmt::format("webserver_listen \"{}\": expected host:port", listen));
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  unsigned value = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      (value = static_cast<unsigned>(std::stoul(port))) > 65535) {
    return makeError(EINVAL, fmt::format("webserver_listen \"{}\": bad port \"{}\"", listen, port));
  }
  if (host.empty()) {
    host = "0.0.0.0";
  }
  return std::pair{host, static_cast<uint16_t>(value)};
}

struct WebServer::Impl {
  explicit Impl(RequestHandler& h, unsigned n, unsigned workers)
      : handler(h), ioc(std::make_unique<net::io_context>(static_cast<int>(n))), threadCount(n),
        offload(std::make_unique<detail::Offload>(workers, kMaxOffloadedRequests)) {
    acceptor.emplace(net::make_strand(*ioc));
    retryTimer.emplace(acceptor->get_executor());
  }

  Result<void> listen(const WebServerOptions& options) {
    auto parsed = parseListenAddress(options.listen);
    if (!parsed) {
      return std::unexpected(parsed.error());
    }
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(parsed->first, ec);
    if (ec) {
      return makeError(EINVAL, fmt::format("webserver_listen \"{}\": \"{}\" is not an IP address",
                                           options.listen, parsed->first));
    }
    const Tcp::endpoint endpoint(address, parsed->second);
    acceptor->open(endpoint.protocol(), ec);
    if (ec) {
      return makeError(ec.value(), fmt::format("socket for {}", options.listen));
    }
    detail::setCloseOnExec(acceptor->native_handle());
    acceptor->set_option(net::socket_base::reuse_address(true), ec);
    acceptor->bind(endpoint, ec);
    if (ec) {
      return makeError(ec.value(), fmt::format("bind {}", options.listen));
    }
    acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return makeError(ec.value(), fmt::format("listen on {}", options.listen));
    }
    port = acceptor->local_endpoint().port();
    if (!options.tlsCertificate.empty() || !options.tlsPrivateKey.empty()) {
      return loadTls(options);
    }
    return {};
  }

  Result<void> loadTls(const WebServerOptions& options) {
    if (options.tlsCertificate.empty() || options.tlsPrivateKey.empty()) {
      return makeError(EINVAL, "built-in TLS needs both tls_certificate and tls_private_key");
    }
    ssl.emplace(net::ssl::context::tls_server);
    ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ssl->use_certificate_chain_file(options.tlsCertificate, ec);
    if (ec) {
      return makeError(EINVAL, fmt::format("tls_certificate {}", options.tlsCertificate),
                       ec.message());
    }
    ssl->use_private_key_file(options.tlsPrivateKey, net::ssl::context::pem, ec);
    if (ec) {
      return makeError(EINVAL, fmt::format("tls_private_key {}", options.tlsPrivateKey),
                       ec.message());
    }
    return {};
  }

  void accept() {
    acceptLoop.emplace(
        *acceptor, *retryTimer, [this] { return net::any_io_executor(net::make_strand(*ioc)); },
        [this](Tcp::socket socket) { serve(std::move(socket)); });
    acceptLoop->start();
  }

  void serve(Tcp::socket socket) {
    beast::error_code peerEc;
    const auto remote = socket.remote_endpoint(peerEc);
    std::string peer = peerEc ? "unknown" : remote.address().to_string();
    socket.set_option(Tcp::no_delay(true), peerEc);
    detail::SessionLimits limits;
    limits.maxBodyBytes = kMaxRequestBodyBytes;
    limits.maxHeaderBytes = kMaxRequestHeaderBytes;
    limits.idleTimeout = std::chrono::seconds(kIdleTimeoutSeconds);
    limits.webSocket = true;
    limits.offload = offload.get();
    if (ssl) {
      limits.tls = true;
      using TlsStream = beast::ssl_stream<beast::tcp_stream>;
      std::make_shared<detail::HttpSession<TlsStream>>(TlsStream(std::move(socket), *ssl),
                                                       handler, limits, std::move(peer))
          ->start();
    } else {
      std::make_shared<detail::HttpSession<beast::tcp_stream>>(
          beast::tcp_stream(std::move(socket)), handler, limits, std::move(peer))
          ->start();
    }
  }

  void stop() {
    if (!ioc) {
      return;
    }
    ioc->stop();
    for (std::thread& t : threads) {
      if (t.joinable()) {
        t.join();
      }
    }
    // Handler calls in progress finish (their answers are dropped with the io_context).
    offload->pool.join();
    acceptLoop.reset();
    retryTimer.reset();
    acceptor.reset();
    ioc.reset();
  }

  RequestHandler& handler;
  std::unique_ptr<net::io_context> ioc;
  unsigned threadCount;
  std::optional<net::ssl::context> ssl;
  std::optional<Tcp::acceptor> acceptor;
  std::optional<net::steady_timer> retryTimer;
  std::optional<detail::AcceptLoop<Tcp::acceptor>> acceptLoop;
  std::vector<std::thread> threads;
  std::unique_ptr<detail::Offload> offload;  ///< state-changing requests (login's argon2id)
  uint16_t port = 0;
};

Result<std::unique_ptr<WebServer>> WebServer::start(const WebServerOptions& options,
                                                    RequestHandler& handler) {
  auto impl = std::make_unique<Impl>(handler, std::max(1U, options.threads),
                                     std::max(1U, options.workerThreads));
  if (Result<void> r = impl->listen(options); !r) {
    return std::unexpected(r.error());
  }
  impl->accept();
  Impl* raw = impl.get();
  for (unsigned i = 0; i < raw->threadCount; ++i) {
    raw->threads.emplace_back([raw] { raw->ioc->run(); });
  }
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebServer::~WebServer() { stop(); }

void WebServer::stop() { impl_->stop(); }

uint16_t WebServer::port() const { return impl_->port; }

bool WebServer::tls() const { return impl_->ssl.has_value(); }

}  // namespace sluice::api
