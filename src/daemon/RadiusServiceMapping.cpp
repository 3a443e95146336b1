// RadiusService (daemon/RadiusService.h): sessions mapped to dynamic circuits (a batch's and
// the first plan's), and the saved sessions loaded for the shaper's first plan (restore()).

#include "daemon/RadiusService.h"

#include <spdlog/spdlog.h>

#include "radius/CircuitMapping.h"
#include "radius/SessionStore.h"
#include "radius/Sessions.h"

namespace sluice::daemon {

namespace {

using nlohmann::json;

json addressesJson(const std::vector<IpNet>& addresses) {
  json out = json::array();
  for (const IpNet& a : addresses) {
    out.push_back(a.toString());
  }
  return out;
}

}  // namespace

RadiusService::Restored RadiusService::restore(const model::Inputs& inputs,
                                               const std::string& configPath,
                                               const std::string& stateDirectory,
                                               model::Overlay& overlay) {
  Restored out;
  const auto settings = radius::readRadiusSettings(inputs.config, configPath);
  if (!settings || !settings->enabled) {
    return out;  // start() reports invalid settings
  }
  out.read = true;
  const std::string file = settings->sessionsFile.empty() ? stateDirectory + "/radius/sessions.json"
                                                          : settings->sessionsFile;
  const radius::ClockPair now = clocks();
  auto saved = radius::loadSessions(file, now);
  if (!saved) {
    // The saved sessions are a cache of what the NASes will say again at their next interim.
    out.error = saved.error().message();
    spdlog::warn("radius: saved sessions not restored: {}", out.error);
    return out;
  }
  // What the table's first expiry would drop (sluiced was down past a TTL or stale grace).
  radius::SessionTable table(settings->server.dispatcher.sessions);
  for (radius::Session& s : *saved) {
    table.restore(std::move(s));
  }
  out.expired = table.expire(now.monoSec).size();
  for (const auto& [id, s] : table.sessions()) {
    out.sessions.push_back(s);
  }
  out.circuits = mapSessions(out.sessions, *settings, inputs).circuits;
  for (const auto& [id, c] : out.circuits) {
    overlay.circuits.insert_or_assign(id, c);
  }
  if (!out.sessions.empty() || out.expired > 0) {
    spdlog::info(
        "radius: {} saved sessions from {} ({} expired meanwhile): {} circuits in the "
        "first plan",
        out.sessions.size(), file, out.expired, out.circuits.size());
  }
  return out;
}

RadiusService::Mapped RadiusService::mapAll(const std::vector<radius::Session>& sessions) const {
  const auto inputs = shaper_.snapshot().inputs;
  return inputs ? mapSessions(sessions, settings_, *inputs) : Mapped{};
}

RadiusService::Mapped RadiusService::mapSessions(const std::vector<radius::Session>& sessions,
                                                 const radius::RadiusSettings& settings,
                                                 const model::Inputs& inputs) {
  Mapped out;
  const radius::ShapedIndex index(inputs.model.shaped);
  for (const radius::Session& s : sessions) {
    auto m = radius::mapSession(s, settings, inputs.model, index);
    json j{{"circuit_id", s.circuitId},
           {"nas", s.nas},
           {"acct_session_id", s.acctSessionId},
           {"user_name", s.userName.value_or("")},
           {"addresses", addressesJson(s.addresses)},
           {"state", s.state == radius::SessionState::Stale ? "stale" : "active"}};
    if (s.rates) {
      j["session_rates"] = {{"download_bps", s.rates->downloadBps},
                            {"upload_bps", s.rates->uploadBps},
                            {"source", s.rates->source}};
    }
    if (m.circuit) {
      j["circuit"] = {{"parent", m.circuit->parentNode},
                      {"download_max_mbps", m.circuit->downloadMaxMbps},
                      {"upload_max_mbps", m.circuit->uploadMaxMbps},
                      {"download_min_mbps", m.circuit->downloadMinMbps},
                      {"upload_min_mbps", m.circuit->uploadMinMbps},
                      {"rate_source", m.rateSource},
                      {"parent_source", m.parentSource}};
      out.circuits.emplace(s.circuitId, std::move(*m.circuit));
    } else {
      j["pending"] = m.pending;
      j["detail"] = m.detail;
      out.pending.push_back(j);
    }
    out.sessions.push_back(std::move(j));
  }
  return out;
}

}  // namespace sluice::daemon
