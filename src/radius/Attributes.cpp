#include "radius/Attributes.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace sluice::radius {

namespace {

std::string text(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

void maskTo(IpNet& net) {
  for (int i = 0; i < 16; ++i) {
    const int bits = static_cast<int>(net.prefixLen) - i * 8;
    if (bits < 8) {
      net.addr[i] &= bits <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - bits));
    }
  }
}

std::optional<IpNet> v4(const std::vector<uint8_t>& v) {
  if (v.size() != 4) {
    return std::nullopt;
  }
  IpNet n;
  n.isV4 = true;
  n.addr[10] = n.addr[11] = 0xFF;
  std::copy(v.begin(), v.end(), n.addr.begin() + 12);
  return n;
}

std::optional<IpNet> v6(const std::vector<uint8_t>& v) {
  if (v.size() != 16) {
    return std::nullopt;
  }
  IpNet n;
  std::copy(v.begin(), v.end(), n.addr.begin());
  return n;
}

/// Framed-IPv6-Prefix / Delegated-IPv6-Prefix: Reserved(1) Prefix-Length(1) Prefix(0..16),
/// RFC 3162 §2.3 and RFC 4818 §3. Bits beyond the length are cleared.
std::optional<IpNet> v6Prefix(const std::vector<uint8_t>& v) {
  if (v.size() < 2 || v.size() > 18 || v[1] > 128 || (v.size() - 2) * 8 < v[1]) {
    return std::nullopt;
  }
  IpNet n;
  std::copy(v.begin() + 2, v.end(), n.addr.begin());
  n.prefixLen = v[1];
  maskTo(n);
  return n;
}

/// Framed-Route (RFC 2865 §5.22): "prefix[/len] gateway metrics"; the first token is the route.
std::optional<IpNet> framedRoute(const std::string& s) {
  const auto end = s.find(' ');
  auto first = s.substr(0, end);
  if (first.find('/') == std::string::npos) {
    first += first.find(':') == std::string::npos ? "/32" : "/128";
  }
  return IpNet::parse(first);
}

std::string hex(const std::vector<uint8_t>& v) {
  std::string out;
  for (auto b : v) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

void wispr(const Packet& p, RequestInfo& info) {
  const auto up = p.findVendor(kVendorWispr, kWisprBandwidthMaxUp);
  const auto down = p.findVendor(kVendorWispr, kWisprBandwidthMaxDown);
  if (!up && !down) {
    return;
  }
  const uint32_t upBps = up ? asUint32(*up).value_or(0) : 0;
  const uint32_t downBps = down ? asUint32(*down).value_or(0) : 0;
  if (upBps == 0 || downBps == 0) {
    info.problems.push_back(
        fmt::format("WISPr-Bandwidth-Max: need both Up and Down > 0 (up {}, down {})",
                    up ? hex(*up) : "absent", down ? hex(*down) : "absent"));
    return;
  }
  info.rates = Rates{downBps, upBps, std::nullopt, std::nullopt, "WISPr-Bandwidth-Max"};
}

void one(const Attribute& a, RequestInfo& info) {
  const auto bad = [&](std::string_view name) {
    info.problems.push_back(fmt::format("{}: cannot read value {}", name, hex(a.value)));
  };
  const auto addAddr = [&](std::optional<IpNet> n, std::string_view name) {
    n ? info.addresses.push_back(*n) : bad(name);
  };
  switch (a.type) {
    case attr::kUserName:
      info.userName = text(a.value);
      break;
    case attr::kNasIdentifier:
      info.nasIdentifier = text(a.value);
      break;
    case attr::kAcctSessionId:
      info.acctSessionId = text(a.value);
      break;
    case attr::kCallingStationId:
      info.callingStationId = text(a.value);
      break;
    case attr::kNasPortId:
      info.nasPortId = text(a.value);
      break;
    case attr::kClass:
      info.classes.push_back(a.value);
      break;
    case attr::kNasIpAddress:
      (info.nasIpAddress = v4(a.value)) ? void() : bad("NAS-IP-Address");
      break;
    case attr::kNasIpv6Address:
      (info.nasIpv6Address = v6(a.value)) ? void() : bad("NAS-IPv6-Address");
      break;
    case attr::kFramedIpAddress:
      addAddr(v4(a.value), "Framed-IP-Address");
      break;
    case attr::kFramedIpv6Address:
      addAddr(v6(a.value), "Framed-IPv6-Address");
      break;
    case attr::kFramedIpv6Prefix:
      addAddr(v6Prefix(a.value), "Framed-IPv6-Prefix");
      break;
    case attr::kDelegatedIpv6Prefix:
      addAddr(v6Prefix(a.value), "Delegated-IPv6-Prefix");
      break;
    case attr::kFramedRoute:
      addAddr(framedRoute(text(a.value)), "Framed-Route");
      break;
    case attr::kAcctStatusType:
      (info.acctStatusType = asUint32(a.value)) ? void() : bad("Acct-Status-Type");
      break;
    case attr::kEventTimestamp:
      (info.eventTimestamp = asUint32(a.value)) ? void() : bad("Event-Timestamp");
      break;
    case attr::kErrorCause:
      (info.errorCause = asUint32(a.value)) ? void() : bad("Error-Cause");
      break;
    default:
      break;
  }
}

}  // namespace

std::optional<std::string> RequestInfo::nasIdentity() const {
  if (nasIdentifier && !nasIdentifier->empty()) {
    return *nasIdentifier;
  }
  if (nasIpAddress) {
    return nasIpAddress->toString();
  }
  if (nasIpv6Address) {
    return nasIpv6Address->toString();
  }
  return std::nullopt;
}

RequestInfo decode(const Packet& packet, const DecodeOptions& options) {
  RequestInfo info;
  for (const auto& a : packet.attributes) {
    one(a, info);
  }
  if (const auto mt = packet.findVendor(kVendorMikrotik, kMikrotikRateLimit)) {
    auto rates = parseMikrotikRateLimit(text(*mt), options);
    if (rates) {
      info.rates = std::move(*rates);
    } else {
      info.problems.push_back(fmt::format("MikroTik-Rate-Limit: {}", rates.error().detail));
    }
  }
  if (!info.rates) {
    wispr(packet, info);
  }
  return info;
}

Result<uint64_t> parseMikrotikRate(std::string_view t) {
  uint64_t mult = 1;
  std::string_view digits = t;
  if (!t.empty()) {
    switch (t.back()) {
      case 'k':
      case 'K':
        mult = 1'000;
        break;
      case 'M':
      case 'm':
        mult = 1'000'000;
        break;
      case 'G':
      case 'g':
        mult = 1'000'000'000;
        break;
      default:
        break;
    }
    if (mult != 1) {
      digits.remove_suffix(1);
    }
  }
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size() ||
      v > UINT64_MAX / mult) {
    return makeError(EINVAL, "MikroTik rate", fmt::format("cannot read rate '{}'", t));
  }
  return v * mult;
}

Result<Rates> parseMikrotikRateLimit(std::string_view t, const DecodeOptions& options) {
  std::vector<std::string_view> tokens;
  for (size_t pos = 0; pos < t.size();) {
    const auto end = std::min(t.find(' ', pos), t.size());
    if (end > pos) {
      tokens.push_back(t.substr(pos, end - pos));
    }
    pos = end + 1;
  }
  const auto pair = [&](std::string_view tok) -> Result<std::pair<uint64_t, uint64_t>> {
    const auto slash = tok.find('/');
    if (slash == std::string_view::npos) {
      return makeError(EINVAL, "MikroTik-Rate-Limit",
                       fmt::format("'{}' in '{}' is not an rx/tx pair", tok, t));
    }
    auto rx = parseMikrotikRate(tok.substr(0, slash));
    auto tx = parseMikrotikRate(tok.substr(slash + 1));
    if (!rx || !tx) {
      return makeError(EINVAL, "MikroTik-Rate-Limit",
                       fmt::format("'{}' in '{}': {}", tok, t, (!rx ? rx : tx).error().detail));
    }
    return std::pair{*rx, *tx};
  };
  if (tokens.empty()) {
    return makeError(EINVAL, "MikroTik-Rate-Limit", "empty value");
  }
  auto rate = pair(tokens[0]);
  if (!rate) {
    return std::unexpected(rate.error());
  }
  if (rate->first == 0 || rate->second == 0) {
    return makeError(EINVAL, "MikroTik-Rate-Limit", fmt::format("zero rate in '{}'", t));
  }
  const bool swap = options.mikrotikRxIsDownload;
  Rates r;
  r.source = "MikroTik-Rate-Limit";
  r.uploadBps = swap ? rate->second : rate->first;
  r.downloadBps = swap ? rate->first : rate->second;
  if (tokens.size() > 1) {
    auto burst = pair(tokens[1]);
    if (!burst) {
      return std::unexpected(burst.error());
    }
    r.uploadBurstBps = swap ? burst->second : burst->first;
    r.downloadBurstBps = swap ? burst->first : burst->second;
  }
  return r;
}

}  // namespace sluice::radius
