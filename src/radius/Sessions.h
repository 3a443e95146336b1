#pragma once
// The RADIUS session table: accounting creates, refreshes and removes subscriber sessions
// (RFC 2866), CoA-Request changes their rates and Disconnect-Request removes them (RFC 5176).
// Each active session with addresses and rates is a dynamic circuit candidate; the table knows
// nothing of the bakery, sockets or clocks: time comes in as `nowSec` (any monotonic seconds)
// and decisions go out as events for the caller to apply. Not thread-safe: one owner, or a lock.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "radius/Attributes.h"

namespace sluice::radius {

/// Why a session cannot become a circuit yet. Nothing is guessed to fill the gap.
enum class Pending { None, MissingSessionId, MissingNasIdentity, MissingAddress, MissingRate };
const char* pendingName(Pending p);

enum class SessionState { Active, Stale };

struct Session {
  std::string nas;  ///< NAS identity (RequestInfo::nasIdentity)
  /// The NAS attributes the accounting carried, to match a CoA that names the NAS differently.
  std::optional<std::string> nasIdentifier;
  std::optional<IpNet> nasIpAddress, nasIpv6Address;
  std::string acctSessionId;
  std::string circuitId;  ///< "radius:<nas>:<acct-session-id>"
  std::optional<std::string> userName, callingStationId, nasPortId;
  std::vector<IpNet> addresses;
  std::optional<Rates> rates;
  Pending pending = Pending::None;
  std::string pendingDetail;  ///< problems the packet carried, when pending
  SessionState state = SessionState::Active;
  int64_t startedSec = 0, lastUpdateSec = 0, staleSinceSec = 0;
};

enum class EventKind { Created, Updated, RatesChanged, Removed, MarkedStale, Refused };

/// What changed; `session` is the state after the change (before removal for Removed).
struct SessionEvent {
  EventKind kind;
  Session session;
  std::string reason;  ///< "Stop", "Disconnect-Request", "ttl", "Accounting-Off", ...
};

/// RFC 5176 §3.5 Error-Cause values used in NAKs.
enum class ErrorCause : uint32_t {
  UnsupportedAttribute = 401,
  MissingAttribute = 402,
  NasIdentificationMismatch = 403,
  InvalidRequest = 404,
  InvalidAttributeValue = 407,
  SessionContextNotFound = 503,
  MultipleSessionSelectionUnsupported = 508,
};

struct DynAuthResult {
  bool ack = false;
  std::optional<ErrorCause> errorCause;  ///< set when !ack
  std::vector<SessionEvent> events;
};

struct SessionCounters {
  uint64_t starts = 0, interims = 0, stops = 0, stopsWithoutStart = 0, duplicateStarts = 0,
           accountingOn = 0, accountingOff = 0, refused = 0, expired = 0, coaAck = 0, coaNak = 0,
           disconnectAck = 0, disconnectNak = 0;
};

struct SessionTableConfig {
  int64_t ttlSec = 900;         ///< a session without accounting for this long is removed
  int64_t staleGraceSec = 120;  ///< a session marked stale by Accounting-On/Off is removed after
};

class SessionTable {
 public:
  explicit SessionTable(SessionTableConfig config = {}) : config_(config) {}

  /// Applies one decoded Accounting-Request. Start creates (a repeated Start for the same key
  /// updates instead and counts a duplicate), Interim-Update refreshes (and creates a session it
  /// has not seen, since the Start may have been lost), Stop removes (a Stop for an unknown session
  /// is counted and ignored), Accounting-On/Off mark every session of that NAS stale. A request
  /// without Acct-Session-Id or NAS identity is Refused (event with the reason) and not stored.
  std::vector<SessionEvent> applyAccounting(const RequestInfo& req, int64_t nowSec);

  /// CoA-Request (RFC 5176 §3): selects one session (see select()) and sets its rates from the
  /// request; ACK with a RatesChanged event (or none when the rates were already those). NAK:
  /// 503 no session, 508 several, 403 another NAS's session, 402 no rate attribute, 407 unreadable
  /// rate, 401 an attribute we do not act on (Filter-Id, Session-Timeout, ...).
  DynAuthResult applyCoa(const Packet& packet, const RequestInfo& req, int64_t nowSec);

  /// Disconnect-Request: selects one session and removes it (ACK, Removed event); NAK 503/508/403.
  DynAuthResult applyDisconnect(const RequestInfo& req);

  /// Puts back a session saved before a restart (radius/SessionStore.h), keyed by its circuitId;
  /// a session with the same key that accounting created since wins (it is newer). Times must
  /// already be on this table's clock. Counts nothing: it was counted when its accounting came.
  void restore(Session session);

  /// Removes sessions idle for ttlSec, and stale ones after staleGraceSec.
  std::vector<SessionEvent> expire(int64_t nowSec);

  const std::map<std::string, Session>& sessions() const { return sessions_; }
  const SessionCounters& counters() const { return counters_; }

 private:
  /// Session identification (RFC 5176 §3): Acct-Session-Id (with the NAS when given), else
  /// Framed-IP/IPv6 address, else User-Name; each NAS attribute the request carries
  /// (NAS-Identifier, NAS-IP-Address, NAS-IPv6-Address) must equal the session's when the session
  /// has it. nullptr with the Error-Cause when not exactly one: 503 none, 508 several, 403 the
  /// identification matched only sessions of another NAS.
  std::pair<Session*, std::optional<ErrorCause>> select(const RequestInfo& req);
  void fill(Session& s, const RequestInfo& req, int64_t nowSec);

  SessionTableConfig config_;
  std::map<std::string, Session> sessions_;  ///< by circuitId
  SessionCounters counters_;
};

}  // namespace sluice::radius
