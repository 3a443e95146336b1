#include "flowexport/Settings.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/OtherSection.h"

namespace sluice::flowexport {

namespace {

constexpr const char* kSection = "flows";

bool isIpLiteral(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

/// The line of [flows] `key` in the file at `path`, 0 when the file or key cannot be found.
uint32_t lineOf(const std::string& path, const std::string& key) {
  try {
    const toml::table table = toml::parse_file(path);
    if (const toml::node* n = table[kSection][key].node()) {
      return n->source().begin.line;
    }
  } catch (const toml::parse_error&) {
  }
  return 0;
}

std::unexpected<Error> invalid(const config::OtherSection& section, const std::string& path,
                               const std::string& key, std::string_view expected) {
  const uint32_t line = lineOf(path, key);
  const std::string where = line > 0 ? fmt::format("{}:{}", path, line) : path;
  return makeError(EINVAL, where,
                   fmt::format("{}.{} = {}: {}", kSection, key, section.raw(key), expected));
}

}  // namespace

std::string CollectorAddress::label() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

Result<WireFormat> formatFromVersion(int64_t version) {
  switch (version) {
    case 5:
      return WireFormat::kNetflowV5;
    case 9:
      return WireFormat::kNetflowV9;
    case 10:
      return WireFormat::kIpfix;
    default:
      return makeError(EINVAL, "flow export version",
                       fmt::format("{}: expected 5, 9 or 10 (IPFIX)", version));
  }
}

Result<CollectorAddress> parseCollector(const std::string& text, WireFormat defaultFormat) {
  CollectorAddress out;
  out.format = defaultFormat;
  std::string rest = text;
  if (const size_t slash = rest.rfind('/'); slash != std::string::npos) {
    int version = 0;
    const std::string v = rest.substr(slash + 1);
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (ec != std::errc() || end != v.data() + v.size()) {
      return makeError(EINVAL, text, "expected HOST:PORT or HOST:PORT/VERSION");
    }
    auto format = formatFromVersion(version);
    if (!format) {
      return std::unexpected(format.error());
    }
    out.format = *format;
    rest.resize(slash);
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return makeError(EINVAL, text, "expected HOST:PORT (IPv6 as [ADDRESS]:PORT)");
  }
  std::string host = rest.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return makeError(EINVAL, text, "an IPv6 collector is written [ADDRESS]:PORT");
  }
  const std::string port = rest.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return makeError(EINVAL, text, "the port must be 1..65535");
  }
  if (!isIpLiteral(host)) {
    return makeError(EINVAL, text, "the collector must be an IPv4 or IPv6 address");
  }
  out.host = host;
  out.port = static_cast<uint16_t>(value);
  return out;
}

Result<FlowSettings> readFlowSettings(const config::Config& config, const std::string& configPath) {
  config::OtherSection section(config, kSection);
  FlowSettings s;
  bool enabled = false;
  section.read("netflow_enabled", enabled);
  section.read("flow_timeout_seconds", s.flowTimeoutSeconds);
  section.read("active_timeout_seconds", s.activeTimeoutSeconds);
  section.read("template_refresh_seconds", s.templateRefreshSeconds);
  section.read("observation_domain_id", s.observationDomainId);
  for (const char* key :
       {"flow_timeout_seconds", "active_timeout_seconds", "template_refresh_seconds"}) {
    uint32_t v = 1;
    section.read(key, v);
    if (v == 0) {
      return invalid(section, configPath, key, "expected at least 1 second");
    }
  }
  int64_t version = 9;
  section.read("netflow_version", version);
  auto format = formatFromVersion(version);
  if (!format) {
    return invalid(section, configPath, "netflow_version", "expected 5, 9 or 10 (IPFIX)");
  }
  std::string ip;
  uint32_t port = 0;
  section.read("netflow_ip", ip);
  section.read("netflow_port", port);
  if (!ip.empty() || port != 0) {
    if (section.raw("netflow_ip").empty()) {
      return invalid(section, configPath, "netflow_port", "netflow_ip is missing");
    }
    if (!isIpLiteral(ip)) {
      return invalid(section, configPath, "netflow_ip", "expected an IPv4 or IPv6 address");
    }
    if (section.raw("netflow_port").empty()) {
      return invalid(section, configPath, "netflow_ip", "netflow_port is missing");
    }
    if (port == 0) {
      return invalid(section, configPath, "netflow_port", "expected a port 1..65535");
    }
    s.collectors.push_back(CollectorAddress{ip, static_cast<uint16_t>(port), *format});
  }
  std::vector<std::string> list;
  section.read("netflow_collectors", list);
  for (const std::string& entry : list) {
    auto collector = parseCollector(entry, *format);
    if (!collector) {
      return invalid(section, configPath, "netflow_collectors",
                     fmt::format("entry \"{}\": {}", entry, collector.error().detail));
    }
    s.collectors.push_back(*collector);
  }
  if (enabled && s.collectors.empty()) {
    return invalid(section, configPath, "netflow_enabled",
                   "no collector: set netflow_ip and netflow_port, or netflow_collectors");
  }
  s.enabled = enabled;
  return s;
}

}  // namespace sluice::flowexport
