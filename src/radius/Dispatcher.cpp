#include "radius/Dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace sluice::radius {

namespace {

/// Proxy-State attributes are copied unmodified into the response (RFC 2865 §5.33, RFC 5176 §3).
void copyProxyState(const Packet& req, Packet& resp) {
  for (const auto& a : req.attributes) {
    if (a.type == 33) {
      resp.attributes.push_back(a);
    }
  }
}

}  // namespace

Dispatcher::Dispatcher(DispatcherConfig config, std::vector<Client> clients, EventSink sink)
    : config_(std::move(config)),
      clients_(std::move(clients)),
      sink_(std::move(sink)),
      table_(config_.sessions) {}

std::optional<std::vector<uint8_t>> Dispatcher::handle(std::span<const uint8_t> datagram,
                                                       const IpNet& source, Role role,
                                                       int64_t nowSec, int64_t unixNowSec,
                                                       uint16_t sourcePort) {
  std::vector<SessionEvent> events;
  std::optional<std::vector<uint8_t>> answer;
  {
    std::lock_guard lock(mutex_);
    ++counters_.received;
    const Client* client = findClient(clients_, source);
    if (!client) {
      ++counters_.unknownClient;
      spdlog::debug("radius: dropped datagram from unknown client {}", source.toString());
      return std::nullopt;
    }
    auto packet = parse(datagram);
    if (!packet) {
      ++counters_.malformed;
      spdlog::debug("radius: {} from client {}", packet.error().message(), client->name);
      return std::nullopt;
    }
    const bool accounting = packet->code == Code::AccountingRequest;
    const bool dynauth =
        packet->code == Code::CoaRequest || packet->code == Code::DisconnectRequest;
    if ((role == Role::Accounting && !accounting) ||
        (role == Role::DynamicAuthorization && !dynauth)) {
      ++counters_.wrongCode;
      return std::nullopt;
    }
    const size_t length = (size_t{datagram[2]} << 8) | datagram[3];
    const auto exact = datagram.first(length);
    const auto mac = verifyMessageAuthenticator(exact, client->secret);
    const bool requestOk = verifyRequestAuthenticator(exact, client->secret);
    if (!requestOk || mac == false || (config_.requireMessageAuthenticator && !mac)) {
      ++counters_.badAuthenticator;
      // One warning per client per kBadAuthLogSec: a flood of forged or misconfigured requests
      // must not flood the log (the counter stays exact).
      auto& [lastSec, suppressed] = badAuthLog_[client->name];
      if (lastSec == 0 || nowSec - lastSec >= kBadAuthLogSec) {
        spdlog::warn("radius: dropped request from client {} ({}): {}{}", client->name,
                     source.toString(),
                     !requestOk     ? "bad Request Authenticator (wrong shared secret?)"
                     : mac == false ? "bad Message-Authenticator (wrong shared secret?)"
                                    : "Message-Authenticator required but absent",
                     suppressed == 0 ? std::string()
                                     : fmt::format(" ({} more dropped since the last warning)",
                                                   suppressed));
        lastSec = nowSec;
        suppressed = 0;
      } else {
        ++suppressed;
      }
      return std::nullopt;
    }
    const std::string dupKey =
        fmt::format("{}|{}|{}|{}|", source.toString(), sourcePort, static_cast<int>(packet->code),
                    packet->identifier) +
        std::string(packet->authenticator.begin(), packet->authenticator.end());
    if (const auto hit = answered_.find(dupKey);
        hit != answered_.end() && hit->second.expiresSec > nowSec) {
      ++counters_.duplicates;
      ++counters_.responses;
      return hit->second.bytes;
    }
    const auto info = decode(*packet, config_.decode);
    if (accounting) {
      events = table_.applyAccounting(info, nowSec);
      Packet resp{Code::AccountingResponse, packet->identifier, {}, {}};
      copyProxyState(*packet, resp);
      if (auto bytes = encodeResponse(resp, packet->authenticator, client->secret)) {
        answer = std::move(*bytes);
      }
    } else {
      answer = dynamicAuthorization(*packet, info, *client, nowSec, unixNowSec, events);
    }
    if (answer) {
      ++counters_.responses;
      if (config_.duplicateWindowSec > 0) {
        answered_[dupKey] = CachedAnswer{*answer, nowSec + config_.duplicateWindowSec};
      }
    }
  }
  if (!events.empty() && sink_) {
    sink_(events);
  }
  return answer;
}

std::optional<std::vector<uint8_t>> Dispatcher::dynamicAuthorization(
    const Packet& req, const RequestInfo& info, const Client& client, int64_t nowSec,
    int64_t unixNowSec, std::vector<SessionEvent>& events) {
  const bool coa = req.code == Code::CoaRequest;
  DynAuthResult result;
  if (info.eventTimestamp) {
    const int64_t skew = unixNowSec - static_cast<int64_t>(*info.eventTimestamp);
    if (skew > config_.eventTimestampWindowSec || -skew > config_.eventTimestampWindowSec) {
      ++counters_.replayDropped;
      spdlog::warn("radius: {} from {} dropped: Event-Timestamp {} s from our clock (window {} s)",
                   coa ? "CoA-Request" : "Disconnect-Request", client.name, skew,
                   config_.eventTimestampWindowSec);
      return std::nullopt;
    }
  } else if (config_.requireEventTimestamp) {
    result.errorCause = ErrorCause::MissingAttribute;
  }
  if (!result.errorCause) {
    result = coa ? table_.applyCoa(req, info, nowSec) : table_.applyDisconnect(info);
  }
  events = result.events;
  Packet resp{coa ? (result.ack ? Code::CoaAck : Code::CoaNak)
                  : (result.ack ? Code::DisconnectAck : Code::DisconnectNak),
              req.identifier,
              {},
              {}};
  if (!result.ack && result.errorCause) {
    resp.attributes.push_back(
        {attr::kErrorCause, fromUint32(static_cast<uint32_t>(*result.errorCause))});
  }
  copyProxyState(req, resp);
  auto bytes = encodeResponse(resp, req.authenticator, client.secret);
  return bytes ? std::optional(std::move(*bytes)) : std::nullopt;
}

void Dispatcher::expire(int64_t nowSec) {
  std::vector<SessionEvent> events;
  {
    std::lock_guard lock(mutex_);
    events = table_.expire(nowSec);
    std::erase_if(answered_,
                  [nowSec](const auto& entry) { return entry.second.expiresSec <= nowSec; });
  }
  if (!events.empty() && sink_) {
    sink_(events);
  }
}

void Dispatcher::restore(std::vector<Session> sessions) {
  std::lock_guard lock(mutex_);
  for (auto& s : sessions) {
    table_.restore(std::move(s));
  }
}

DispatcherCounters Dispatcher::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

SessionCounters Dispatcher::sessionCounters() const {
  std::lock_guard lock(mutex_);
  return table_.counters();
}

std::vector<Session> Dispatcher::sessions() const {
  std::lock_guard lock(mutex_);
  std::vector<Session> out;
  for (const auto& [id, s] : table_.sessions()) {
    out.push_back(s);
  }
  return out;
}

}  // namespace sluice::radius
