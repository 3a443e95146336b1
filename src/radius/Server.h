#pragma once
// The RADIUS UDP listeners: one socket and thread for accounting (RFC 2866, port 1813) and one
// for dynamic authorization (RFC 5176, port 3799), both feeding one Dispatcher. The accounting
// thread also runs the session expiry once a second. Events reach the sink on these threads.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "radius/Dispatcher.h"

namespace sluice::radius {

struct ServerConfig {
  std::string bindAddress = "0.0.0.0";  ///< IPv4 or IPv6 literal
  uint16_t accountingPort = 1813;       ///< 0 picks an ephemeral port (tests)
  uint16_t coaPort = 3799;              ///< 0 picks an ephemeral port; RFC 5176 §3
  bool coaEnabled = true;
  DispatcherConfig dispatcher;
};

class Server {
 public:
  /// Binds both sockets and starts the threads. Errors: EINVAL for an unparsable bindAddress,
  /// the errno of socket()/bind() with context "radius bind <addr>:<port>".
  static Result<std::unique_ptr<Server>> start(const ServerConfig& config,
                                               std::vector<Client> clients,
                                               Dispatcher::EventSink sink);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Stops the threads and closes the sockets; idempotent.
  void stop();

  uint16_t accountingPort() const { return accountingPort_; }  ///< as bound
  uint16_t coaPort() const { return coaPort_; }                ///< as bound; 0 when disabled
  const Dispatcher& dispatcher() const { return *dispatcher_; }
  Dispatcher& dispatcher() { return *dispatcher_; }

 private:
  Server() = default;
  void loop(int fd, Role role);

  std::unique_ptr<Dispatcher> dispatcher_;
  int accountingFd_ = -1, coaFd_ = -1;
  uint16_t accountingPort_ = 0, coaPort_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accountingThread_, coaThread_;
};

}  // namespace sluice::radius
