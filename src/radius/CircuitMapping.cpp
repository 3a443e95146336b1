#include "radius/CircuitMapping.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace sluice::radius {

namespace {

/// Rounds to the 0.001 Mbit/s the CSV carries, so a rate in bit/s shows as the operator wrote it.
double mbps(uint64_t bps) {
  return static_cast<double>(bps / 1000) / 1000.0;
}

struct Match {
  std::optional<size_t> circuit;
  std::string pending;  ///< "ambiguous-match" when several
  std::string detail;
};

Match matchCircuit(const Session& s, const RadiusSettings& settings, const model::Model& model,
                   const ShapedIndex& index) {
  const auto pick = [&](const std::vector<size_t>& hits, const std::string& how) -> Match {
    if (hits.size() == 1) {
      return {hits.front(), "", ""};
    }
    std::vector<std::string> ids;
    for (size_t i : hits) {
      ids.push_back(model.shaped.circuits[i].id);
    }
    return {std::nullopt, "ambiguous-match",
            fmt::format("{} matches {} circuits of ShapedDevices.csv ({})", how, hits.size(),
                        fmt::join(ids, ", "))};
  };
  if (settings.matchByMac) {
    for (const auto* text : {&s.userName, &s.callingStationId}) {
      if (!*text) {
        continue;
      }
      if (auto mac = normalizeMac(**text)) {
        if (const auto* hits = index.byMac(*mac); hits && !hits->empty()) {
          return pick(*hits, "MAC " + *mac);
        }
      }
    }
  }
  if (settings.matchByUserName && s.userName && !s.userName->empty()) {
    if (auto hits = index.byUserName(*s.userName); !hits.empty()) {
      return pick(hits, "User-Name " + *s.userName);
    }
  }
  return {};
}

bool inRange(const Session& s, const ParentRule& rule) {
  return std::ranges::any_of(s.addresses, [&](const IpNet& a) { return rule.range.contains(a); });
}

bool ruleMatches(const Session& s, const ParentRule& rule) {
  switch (rule.kind) {
    case ParentRule::Kind::Nas:
      return s.nas == rule.nas || s.nasIdentifier == rule.nas ||
             (s.nasIpAddress && s.nasIpAddress->toString() == rule.nas) ||
             (s.nasIpv6Address && s.nasIpv6Address->toString() == rule.nas);
    case ParentRule::Kind::Vlan:
      return s.nasPortId && vlanFromNasPortId(*s.nasPortId) == rule.vlan;
    case ParentRule::Kind::Range:
      return inRange(s, rule);
  }
  return false;
}

}  // namespace

std::optional<std::string> normalizeMac(const std::string& text) {
  std::string hex;
  for (const char c : text) {
    if (c == ':' || c == '-' || c == '.') {
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 12) {
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < 12; i += 2) {
    out += (out.empty() ? "" : ":") + hex.substr(i, 2);
  }
  return out;
}

std::optional<uint32_t> vlanFromNasPortId(const std::string& text) {
  std::string lower(text.size(), '\0');
  std::ranges::transform(text, lower.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t start = std::string::npos;
  if (const size_t sep = lower.find_last_of(":."); sep != std::string::npos) {
    start = sep + 1;
  } else if (const size_t v = lower.rfind("vlan"); v != std::string::npos) {
    start = v + 4;
  }
  if (start == std::string::npos || start >= lower.size()) {
    return std::nullopt;
  }
  uint32_t vlan = 0;
  const char* end = lower.data() + lower.size();
  auto [ptr, ec] = std::from_chars(lower.data() + start, end, vlan);
  if (ec != std::errc() || ptr != end || vlan < 1 || vlan > 4094) {
    return std::nullopt;
  }
  return vlan;
}

ShapedIndex::ShapedIndex(const model::ShapedDevices& shaped) : shaped_(shaped) {
  for (size_t i = 0; i < shaped.circuits.size(); ++i) {
    const model::Circuit& c = shaped.circuits[i];
    if (c.where.file == kRadiusSource) {
      continue;
    }
    id_[c.id].push_back(i);
    if (!c.name.empty()) {
      name_[c.name].push_back(i);
    }
    for (const model::Device& d : c.devices) {
      if (auto mac = normalizeMac(d.mac)) {
        auto& list = mac_[*mac];
        if (list.empty() || list.back() != i) {
          list.push_back(i);
        }
      }
    }
  }
}

const std::vector<size_t>* ShapedIndex::byMac(const std::string& mac) const {
  auto it = mac_.find(mac);
  return it == mac_.end() ? nullptr : &it->second;
}

std::vector<size_t> ShapedIndex::byUserName(const std::string& name) const {
  if (auto it = id_.find(name); it != id_.end()) {
    return it->second;
  }
  if (auto it = name_.find(name); it != name_.end()) {
    return it->second;
  }
  return {};
}

MappedSession mapSession(const Session& s, const RadiusSettings& settings,
                         const model::Model& model, const ShapedIndex& index) {
  MappedSession out;
  const auto pending = [&](std::string reason, std::string detail) {
    out.circuit.reset();
    out.pending = std::move(reason);
    out.detail = std::move(detail);
    return out;
  };
  if (s.state == SessionState::Stale) {
    return pending("stale", "the NAS sent Accounting-On/Off; waiting for accounting or expiry");
  }
  if (s.addresses.empty()) {
    return pending("missing-address", s.pendingDetail.empty()
                                          ? "no Framed address in the accounting"
                                          : s.pendingDetail);
  }
  const Match match = matchCircuit(s, settings, model, index);
  const model::Circuit* matched = match.circuit ? &model.shaped.circuits[*match.circuit] : nullptr;

  model::Circuit c;
  c.id = s.circuitId;
  c.name = s.userName.value_or(s.acctSessionId);
  c.where = SourceLocation{kRadiusSource};
  // Rates.
  const double minShare = settings.minRatePercent / 100.0;
  const ParentRule* range = nullptr;
  for (const ParentRule& r : settings.parents) {
    if (r.kind == ParentRule::Kind::Range && r.speed && inRange(s, r)) {
      range = &r;
      break;
    }
  }
  if (s.rates) {
    c.downloadMaxMbps = mbps(s.rates->downloadBps);
    c.uploadMaxMbps = mbps(s.rates->uploadBps);
    c.downloadMinMbps = c.downloadMaxMbps * minShare;
    c.uploadMinMbps = c.uploadMaxMbps * minShare;
    out.rateSource = s.rates->source;
  } else if (!match.pending.empty()) {
    return pending(match.pending, match.detail);
  } else if (matched != nullptr) {
    c.downloadMinMbps = matched->downloadMinMbps;
    c.uploadMinMbps = matched->uploadMinMbps;
    c.downloadMaxMbps = matched->downloadMaxMbps;
    c.uploadMaxMbps = matched->uploadMaxMbps;
    c.sqm = matched->sqm;
    out.rateSource = "shaped-devices:" + matched->id;
  } else if (range != nullptr) {
    const SpeedProfile& p = *range->speed;
    c.downloadMinMbps = p.downloadMinMbps;
    c.uploadMinMbps = p.uploadMinMbps;
    c.downloadMaxMbps = p.downloadMaxMbps;
    c.uploadMaxMbps = p.uploadMaxMbps;
    out.rateSource = "range:" + range->describe();
  } else if (settings.fallbackSpeed) {
    const SpeedProfile& p = *settings.fallbackSpeed;
    c.downloadMinMbps = p.downloadMinMbps;
    c.uploadMinMbps = p.uploadMinMbps;
    c.downloadMaxMbps = p.downloadMaxMbps;
    c.uploadMaxMbps = p.uploadMaxMbps;
    out.rateSource = "fallback-profile";
  } else {
    return pending("missing-rate",
                   s.pendingDetail.empty()
                       ? "no rate attribute, no matching ShapedDevices row, no fallback profile"
                       : s.pendingDetail);
  }
  if (c.downloadMaxMbps < 0.01 || c.uploadMaxMbps < 0.01) {
    return pending("missing-rate", fmt::format("rates {}/{} Mbit/s are below 0.01 Mbit/s",
                                               c.downloadMaxMbps, c.uploadMaxMbps));
  }
  // Parent.
  bool parentSet = false;
  for (const ParentRule& r : settings.parents) {
    if (ruleMatches(s, r)) {
      c.parentNode = r.node;
      out.parentSource = "rule:" + r.describe();
      parentSet = true;
      break;
    }
  }
  if (!parentSet && matched != nullptr) {
    c.parentNode = matched->parentNode;
    out.parentSource = "shaped-devices:" + matched->id;
    parentSet = true;
  }
  if (!parentSet && settings.fallbackParentNode) {
    c.parentNode = *settings.fallbackParentNode;
    out.parentSource = "fallback";
    parentSet = true;
  }
  if (!parentSet && model.network.nodes.empty()) {
    out.parentSource = "flat";
    parentSet = true;
  }
  if (!parentSet) {
    return pending("missing-parent",
                   "no parent rule matches (NAS, VLAN, range), no matching ShapedDevices row "
                   "and no fallback_parent_node");
  }
  if (!c.parentNode.empty() && model.network.find(c.parentNode) == model::kNoNode) {
    return pending("unknown-parent", fmt::format("parent node {} ({}) is not in network.json",
                                                 c.parentNode, out.parentSource));
  }
  model::Device d;
  d.id = s.circuitId;
  d.name = s.userName.value_or("");
  if (s.callingStationId) {
    d.mac = normalizeMac(*s.callingStationId).value_or("");
  }
  for (const IpNet& a : s.addresses) {
    (a.isV4 ? d.ipv4 : d.ipv6).push_back(a);
  }
  d.where = c.where;
  c.devices.push_back(std::move(d));
  out.circuit = std::move(c);
  return out;
}

}  // namespace sluice::radius
