#include "radius/Sessions.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace sluice::radius {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : "; ") + s;
  }
  return out;
}

/// Attributes a CoA/Disconnect-Request may carry here: session identification (RFC 5176 §3),
/// Proxy-State (33), Event-Timestamp, Message-Authenticator and the rate VSAs. Anything else is
/// something we would silently not do, so it is NAKed with 401 (RFC 5176 §3.5).
bool supported(const Attribute& a) {
  constexpr std::array<uint8_t, 14> kAllowed{attr::kUserName,
                                             attr::kNasIpAddress,
                                             attr::kFramedIpAddress,
                                             attr::kCallingStationId,
                                             attr::kNasIdentifier,
                                             33,
                                             attr::kAcctSessionId,
                                             attr::kEventTimestamp,
                                             attr::kMessageAuthenticator,
                                             attr::kNasIpv6Address,
                                             attr::kFramedIpv6Prefix,
                                             attr::kDelegatedIpv6Prefix,
                                             attr::kFramedIpv6Address,
                                             attr::kClass};
  if (a.type == attr::kVendorSpecific) {
    const auto id =
        a.value.size() >= 4 ? asUint32({a.value.begin(), a.value.begin() + 4}) : std::nullopt;
    return id == kVendorMikrotik || id == kVendorWispr;
  }
  return std::ranges::find(kAllowed, a.type) != kAllowed.end();
}

}  // namespace

const char* pendingName(Pending p) {
  switch (p) {
    case Pending::None:
      return "none";
    case Pending::MissingSessionId:
      return "missing-session-id";
    case Pending::MissingNasIdentity:
      return "missing-nas-identity";
    case Pending::MissingAddress:
      return "missing-address";
    case Pending::MissingRate:
      return "missing-rate";
  }
  return "unknown";
}

void SessionTable::fill(Session& s, const RequestInfo& req, int64_t nowSec) {
  if (req.userName)
    s.userName = req.userName;
  if (req.callingStationId)
    s.callingStationId = req.callingStationId;
  if (req.nasPortId)
    s.nasPortId = req.nasPortId;
  if (req.nasIdentifier)
    s.nasIdentifier = req.nasIdentifier;
  if (req.nasIpAddress)
    s.nasIpAddress = req.nasIpAddress;
  if (req.nasIpv6Address)
    s.nasIpv6Address = req.nasIpv6Address;
  if (!req.addresses.empty())
    s.addresses = req.addresses;
  if (req.rates)
    s.rates = req.rates;
  s.lastUpdateSec = nowSec;
  s.state = SessionState::Active;
  s.pending = s.addresses.empty() ? Pending::MissingAddress
              : !s.rates          ? Pending::MissingRate
                                  : Pending::None;
  s.pendingDetail = s.pending == Pending::None ? "" : join(req.problems);
}

std::vector<SessionEvent> SessionTable::applyAccounting(const RequestInfo& req, int64_t nowSec) {
  const auto status = static_cast<AcctStatus>(req.acctStatusType.value_or(0));
  const auto nas = req.nasIdentity();
  if (status == AcctStatus::AccountingOn || status == AcctStatus::AccountingOff) {
    const bool on = status == AcctStatus::AccountingOn;
    ++(on ? counters_.accountingOn : counters_.accountingOff);
    std::vector<SessionEvent> events;
    for (auto& [id, s] : sessions_) {
      if (nas && s.nas == *nas && s.state == SessionState::Active) {
        s.state = SessionState::Stale;
        s.staleSinceSec = nowSec;
        events.push_back({EventKind::MarkedStale, s, on ? "Accounting-On" : "Accounting-Off"});
      }
    }
    return events;
  }
  Session probe;
  probe.nas = nas.value_or("");
  probe.acctSessionId = req.acctSessionId.value_or("");
  if (status != AcctStatus::Start && status != AcctStatus::InterimUpdate &&
      status != AcctStatus::Stop) {
    ++counters_.refused;
    return {{EventKind::Refused, probe,
             fmt::format("Acct-Status-Type {} not handled", req.acctStatusType.value_or(0))}};
  }
  if (!req.acctSessionId || req.acctSessionId->empty() || !nas) {
    ++counters_.refused;
    probe.pending = !nas ? Pending::MissingNasIdentity : Pending::MissingSessionId;
    return {{EventKind::Refused, probe, pendingName(probe.pending)}};
  }
  probe.circuitId = fmt::format("radius:{}:{}", *nas, *req.acctSessionId);
  auto it = sessions_.find(probe.circuitId);
  if (status == AcctStatus::Stop) {
    ++counters_.stops;
    if (it == sessions_.end()) {
      ++counters_.stopsWithoutStart;
      return {};
    }
    SessionEvent ev{EventKind::Removed, it->second, "Stop"};
    sessions_.erase(it);
    return {ev};
  }
  ++(status == AcctStatus::Start ? counters_.starts : counters_.interims);
  if (it == sessions_.end()) {
    probe.startedSec = nowSec;
    fill(probe, req, nowSec);
    it = sessions_.emplace(probe.circuitId, probe).first;
    return {
        {EventKind::Created, it->second, status == AcctStatus::Start ? "Start" : "Interim-Update"}};
  }
  if (status == AcctStatus::Start) {
    ++counters_.duplicateStarts;
  }
  const Session before = it->second;
  fill(it->second, req, nowSec);
  const Session& after = it->second;
  const bool changed = before.addresses != after.addresses || before.rates != after.rates ||
                       before.pending != after.pending || before.state != after.state;
  return {{EventKind::Updated, after, changed ? "changed" : "refreshed"}};
}

std::pair<Session*, std::optional<ErrorCause>> SessionTable::select(const RequestInfo& req) {
  const auto sameNas = [&](const Session& s) {
    const auto agrees = [](const auto& fromRequest, const auto& fromSession) {
      return !fromRequest || !fromSession || *fromRequest == *fromSession;
    };
    return agrees(req.nasIdentifier, s.nasIdentifier) && agrees(req.nasIpAddress, s.nasIpAddress) &&
           agrees(req.nasIpv6Address, s.nasIpv6Address);
  };
  std::vector<Session*> hits;
  bool otherNas = false;
  for (auto& [id, s] : sessions_) {
    bool match = false;
    if (req.acctSessionId) {
      match = s.acctSessionId == *req.acctSessionId;
    } else if (!req.addresses.empty()) {
      match = std::ranges::any_of(req.addresses, [&](const IpNet& a) {
        return std::ranges::find(s.addresses, a) != s.addresses.end();
      });
    } else if (req.userName) {
      match = s.userName == req.userName;
    }
    if (match && !sameNas(s)) {
      otherNas = true;
    } else if (match) {
      hits.push_back(&s);
    }
  }
  if (hits.empty()) {
    return {nullptr,
            otherNas ? ErrorCause::NasIdentificationMismatch : ErrorCause::SessionContextNotFound};
  }
  if (hits.size() > 1) {
    return {nullptr, ErrorCause::MultipleSessionSelectionUnsupported};
  }
  return {hits.front(), std::nullopt};
}

DynAuthResult SessionTable::applyCoa(const Packet& packet, const RequestInfo& req, int64_t nowSec) {
  const auto nak = [&](ErrorCause c) {
    ++counters_.coaNak;
    return DynAuthResult{false, c, {}};
  };
  if (!std::ranges::all_of(packet.attributes, supported)) {
    return nak(ErrorCause::UnsupportedAttribute);
  }
  auto [s, cause] = select(req);
  if (!s) {
    return nak(*cause);
  }
  if (!req.rates) {
    return nak(req.problems.empty() ? ErrorCause::MissingAttribute
                                    : ErrorCause::InvalidAttributeValue);
  }
  ++counters_.coaAck;
  DynAuthResult out{true, std::nullopt, {}};
  s->lastUpdateSec = nowSec;
  if (s->rates != req.rates) {
    s->rates = req.rates;
    s->pending = s->addresses.empty() ? Pending::MissingAddress : Pending::None;
    out.events.push_back({EventKind::RatesChanged, *s, "CoA-Request"});
  }
  return out;
}

DynAuthResult SessionTable::applyDisconnect(const RequestInfo& req) {
  auto [s, cause] = select(req);
  if (!s) {
    ++counters_.disconnectNak;
    return {false, cause, {}};
  }
  ++counters_.disconnectAck;
  DynAuthResult out{true, std::nullopt, {{EventKind::Removed, *s, "Disconnect-Request"}}};
  sessions_.erase(s->circuitId);
  return out;
}

void SessionTable::restore(Session session) {
  std::string key = session.circuitId;
  sessions_.try_emplace(std::move(key), std::move(session));
}

std::vector<SessionEvent> SessionTable::expire(int64_t nowSec) {
  std::vector<SessionEvent> events;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const auto& s = it->second;
    const bool stale =
        s.state == SessionState::Stale && nowSec - s.staleSinceSec >= config_.staleGraceSec;
    const bool idle = nowSec - s.lastUpdateSec >= config_.ttlSec;
    if (stale || idle) {
      ++counters_.expired;
      events.push_back({EventKind::Removed, s, stale ? "stale-grace" : "ttl"});
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  return events;
}

}  // namespace sluice::radius
