// RadiusService (daemon/RadiusService.h): what GET /api/radius, the status "radius" object and
// /metrics show.

#include "daemon/RadiusService.h"

#include <fmt/format.h>

#include "telemetry/Prometheus.h"

namespace sluice::daemon {

namespace {

using nlohmann::json;

json countersJson(const radius::DispatcherCounters& d, const radius::SessionCounters& s) {
  return {{"received", d.received},
          {"responses", d.responses},
          {"duplicates", d.duplicates},
          {"rejected",
           {{"unknown_client", d.unknownClient},
            {"bad_authenticator", d.badAuthenticator},
            {"malformed", d.malformed},
            {"wrong_port", d.wrongCode},
            {"replay", d.replayDropped},
            {"refused", s.refused}}},
          {"accounting",
           {{"start", s.starts},
            {"interim", s.interims},
            {"stop", s.stops},
            {"stop_without_start", s.stopsWithoutStart},
            {"duplicate_start", s.duplicateStarts},
            {"accounting_on", s.accountingOn},
            {"accounting_off", s.accountingOff},
            {"expired", s.expired}}},
          {"coa", {{"ack", s.coaAck}, {"nak", s.coaNak}}},
          {"disconnect", {{"ack", s.disconnectAck}, {"nak", s.disconnectNak}}}};
}

uint64_t rejectedTotal(const radius::DispatcherCounters& d, const radius::SessionCounters& s) {
  return d.unknownClient + d.badAuthenticator + d.malformed + d.wrongCode + d.replayDropped +
         s.refused;
}

}  // namespace

json RadiusService::status() const {
  if (!server_) {
    return {{"enabled", false}, {"error", startError_}};
  }
  const auto d = server_->dispatcher().counters();
  const auto s = server_->dispatcher().sessionCounters();
  std::lock_guard lock(mutex_);
  json refusals = json::array();
  for (const json& r : refusals_) {
    refusals.push_back(r);
  }
  json parents = json::array();
  for (const auto& p : settings_.parents) {
    parents.push_back({{"match", p.describe()}, {"node", p.node}});
  }
  return {{"enabled", true},
          {"listen",
           {{"address", settings_.server.bindAddress},
            {"accounting_port", server_->accountingPort()},
            {"coa_port", server_->coaPort()}}},
          {"sections", settings_.sections},
          {"parents", parents},
          {"sessions_file", sessionsFile_},
          {"counters", countersJson(d, s)},
          {"circuits", applied_.size()},
          {"sessions", sessionsJson_},
          {"pending", pending_},
          {"recent_refusals", refusals},
          {"apply",
           {{"batches", batches_},
            {"failures", applyFailures_},
            {"circuits_added", circuitsAdded_},
            {"circuits_removed", circuitsRemoved_},
            {"circuits_changed", circuitsChanged_},
            {"last_outcome", lastApplyOutcome_},
            {"last_error", lastApplyError_},
            {"last_time", lastApplyTime_},
            {"last_ms", lastApplyMs_},
            {"last_changes", lastBatchChanges_},
            {"batch_window_ms", settings_.batchWindowMs}}}};
}

json RadiusService::summary() const {
  if (!server_) {
    return {{"enabled", false}, {"error", startError_}};
  }
  const auto d = server_->dispatcher().counters();
  const auto s = server_->dispatcher().sessionCounters();
  std::lock_guard lock(mutex_);
  return {{"enabled", true},
          {"listen",
           fmt::format(
               "{} accounting {}, CoA {}", settings_.server.bindAddress, server_->accountingPort(),
               server_->coaPort() == 0 ? std::string("off") : std::to_string(server_->coaPort()))},
          {"sessions", sessionsJson_.size()},
          {"circuits", applied_.size()},
          {"pending", pending_.size()},
          {"rejected", rejectedTotal(d, s)},
          {"last_apply",
           {{"outcome", lastApplyOutcome_},
            {"ms", lastApplyMs_},
            {"time", lastApplyTime_},
            {"error", lastApplyError_}}}};
}

std::string RadiusService::metrics() const {
  if (!server_) {
    return "";
  }
  const auto d = server_->dispatcher().counters();
  const auto s = server_->dispatcher().sessionCounters();
  telemetry::PromWriter w;
  w.family("sluice_radius_requests_total", "counter",
           "RADIUS requests accepted (authenticated), by type");
  for (const auto& [type, n] :
       {std::pair{"accounting-start", s.starts}, std::pair{"accounting-interim", s.interims},
        std::pair{"accounting-stop", s.stops}, std::pair{"accounting-on", s.accountingOn},
        std::pair{"accounting-off", s.accountingOff}, std::pair{"coa", s.coaAck + s.coaNak},
        std::pair{"disconnect", s.disconnectAck + s.disconnectNak}}) {
    w.sample("sluice_radius_requests_total", {{"type", type}}, static_cast<double>(n));
  }
  w.family("sluice_radius_naks_total", "counter", "CoA and Disconnect requests NAKed");
  w.sample("sluice_radius_naks_total", {{"type", "coa"}}, static_cast<double>(s.coaNak));
  w.sample("sluice_radius_naks_total", {{"type", "disconnect"}},
           static_cast<double>(s.disconnectNak));
  w.family("sluice_radius_rejected_total", "counter",
           "RADIUS datagrams dropped or refused, by reason (bad-authenticator: wrong secret)");
  for (const auto& [reason, n] :
       {std::pair{"unknown-client", d.unknownClient},
        std::pair{"bad-authenticator", d.badAuthenticator}, std::pair{"malformed", d.malformed},
        std::pair{"wrong-port", d.wrongCode}, std::pair{"replay", d.replayDropped},
        std::pair{"refused", s.refused}}) {
    w.sample("sluice_radius_rejected_total", {{"reason", reason}}, static_cast<double>(n));
  }
  w.family("sluice_radius_duplicates_total", "counter",
           "retransmitted requests answered from the duplicate cache");
  w.sample("sluice_radius_duplicates_total", {}, static_cast<double>(d.duplicates));
  std::lock_guard lock(mutex_);
  size_t stale = 0;
  for (const auto& j : sessionsJson_) {
    stale += j.value("state", "") == "stale" ? 1 : 0;
  }
  w.family(
      "sluice_radius_sessions", "gauge",
      "RADIUS sessions: active (a circuit), pending (not yet a circuit, with a reason), stale");
  w.sample("sluice_radius_sessions", {{"state", "active"}}, static_cast<double>(applied_.size()));
  w.sample("sluice_radius_sessions", {{"state", "pending"}}, static_cast<double>(pending_.size()));
  w.sample("sluice_radius_sessions", {{"state", "stale"}}, static_cast<double>(stale));
  w.family("sluice_radius_applies_total", "counter",
           "overlay changes of dynamic circuits, by outcome");
  w.sample("sluice_radius_applies_total", {{"outcome", "ok"}},
           static_cast<double>(batches_ - applyFailures_));
  w.sample("sluice_radius_applies_total", {{"outcome", "failed"}},
           static_cast<double>(applyFailures_));
  return w.take();
}

}  // namespace sluice::daemon
