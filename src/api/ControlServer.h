#pragma once
// The control API server: HTTP/1.1 with JSON bodies on a Unix stream socket, served by one
// background thread (Boost.Beast; kept out of this header so includers do not compile it).

#include <memory>
#include <string>

#include "api/ControlApi.h"
#include "api/Http.h"
#include "common/Error.h"

namespace sluice::api {

class ControlServer {
 public:
  /// Largest request body accepted (413 beyond it): live circuit changes and config text.
  static constexpr std::size_t kMaxRequestBodyBytes = 4 * 1024 * 1024;
  /// Largest request header block accepted (431 beyond it).
  static constexpr std::size_t kMaxRequestHeaderBytes = 16 * 1024;
  /// A connection that sends nothing for this long (idle keep-alive, or a stalled request) and a
  /// client that does not read its response within it are closed.
  static constexpr int kIdleTimeoutSeconds = 30;

  /// Listens on `socketPath` and serves the routes of ControlApi.h from a new thread.
  /// - Creates missing parent directories with mode 0755.
  /// - An existing file at the path must be a socket. If a server answers on it, start fails with
  ///   EADDRINUSE ("another sluiced is listening on <path>"); if connecting is refused, it is a
  ///   stale socket left by a dead process and is removed. Anything else there fails (EEXIST for
  ///   a non-socket, the connect errno otherwise).
  /// - The socket file gets mode 0660 before the server listens, so nobody connects through a
  ///   wider mode in between.
  /// Errors carry the errno and name the path (ENAMETOOLONG when it does not fit sun_path).
  /// `handler` must outlive the server; its calls are serialized on the server's thread, so a
  /// slow reload delays other requests until it returns.
  static Result<std::unique_ptr<ControlServer>> start(const std::string& socketPath,
                                                      ControlHandler& handler);

  /// Same, serving every request through `handler` (the operator API's routes, see
  /// docs/api.md); requests are marked trusted (HttpRequest::trusted): the socket's file mode is
  /// the authentication. No WebSocket on this socket.
  static Result<std::unique_ptr<ControlServer>> start(const std::string& socketPath,
                                                      RequestHandler& handler);

  /// Same as stop().
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Stops serving: waits for a handler call in progress, closes every connection, joins the
  /// thread and removes the socket file (only if it is still the one this server bound, so a
  /// successor's socket is left alone). Idempotent; cannot fail. Must not be called from inside
  /// a ControlHandler call (it would wait for itself).
  void stop();

  /// The path this server listens on.
  const std::string& socketPath() const;

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::api
