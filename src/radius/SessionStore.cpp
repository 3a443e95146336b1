#include "radius/SessionStore.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/AtomicFile.h"

namespace sluice::radius {

namespace {

using nlohmann::json;

constexpr int kVersion = 1;

void putOptional(json& j, const char* key, const std::optional<std::string>& v) {
  if (v) {
    j[key] = *v;
  }
}

std::optional<std::string> getOptional(const json& j, const char* key) {
  if (auto it = j.find(key); it != j.end() && it->is_string()) {
    return it->get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

json sessionsToJson(const std::vector<Session>& sessions, ClockPair now) {
  const int64_t offset = now.unixSec - now.monoSec;  // unix = mono + offset
  json list = json::array();
  for (const Session& s : sessions) {
    json j{{"circuit_id", s.circuitId},
           {"nas", s.nas},
           {"acct_session_id", s.acctSessionId},
           {"pending", pendingName(s.pending)},
           {"pending_detail", s.pendingDetail},
           {"stale", s.state == SessionState::Stale},
           {"started_unix", s.startedSec + offset},
           {"last_update_unix", s.lastUpdateSec + offset},
           {"stale_since_unix", s.staleSinceSec + offset}};
    putOptional(j, "nas_identifier", s.nasIdentifier);
    putOptional(j, "user_name", s.userName);
    putOptional(j, "calling_station_id", s.callingStationId);
    putOptional(j, "nas_port_id", s.nasPortId);
    if (s.nasIpAddress) {
      j["nas_ip"] = s.nasIpAddress->toString();
    }
    if (s.nasIpv6Address) {
      j["nas_ipv6"] = s.nasIpv6Address->toString();
    }
    json addresses = json::array();
    for (const IpNet& a : s.addresses) {
      addresses.push_back(a.toString());
    }
    j["addresses"] = std::move(addresses);
    if (s.rates) {
      json r{{"download_bps", s.rates->downloadBps},
             {"upload_bps", s.rates->uploadBps},
             {"source", s.rates->source}};
      if (s.rates->downloadBurstBps) {
        r["download_burst_bps"] = *s.rates->downloadBurstBps;
      }
      if (s.rates->uploadBurstBps) {
        r["upload_burst_bps"] = *s.rates->uploadBurstBps;
      }
      j["rates"] = std::move(r);
    }
    list.push_back(std::move(j));
  }
  return {{"version", kVersion}, {"saved_unix", now.unixSec}, {"sessions", std::move(list)}};
}

Result<std::vector<Session>> sessionsFromJson(const json& doc, ClockPair now) {
  if (!doc.is_object() || doc.value("version", 0) != kVersion || !doc.contains("sessions") ||
      !doc["sessions"].is_array()) {
    return makeError(EINVAL, "radius sessions",
                     fmt::format("expected version {} with a "
                                 "\"sessions\" array",
                                 kVersion));
  }
  const int64_t offset = now.unixSec - now.monoSec;
  std::vector<Session> out;
  size_t index = 0;
  for (const json& j : doc["sessions"]) {
    ++index;
    const auto fail = [&](const std::string& what) {
      return makeError(EINVAL, "radius sessions",
                       fmt::format("entry {} ({}): {}", index,
                                   j.is_object() ? j.value("circuit_id", "?") : "?", what));
    };
    if (!j.is_object()) {
      return fail("not an object");
    }
    Session s;
    for (auto [key, out] : {std::pair{"circuit_id", &s.circuitId}, std::pair{"nas", &s.nas},
                            std::pair{"acct_session_id", &s.acctSessionId}}) {
      auto v = getOptional(j, key);
      if (!v || v->empty()) {
        return fail(fmt::format("\"{}\" missing", key));
      }
      *out = *v;
    }
    s.nasIdentifier = getOptional(j, "nas_identifier");
    s.userName = getOptional(j, "user_name");
    s.callingStationId = getOptional(j, "calling_station_id");
    s.nasPortId = getOptional(j, "nas_port_id");
    for (auto [key, out] :
         {std::pair{"nas_ip", &s.nasIpAddress}, std::pair{"nas_ipv6", &s.nasIpv6Address}}) {
      if (auto text = getOptional(j, key)) {
        *out = IpNet::parse(*text);
        if (!*out) {
          return fail(fmt::format("\"{}\" = \"{}\" is not an address", key, *text));
        }
      }
    }
    for (const json& a : j.value("addresses", json::array())) {
      auto net = a.is_string() ? IpNet::parse(a.get<std::string>()) : std::nullopt;
      if (!net) {
        return fail("address " + a.dump() + " is not an address or prefix");
      }
      s.addresses.push_back(*net);
    }
    if (auto r = j.find("rates"); r != j.end() && r->is_object()) {
      Rates rates;
      rates.downloadBps = r->value("download_bps", uint64_t{0});
      rates.uploadBps = r->value("upload_bps", uint64_t{0});
      rates.source = r->value("source", "");
      if (r->contains("download_burst_bps")) {
        rates.downloadBurstBps = r->value("download_burst_bps", uint64_t{0});
      }
      if (r->contains("upload_burst_bps")) {
        rates.uploadBurstBps = r->value("upload_burst_bps", uint64_t{0});
      }
      if (rates.downloadBps == 0 || rates.uploadBps == 0) {
        return fail("rates must be above 0 bit/s");
      }
      s.rates = rates;
    }
    s.state = j.value("stale", false) ? SessionState::Stale : SessionState::Active;
    s.startedSec = j.value("started_unix", int64_t{0}) - offset;
    s.lastUpdateSec = j.value("last_update_unix", int64_t{0}) - offset;
    s.staleSinceSec = j.value("stale_since_unix", int64_t{0}) - offset;
    s.pending = s.addresses.empty() ? Pending::MissingAddress
                : !s.rates          ? Pending::MissingRate
                                    : Pending::None;
    s.pendingDetail = j.value("pending_detail", "");
    out.push_back(std::move(s));
  }
  return out;
}

Result<void> saveSessions(const std::string& path, const std::vector<Session>& sessions,
                          ClockPair now) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) {
    return makeError(ec.value(), "create the directory of " + path);
  }
  return writeFileAtomically(path, sessionsToJson(sessions, now).dump(), {.mode = 0600});
}

Result<std::vector<Session>> loadSessions(const std::string& path, ClockPair now) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT || !std::filesystem::exists(path)) {
      return std::vector<Session>{};
    }
    return makeError(errno, "read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) {
    return makeError(EINVAL, path, "not JSON");
  }
  auto sessions = sessionsFromJson(doc, now);
  if (!sessions) {
    return makeError(EINVAL, path, sessions.error().detail);
  }
  return sessions;
}

}  // namespace sluice::radius
