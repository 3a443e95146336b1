#pragma once
// The operator API's TCP listener ([sluice] webserver_listen): HTTP/1.1 (optionally HTTPS with
// built-in TLS) and WebSocket /api/ws, served by a small thread pool (Boost.Beast; kept out of
// this header). Authentication is the RequestHandler's business (api/OperatorApi.h).

#include <cstdint>
#include <memory>
#include <string>

#include "api/Http.h"
#include "common/Error.h"

namespace sluice::api {

struct WebServerOptions {
  std::string listen = "127.0.0.1:9123";  ///< "host:port", "[v6addr]:port"; port 0 = any
  std::string tlsCertificate;             ///< PEM chain; with tlsPrivateKey: HTTPS only
  std::string tlsPrivateKey;              ///< PEM key
  unsigned threads = 2;                   ///< io threads (GET/HEAD handler calls run on them)
  /// Worker threads for state-changing requests (POST/PUT/PATCH/DELETE: login's argon2id, live
  /// changes and their reload), so those never hold an I/O thread; at most 64 such requests are
  /// queued or running, further ones get 503 with Retry-After: 1.
  unsigned workerThreads = 2;
};

class WebServer {
 public:
  static constexpr std::size_t kMaxRequestBodyBytes = 4 * 1024 * 1024;
  static constexpr std::size_t kMaxRequestHeaderBytes = 16 * 1024;
  static constexpr int kIdleTimeoutSeconds = 30;

  /// Binds and listens on `options.listen` and serves `handler` from `options.threads` threads.
  /// Errors: EINVAL for a listen address that is not "host:port" (the message quotes it), the
  /// errno of bind/listen (EADDRINUSE: something already listens there), and for TLS the file
  /// named in the message when the certificate or key cannot be loaded (EINVAL, with OpenSSL's
  /// reason as detail). `handler` must outlive the server.
  static Result<std::unique_ptr<WebServer>> start(const WebServerOptions& options,
                                                  RequestHandler& handler);

  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /// Stops: closes the listener and every connection (WebSockets included), joins the threads.
  /// Idempotent. Must not be called from inside a handler call.
  void stop();

  /// The bound port (useful with port 0).
  uint16_t port() const;
  /// True when serving HTTPS.
  bool tls() const;

 private:
  struct Impl;
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Parses "host:port" / "[v6]:port" into its parts. Errors: EINVAL naming `listen`.
Result<std::pair<std::string, uint16_t>> parseListenAddress(const std::string& listen);

}  // namespace sluice::api
