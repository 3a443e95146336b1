// Controller's persisted state and its status JSON (Controller.h).

#include <fmt/format.h>

#include "treeguard/Controller.h"

namespace sluice::treeguard {
namespace {

using nlohmann::json;

json orNull(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

json Controller::saveJson() const {
  json circuits = json::object();
  if (settings_.circuits.persistSqmOverrides) {
    for (const std::string& id : circuits_.ids()) {
      // A direction TreeGuard moved is fq_codel; every other one is written "cake" (left alone).
      const CircuitSpec* spec = circuits_.spec(id);
      auto moved = [&](Direction d) {
        return spec->base[static_cast<size_t>(d)] == Sqm::Cake &&
               circuits_.current(id, d) == Sqm::FqCodel;
      };
      if (moved(Direction::Down) || moved(Direction::Up)) {
        circuits[id] = sqmToken(moved(Direction::Down) ? Sqm::FqCodel : Sqm::Cake,
                                moved(Direction::Up) ? Sqm::FqCodel : Sqm::Cake);
      }
    }
  }
  json nodes = json::array();
  for (const std::string& id : nodes_.ids()) {
    if (nodes_.isVirtual(id).value_or(false)) {
      nodes.push_back(id);
    }
  }
  return json{{"version", 1}, {"circuits", circuits}, {"nodes", nodes}};
}

Result<Decisions> Controller::restoreFrom(const json& saved, size_t* skipped) const {
  Decisions out;
  out.restore = true;
  size_t left = 0;
  if (!saved.is_object() || saved.value("version", 0) != 1) {
    return makeError(EINVAL, "treeguard state", "not an object with \"version\": 1");
  }
  const json circuits = saved.value("circuits", json::object());
  const json nodes = saved.value("nodes", json::array());
  if (!circuits.is_object() || !nodes.is_array()) {
    return makeError(EINVAL, "treeguard state",
                     "\"circuits\" must be an object and \"nodes\" an array");
  }
  for (const auto& [id, token] : circuits.items()) {
    const auto sqm = token.is_string() ? parseSqmToken(token.get<std::string>()) : std::nullopt;
    if (!sqm) {
      return makeError(
          EINVAL, "treeguard state",
          fmt::format("circuit \"{}\": {} is not a down/up SQM token", id, token.dump()));
    }
    const CircuitSpec* spec = circuits_.spec(id);
    for (Direction d : {Direction::Down, Direction::Up}) {
      const size_t i = static_cast<size_t>(d);
      if ((*sqm)[i] != Sqm::FqCodel) {
        continue;
      }
      if (spec == nullptr || spec->base[i] != Sqm::Cake) {
        ++left;  // gone, or no longer switchable in this direction
        continue;
      }
      if (circuits_.current(id, d) != Sqm::FqCodel) {
        out.circuits.push_back({id, d, Sqm::FqCodel, "restored from the state directory"});
      }
    }
  }
  for (const json& node : nodes) {
    if (!node.is_string()) {
      return makeError(EINVAL, "treeguard state",
                       fmt::format("node {} is not a name", node.dump()));
    }
    const std::string id = node.get<std::string>();
    const auto view = nodes_.view(id, 0);
    if (!view || !view->managed) {
      ++left;
      continue;
    }
    if (!view->isVirtual) {
      out.nodes.push_back({id, true, "restored from the state directory"});
    }
  }
  if (skipped != nullptr) {
    *skipped = left;
  }
  return out;
}

json Controller::statusJson(double nowSeconds, size_t maxCircuits) const {
  auto direction = [&](const std::string& id, Direction d, Sqm base) {
    const auto v = circuits_.view(id, d, nowSeconds);
    return json{
        {"base", sqmName(base)},
        {"current", sqmName(v->current)},
        {"util_pct", orNull(v->utilPct)},
        {"idle_s", v->idleSeconds},
        {"changes_last_hour", v->changesLastHour},
        {"last_change_s_ago", v->lastChange ? json(nowSeconds - *v->lastChange) : json(nullptr)}};
  };
  // Circuits off their base first, then the others, each in id order.
  std::vector<std::string> switched, rest;
  for (const std::string& id : circuits_.ids()) {
    const CircuitSpec* spec = circuits_.spec(id);
    const bool off = circuits_.current(id, Direction::Down) != spec->base[0] ||
                     circuits_.current(id, Direction::Up) != spec->base[1];
    (off ? switched : rest).push_back(id);
  }
  json list = json::array();
  for (const auto* group : {&switched, &rest}) {
    for (const std::string& id : *group) {
      if (list.size() >= maxCircuits) {
        break;
      }
      const CircuitSpec* spec = circuits_.spec(id);
      list.push_back({{"id", id},
                      {"capacity_down_mbps", spec->capacityMbps[0]},
                      {"capacity_up_mbps", spec->capacityMbps[1]},
                      {"down", direction(id, Direction::Down, spec->base[0])},
                      {"up", direction(id, Direction::Up, spec->base[1])}});
    }
  }
  json nodes = json::array();
  for (const std::string& id : nodes_.ids()) {
    const auto v = nodes_.view(id, nowSeconds);
    nodes.push_back(
        {{"name", id},
         {"virtual", v->isVirtual},
         {"managed", v->managed},
         {"util_down_pct", orNull(v->utilDownPct)},
         {"util_up_pct", orNull(v->utilUpPct)},
         {"idle_s", v->idleSeconds},
         {"last_change_s_ago", v->lastChange ? json(nowSeconds - *v->lastChange) : json(nullptr)}});
  }
  json activity = json::array();
  for (auto it = activity_.rbegin(); it != activity_.rend(); ++it) {
    activity.push_back({{"time_ms", it->unixMs},
                        {"kind", it->kind},
                        {"id", it->id},
                        {"change", it->change},
                        {"why", it->why},
                        {"outcome", it->outcome}});
  }
  const Counts c = counts();
  return json{
      {"circuits",
       {{"enrolled", c.circuits},
        {"fq_codel_directions", c.fqCodelDirections},
        {"listed", list.size()},
        {"list", std::move(list)}}},
      {"nodes", {{"enrolled", c.nodes}, {"virtual", c.virtualNodes}, {"list", std::move(nodes)}}},
      {"changes", c.changes},
      {"activity", std::move(activity)}};
}

}  // namespace sluice::treeguard
