#include "ha/Parity.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include <fmt/format.h>

namespace sluice::ha {

namespace {

using Json = nlohmann::json;

/// The value at a '/'-separated path ("inputs/network_sha256"), or null.
Json at(const Json& doc, const std::string& path) {
  const Json* node = &doc;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    const std::string key = path.substr(start, slash - start);
    if (!node->is_object() || !node->contains(key)) {
      return nullptr;
    }
    node = &(*node)[key];
    start = slash + 1;
  }
  return *node;
}

std::string text(const Json& value) {
  if (value.is_null()) {
    return "missing";
  }
  return value.is_string() ? value.get<std::string>() : value.dump();
}

/// Interfaces by role.
std::map<std::string, Json> byRole(const Json& doc) {
  std::map<std::string, Json> out;
  const Json list = at(doc, "interfaces");
  if (list.is_array()) {
    for (const Json& i : list) {
      if (i.is_object()) {
        out[i.value("role", std::string("?"))] = i;
      }
    }
  }
  return out;
}

/// The slowest port's speed in Mbit/s; nullopt when a port's speed is unknown or none is listed.
std::optional<double> capacityMbps(const Json& doc) {
  std::optional<double> slowest;
  for (const auto& [role, i] : byRole(doc)) {
    const Json speed = i.value("speed_mbps", Json());
    if (!speed.is_number() || speed.get<double>() <= 0) {
      return std::nullopt;
    }
    slowest = std::min(slowest.value_or(speed.get<double>()), speed.get<double>());
  }
  return slowest;
}

/// The busier direction of a shaper's recorded peak; nullopt when it has none.
std::optional<double> peakMbps(const Json& doc) {
  const Json peak = at(doc, "peak");
  if (!peak.is_object()) {
    return std::nullopt;
  }
  const double down = peak.value("down_mbps", 0.0);
  const double up = peak.value("up_mbps", 0.0);
  return std::max(down, up);
}

std::string nameOf(const Json& doc, const char* fallback) {
  const Json name = at(doc, "node_name");
  return name.is_string() && !name.get<std::string>().empty() ? name.get<std::string>() : fallback;
}

}  // namespace

std::vector<Difference> compareShapers(const Json& local, const Json& peer) {
  std::vector<Difference> out;
  const auto compare = [&](const std::string& path, bool shaping) {
    const Json a = at(local, path);
    const Json b = at(peer, path);
    if (a.is_null() || b.is_null() || a != b) {
      std::string what = path;
      std::replace(what.begin(), what.end(), '/', '.');
      out.push_back({what, text(a), text(b), shaping});
    }
  };
  compare("inputs/network_sha256", true);
  compare("inputs/devices_sha256", true);
  compare("inputs/overrides_sha256", true);
  compare("plan_sha256", true);
  compare("queue_mode", true);
  compare("leaf", true);
  compare("queues", true);
  compare("version", false);
  compare("fail_mode", false);
  const std::map<std::string, Json> mine = byRole(local);
  const std::map<std::string, Json> theirs = byRole(peer);
  std::map<std::string, bool> roles;
  for (const auto& [role, _] : mine) {
    roles[role] = true;
  }
  for (const auto& [role, _] : theirs) {
    roles[role] = true;
  }
  for (const auto& [role, _] : roles) {
    const Json a = mine.contains(role) ? mine.at(role) : Json();
    const Json b = theirs.contains(role) ? theirs.at(role) : Json();
    if (a.is_null() || b.is_null()) {
      out.push_back({"interface " + role, a.is_null() ? "missing" : a.value("name", "?"),
                     b.is_null() ? "missing" : b.value("name", "?"), true});
      continue;
    }
    for (const char* field : {"speed_mbps", "tx_queues"}) {
      const Json x = a.value(field, Json());
      const Json y = b.value(field, Json());
      if (x != y) {
        out.push_back({fmt::format("interface {} {}", role, field), text(x), text(y), true});
      }
    }
  }
  return out;
}

Json differencesJson(const std::vector<Difference>& differences) {
  Json list = Json::array();
  bool shaping = false;
  for (const Difference& d : differences) {
    shaping = shaping || d.shapingDiffers;
    list.push_back({{"what", d.what},
                    {"local", d.local},
                    {"peer", d.peer},
                    {"shaping_differs", d.shapingDiffers}});
  }
  return {{"identical", differences.empty()}, {"shaping_differs", shaping}, {"differences", list}};
}

std::optional<int64_t> parseIsoTime(const std::string& value) {
  std::tm tm{};
  char z = 0;
  int consumed = 0;
  if (std::sscanf(value.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &consumed) != 7 ||
      z != 'Z' || static_cast<size_t>(consumed) != value.size()) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

std::vector<PairItem> checkPair(const Json& local, const Json& peer,
                                const PairCheckOptions& options) {
  std::vector<PairItem> items;
  const std::string here = nameOf(local, "local");
  const std::string there = nameOf(peer, "peer");

  // paths
  std::string down;
  for (const auto& [doc, name] : {std::pair{&local, here}, std::pair{&peer, there}}) {
    const Json ready = at(*doc, "ready");
    if (!ready.is_object() || !ready.value("ready", false)) {
      down += fmt::format("{}{} not ready ({})", down.empty() ? "" : "; ", name,
                          ready.is_object() ? ready.value("reason", std::string("?")) : "unknown");
    }
  }
  items.push_back({"paths", down.empty(), down.empty() ? "both shapers ready" : down});

  // capacity
  const std::optional<double> peakA = peakMbps(local);
  const std::optional<double> peakB = peakMbps(peer);
  if (!peakA && !peakB) {
    items.push_back({"capacity", false, "no measured peak load on either shaper (telemetry)"});
  } else {
    const double peak = std::max(peakA.value_or(0), peakB.value_or(0)) * options.capacityHeadroom;
    std::string short_;
    for (const auto& [doc, name] : {std::pair{&local, here}, std::pair{&peer, there}}) {
      const std::optional<double> capacity = capacityMbps(*doc);
      if (!capacity) {
        short_ += fmt::format("{}{}: port speed unknown", short_.empty() ? "" : "; ", name);
      } else if (*capacity < peak) {
        short_ += fmt::format("{}{}: {:g} Mbit/s ports below the peak {:.1f} Mbit/s",
                              short_.empty() ? "" : "; ", name, *capacity, peak);
      }
    }
    items.push_back({"capacity", short_.empty(),
                     short_.empty() ? fmt::format("each shaper's ports carry the peak {:.1f} "
                                                  "Mbit/s",
                                                  peak)
                                    : short_});
  }

  // inputs
  std::string differing;
  for (const Difference& d : compareShapers(local, peer)) {
    if (d.shapingDiffers) {
      differing +=
          fmt::format("{}{} ({} vs {})", differing.empty() ? "" : "; ", d.what, d.local, d.peer);
    }
  }
  items.push_back({"inputs", differing.empty(),
                   differing.empty() ? "inputs, plan and leaf identical" : differing});

  // drill
  std::optional<int64_t> newest;
  for (const Json* doc : {&local, &peer}) {
    const Json date = at(*doc, "last_drill");
    if (date.is_string()) {
      if (auto t = parseIsoTime(date.get<std::string>())) {
        newest = std::max(newest.value_or(*t), *t);
      }
    }
  }
  if (!newest) {
    items.push_back({"drill", false, "no failover drill on record"});
  } else {
    const double days = static_cast<double>(options.nowUnix - *newest) / 86400.0;
    items.push_back({"drill", days <= options.maxDrillAgeDays,
                     fmt::format("last drill {:.1f} day(s) ago (max {:g})", std::max(days, 0.0),
                                 options.maxDrillAgeDays)});
  }
  return items;
}

Json pairJson(const std::vector<PairItem>& items) {
  Json list = Json::array();
  bool ok = true;
  for (const PairItem& item : items) {
    ok = ok && item.ok;
    list.push_back({{"name", item.name}, {"ok", item.ok}, {"detail", item.detail}});
  }
  return {{"ok", ok}, {"items", list}};
}

}  // namespace sluice::ha
