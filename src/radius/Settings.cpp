#include "radius/Settings.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/OtherSection.h"

namespace sluice::radius {

namespace {

using config::OtherSection;

std::unexpected<Error> bad(const std::string& configPath, const std::string& what,
                           const std::string& expected) {
  return makeError(EINVAL, configPath, fmt::format("{}: {}", what, expected));
}

/// A speed profile from keys "<prefix>download_min_mbps" ... of `section`; nullopt when none of
/// the four is present.
Result<std::optional<SpeedProfile>> readSpeed(OtherSection& section, const std::string& prefix,
                                              const std::string& configPath) {
  SpeedProfile p;
  bool any = false;
  for (auto [key, out] : {std::pair{"download_min_mbps", &p.downloadMinMbps},
                          std::pair{"upload_min_mbps", &p.uploadMinMbps},
                          std::pair{"download_max_mbps", &p.downloadMaxMbps},
                          std::pair{"upload_max_mbps", &p.uploadMaxMbps}}) {
    any = any || section.node(prefix + key) != nullptr;
    section.read(prefix + key, *out);
  }
  if (!any) {
    return std::nullopt;
  }
  const std::string what = fmt::format("[{}] {}", section.name(), prefix);
  if (p.downloadMinMbps <= 0 || p.uploadMinMbps <= 0 || p.downloadMaxMbps <= 0 ||
      p.uploadMaxMbps <= 0) {
    return bad(configPath, what + "*_mbps",
               fmt::format("all four rates must be > 0 (download {}/{}, upload {}/{})",
                           p.downloadMinMbps, p.downloadMaxMbps, p.uploadMinMbps, p.uploadMaxMbps));
  }
  if (p.downloadMinMbps > p.downloadMaxMbps || p.uploadMinMbps > p.uploadMaxMbps) {
    return bad(configPath, what + "*_mbps", "min must not exceed max");
  }
  return p;
}

double number(const toml::table& t, const char* key) {
  if (const auto* n = t.get(key)) {
    if (auto v = n->value<double>()) {
      return *v;
    }
  }
  return 0;
}

Result<void> readClients(OtherSection& section, const std::string& configPath,
                         std::vector<ClientConfig>& out) {
  const toml::node* n = section.node("clients");
  if (n == nullptr) {
    return {};
  }
  const toml::array* list = n->as_array();
  if (list == nullptr) {
    return bad(configPath, fmt::format("[{}] clients", section.name()), "expected [[clients]]");
  }
  out.clear();
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::table* t = (*list)[i].as_table();
    const std::string what = fmt::format("[[{}.clients]] #{}", section.name(), i + 1);
    if (t == nullptr) {
      return bad(configPath, what, "expected a table {name, source, secret_file}");
    }
    ClientConfig c;
    c.name = t->get("name") ? t->get("name")->value_or(std::string()) : "";
    c.secretFile = t->get("secret_file") ? t->get("secret_file")->value_or(std::string()) : "";
    if (const toml::node* s = t->get("source")) {
      if (auto one = s->value<std::string>()) {
        c.sources.push_back(*one);
      } else if (const toml::array* many = s->as_array()) {
        for (const toml::node& item : *many) {
          c.sources.push_back(item.value_or(std::string()));
        }
      }
    }
    if (c.name.empty() || c.secretFile.empty() || c.sources.empty()) {
      return bad(configPath, what, "needs name, source (address, CIDR or a list) and secret_file");
    }
    out.push_back(std::move(c));
  }
  return {};
}

/// [[radius.parents]] {node, nas | vlan | range}.
Result<void> readParents(OtherSection& section, const std::string& configPath,
                         std::vector<ParentRule>& out) {
  const toml::node* n = section.node("parents");
  if (n == nullptr || n->as_array() == nullptr) {
    return {};
  }
  const toml::array& list = *n->as_array();
  for (size_t i = 0; i < list.size(); ++i) {
    const toml::table* t = list[i].as_table();
    const std::string what = fmt::format("[[radius.parents]] #{}", i + 1);
    const char* expected = "needs node and exactly one of nas, vlan (1-4094) or range (CIDR)";
    if (t == nullptr) {
      return bad(configPath, what, expected);
    }
    ParentRule r;
    r.node = t->get("node") ? t->get("node")->value_or(std::string()) : "";
    const int given = (t->contains("nas") ? 1 : 0) + (t->contains("vlan") ? 1 : 0) +
                      (t->contains("range") ? 1 : 0);
    if (r.node.empty() || given != 1) {
      return bad(configPath, what, expected);
    }
    if (t->contains("nas")) {
      r.kind = ParentRule::Kind::Nas;
      r.nas = t->get("nas")->value_or(std::string());
      if (r.nas.empty()) {
        return bad(configPath, what, "nas must be a NAS-Identifier or NAS address");
      }
    } else if (t->contains("vlan")) {
      r.kind = ParentRule::Kind::Vlan;
      const int64_t vlan = t->get("vlan")->value_or(int64_t{0});
      if (vlan < 1 || vlan > 4094) {
        return bad(configPath, what, fmt::format("vlan = {}: expected 1-4094", vlan));
      }
      r.vlan = static_cast<uint32_t>(vlan);
    } else {
      r.kind = ParentRule::Kind::Range;
      const std::string text = t->get("range")->value_or(std::string());
      auto net = IpNet::parse(text);
      if (!net) {
        return bad(configPath, what, fmt::format("range = \"{}\": expected a CIDR", text));
      }
      r.range = *net;
    }
    out.push_back(std::move(r));
  }
  return {};
}

/// [dynamic_circuits] ranges = [{name, ip_range, attach_to, download/upload_min/max_mbps}].
Result<void> readRanges(OtherSection& section, const std::string& configPath,
                        std::vector<ParentRule>& out) {
  const toml::node* n = section.node("ranges");
  if (n == nullptr || n->as_array() == nullptr) {
    return {};
  }
  const toml::array& list = *n->as_array();
  for (size_t i = 0; i < list.size(); ++i) {
    const toml::table* t = list[i].as_table();
    const std::string what = fmt::format("[dynamic_circuits] ranges #{}", i + 1);
    if (t == nullptr) {
      return bad(configPath, what, "expected a table {name, ip_range, attach_to, ...}");
    }
    ParentRule r;
    r.kind = ParentRule::Kind::Range;
    r.name = t->get("name") ? t->get("name")->value_or(std::string()) : "";
    r.node = t->get("attach_to") ? t->get("attach_to")->value_or(std::string()) : "";
    const std::string text = t->get("ip_range") ? t->get("ip_range")->value_or(std::string()) : "";
    auto net = IpNet::parse(text);
    if (!net) {
      return bad(configPath, what, fmt::format("ip_range = \"{}\": expected a CIDR", text));
    }
    r.range = *net;
    SpeedProfile p{number(*t, "download_min_mbps"), number(*t, "upload_min_mbps"),
                   number(*t, "download_max_mbps"), number(*t, "upload_max_mbps")};
    if (p.downloadMaxMbps > 0 && p.uploadMaxMbps > 0) {
      if (p.downloadMinMbps <= 0 || p.uploadMinMbps <= 0 || p.downloadMinMbps > p.downloadMaxMbps ||
          p.uploadMinMbps > p.uploadMaxMbps) {
        return bad(configPath, what, "rates must be > 0 with min <= max");
      }
      r.speed = p;
    }
    out.push_back(std::move(r));
  }
  return {};
}

Result<void> readPort(OtherSection& section, const char* key, const std::string& configPath,
                      uint16_t& out) {
  if (section.node(key) == nullptr) {
    return {};
  }
  int64_t port = -1;
  section.read(key, port);
  if (port < 1 || port > 65535) {
    return bad(configPath, fmt::format("[{}] {} = {}", section.name(), key, section.raw(key)),
               "expected a port 1-65535");
  }
  out = static_cast<uint16_t>(port);
  return {};
}

Result<void> readListen(OtherSection& section, const std::string& configPath,
                        ServerConfig& server) {
  std::string listen;
  section.read("listen", listen);
  if (listen.empty()) {
    return {};
  }
  auto parsed = parseListen(listen, server.accountingPort);
  if (!parsed) {
    return bad(configPath, fmt::format("[{}] listen = \"{}\"", section.name(), listen),
               parsed.error().detail);
  }
  server.bindAddress = parsed->first;
  server.accountingPort = parsed->second;
  return {};
}

}  // namespace

std::string ParentRule::describe() const {
  switch (kind) {
    case Kind::Nas:
      return "nas " + nas;
    case Kind::Vlan:
      return fmt::format("vlan {}", vlan);
    case Kind::Range:
      return "range " + range.toString() + (name.empty() ? "" : " (" + name + ")");
  }
  return "";
}

Result<std::pair<std::string, uint16_t>> parseListen(const std::string& text, uint16_t port) {
  std::string host = text;
  std::string portText;
  if (text.starts_with("[")) {
    const size_t close = text.find(']');
    if (close == std::string::npos) {
      return makeError(EINVAL, text, "expected [IPv6]:port");
    }
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return makeError(EINVAL, text, "expected [IPv6]:port");
      }
      portText = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    portText = text.substr(text.find(':') + 1);
  }
  in6_addr a6{};
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1 && inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
    return makeError(EINVAL, text, "expected an IPv4 or IPv6 address, optionally with :port");
  }
  if (!portText.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), value);
    if (ec != std::errc() || end != portText.data() + portText.size() || value == 0 ||
        value > 65535) {
      return makeError(EINVAL, text, "the port must be 1-65535");
    }
    port = static_cast<uint16_t>(value);
  }
  return std::pair{host, port};
}

Result<RadiusSettings> readRadiusSettings(const config::Config& config,
                                          const std::string& configPath) {
  RadiusSettings s;
  auto& dispatcher = s.server.dispatcher;
  for (const char* name : {"radius_accounting", "dynamic_circuits", "radius"}) {
    if (config.otherSections.contains(name)) {
      s.sections.emplace_back(name);
    }
  }
  // LibreQoS's names first.
  OtherSection acct(config, "radius_accounting");
  acct.read("enabled", s.enabled);
  if (auto ok = readListen(acct, configPath, s.server); !ok) {
    return std::unexpected(ok.error());
  }
  acct.read("default_ttl_seconds", dispatcher.sessions.ttlSec);
  acct.read("stale_grace_seconds", dispatcher.sessions.staleGraceSec);
  if (auto ok = readClients(acct, configPath, s.clients); !ok) {
    return std::unexpected(ok.error());
  }
  auto speed = readSpeed(acct, "fallback_speed_profile.", configPath);
  if (!speed) {
    return std::unexpected(speed.error());
  }
  s.fallbackSpeed = *speed;
  acct.read("dynamic_circuit_application.match_shaped_devices_by_mac", s.matchByMac);
  acct.read("dynamic_circuit_application.match_shaped_devices_by_username", s.matchByUserName);
  if (std::string parent; acct.node("dynamic_circuit_application.fallback_parent_node")) {
    acct.read("dynamic_circuit_application.fallback_parent_node", parent);
    s.fallbackParentNode = parent;
  }
  OtherSection dynamic(config, "dynamic_circuits");
  if (auto ok = readRanges(dynamic, configPath, s.parents); !ok) {
    return std::unexpected(ok.error());
  }

  // Sluice's [radius], key by key over the above.
  OtherSection r(config, "radius");
  r.read("enabled", s.enabled);
  if (auto ok = readListen(r, configPath, s.server); !ok) {
    return std::unexpected(ok.error());
  }
  for (auto [key, out] : {std::pair{"accounting_port", &s.server.accountingPort},
                          std::pair{"coa_port", &s.server.coaPort}}) {
    if (auto ok = readPort(r, key, configPath, *out); !ok) {
      return std::unexpected(ok.error());
    }
  }
  r.read("coa_enabled", s.server.coaEnabled);
  r.read("session_ttl_seconds", dispatcher.sessions.ttlSec);
  r.read("stale_grace_seconds", dispatcher.sessions.staleGraceSec);
  r.read("event_timestamp_window_seconds", dispatcher.eventTimestampWindowSec);
  r.read("duplicate_window_seconds", dispatcher.duplicateWindowSec);
  r.read("require_event_timestamp", dispatcher.requireEventTimestamp);
  r.read("require_message_authenticator", dispatcher.requireMessageAuthenticator);
  r.read("mikrotik_rx_is_download", dispatcher.decode.mikrotikRxIsDownload);
  r.read("match_shaped_devices_by_mac", s.matchByMac);
  r.read("match_shaped_devices_by_username", s.matchByUserName);
  if (std::string parent; r.node("fallback_parent_node")) {
    r.read("fallback_parent_node", parent);
    s.fallbackParentNode = parent;
  }
  r.read("min_rate_percent", s.minRatePercent);
  r.read("batch_window_ms", s.batchWindowMs);
  r.read("sessions_file", s.sessionsFile);
  if (auto ok = readClients(r, configPath, s.clients); !ok) {
    return std::unexpected(ok.error());
  }
  speed = readSpeed(r, "fallback_speed_profile.", configPath);
  if (!speed) {
    return std::unexpected(speed.error());
  }
  if (*speed) {
    s.fallbackSpeed = *speed;
  }
  std::vector<ParentRule> rules;
  if (auto ok = readParents(r, configPath, rules); !ok) {
    return std::unexpected(ok.error());
  }
  // [radius] rules first: they are the operator's explicit mapping, ranges the LibreQoS one.
  rules.insert(rules.end(), s.parents.begin(), s.parents.end());
  s.parents = std::move(rules);

  if (!(s.minRatePercent > 0 && s.minRatePercent <= 100)) {
    return bad(configPath, fmt::format("[radius] min_rate_percent = {}", s.minRatePercent),
               "expected a percentage in (0, 100]");
  }
  if (dispatcher.sessions.ttlSec < 1 || dispatcher.sessions.staleGraceSec < 1) {
    return bad(configPath, "[radius] session_ttl_seconds / stale_grace_seconds",
               "expected at least 1 second");
  }
  if (s.enabled && s.clients.empty()) {
    return bad(configPath, "[radius] enabled = true",
               "no client: add [[radius.clients]] name, source and secret_file");
  }
  return s;
}

}  // namespace sluice::radius
