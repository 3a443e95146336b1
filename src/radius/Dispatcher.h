#pragma once
// One datagram in, one answer out: client lookup, authenticator checks, replay window, the
// session table, and the response packet. No sockets (Server owns those), so every drop rule is
// unit-tested. Thread-safe: handle() and the getters take one internal mutex; the event sink is
// called after the mutex is released, on the caller's thread.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "radius/Clients.h"
#include "radius/Sessions.h"

namespace sluice::radius {

enum class Role { Accounting, DynamicAuthorization };

struct DispatcherConfig {
  /// RFC 5176 §3.4: a CoA/Disconnect-Request whose Event-Timestamp is further than this from
  /// our clock is silently discarded (the RFC's suggested default is 300 s).
  int64_t eventTimestampWindowSec = 300;
  /// When set, a CoA/Disconnect-Request without Event-Timestamp is NAKed 402 Missing-Attribute.
  bool requireEventTimestamp = false;
  /// When set, requests without Message-Authenticator are dropped (RFC 3579 §3.2 attribute).
  bool requireMessageAuthenticator = false;
  DecodeOptions decode;
  SessionTableConfig sessions;
};

struct DispatcherCounters {
  uint64_t received = 0, unknownClient = 0, badAuthenticator = 0, malformed = 0, wrongCode = 0,
           replayDropped = 0, responses = 0;
};

class Dispatcher {
 public:
  using EventSink = std::function<void(const std::vector<SessionEvent>&)>;

  Dispatcher(DispatcherConfig config, std::vector<Client> clients, EventSink sink);

  /// Handles one datagram from `source` arriving on a listener of `role`. Returns the response
  /// to send back, or nullopt when the datagram is dropped (counted): unknown client, malformed,
  /// a code the role does not take, bad Request Authenticator or Message-Authenticator, or an
  /// Event-Timestamp outside the window. `nowSec` is monotonic (session TTLs), `unixNowSec` is
  /// wall-clock (Event-Timestamp).
  std::optional<std::vector<uint8_t>> handle(std::span<const uint8_t> datagram, const IpNet& source,
                                             Role role, int64_t nowSec, int64_t unixNowSec);

  /// Runs the session table's expiry and delivers its events.
  void expire(int64_t nowSec);

  DispatcherCounters counters() const;
  SessionCounters sessionCounters() const;
  std::vector<Session> sessions() const;

 private:
  std::optional<std::vector<uint8_t>> dynamicAuthorization(const Packet& req, const RequestInfo& info,
                                                           const Client& client, int64_t nowSec,
                                                           int64_t unixNowSec,
                                                           std::vector<SessionEvent>& events);

  DispatcherConfig config_;
  std::vector<Client> clients_;
  EventSink sink_;
  mutable std::mutex mutex_;
  SessionTable table_;
  DispatcherCounters counters_;
};

}  // namespace sluice::radius
