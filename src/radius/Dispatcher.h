#pragma once
// One datagram in, one answer out: client lookup, authenticator checks, replay window, the
// session table, and the response packet. No sockets (Server owns those), so every drop rule is
// unit-tested. Thread-safe: handle() and the getters take one internal mutex; the event sink is
// called after the mutex is released, on the caller's thread.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
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
  /// RFC 5080 §2.2.2 duplicate detection: a request with the same source address and port,
  /// code, Identifier and Request Authenticator seen within this many seconds is answered with
  /// the cached response and not applied again (a Disconnect retransmitted after a lost ACK gets
  /// its ACK, not a NAK 503). 0 disables the cache.
  int64_t duplicateWindowSec = 30;
  DecodeOptions decode;
  SessionTableConfig sessions;
};

struct DispatcherCounters {
  uint64_t received = 0, unknownClient = 0, badAuthenticator = 0, malformed = 0, wrongCode = 0,
           replayDropped = 0, duplicates = 0, responses = 0;
};

class Dispatcher {
 public:
  using EventSink = std::function<void(const std::vector<SessionEvent>&)>;

  Dispatcher(DispatcherConfig config, std::vector<Client> clients, EventSink sink);

  /// Handles one datagram from `source` arriving on a listener of `role`. Returns the response
  /// to send back, or nullopt when the datagram is dropped (counted): unknown client, malformed,
  /// a code the role does not take, bad Request Authenticator or Message-Authenticator, or an
  /// Event-Timestamp outside the window. `nowSec` is monotonic (session TTLs, duplicate cache),
  /// `unixNowSec` is wall-clock (Event-Timestamp). `sourcePort` only keys the duplicate cache.
  std::optional<std::vector<uint8_t>> handle(std::span<const uint8_t> datagram, const IpNet& source,
                                             Role role, int64_t nowSec, int64_t unixNowSec,
                                             uint16_t sourcePort = 0);

  /// Runs the session table's expiry (delivering its events) and prunes the duplicate cache.
  void expire(int64_t nowSec);

  /// Puts back sessions saved before a restart (SessionTable::restore); no events.
  void restore(std::vector<Session> sessions);

  DispatcherCounters counters() const;
  SessionCounters sessionCounters() const;
  std::vector<Session> sessions() const;

 private:
  std::optional<std::vector<uint8_t>> dynamicAuthorization(const Packet& req,
                                                           const RequestInfo& info,
                                                           const Client& client, int64_t nowSec,
                                                           int64_t unixNowSec,
                                                           std::vector<SessionEvent>& events);

  DispatcherConfig config_;
  std::vector<Client> clients_;
  EventSink sink_;
  mutable std::mutex mutex_;
  SessionTable table_;
  DispatcherCounters counters_;
  struct CachedAnswer {
    std::vector<uint8_t> bytes;
    int64_t expiresSec = 0;
  };
  /// Key: source address, port, code, Identifier, Request Authenticator (RFC 5080 §2.2.2).
  std::map<std::string, CachedAnswer> answered_;
  /// Bad-authenticator warnings: at most one per client per this many seconds.
  static constexpr int64_t kBadAuthLogSec = 10;
  /// Client name -> (second of the last warning, drops not logged since).
  std::map<std::string, std::pair<int64_t, uint64_t>> badAuthLog_;
};

}  // namespace sluice::radius
