#include "integrations/UispCapacity.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace sluice::integrations::uisp {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool wireless(const Interface& i) {
  std::string type = lower(i.type);
  return type == "wlan" || type == "wifi" || type == "wireless";
}

bool transport(const Interface& i) {
  if (wireless(i)) {
    return false;
  }
  std::string type = lower(i.type);
  if (type == "eth" || type == "ethernet" || type == "sfp" || type == "sfp+" ||
      type == "sfpplus" || type == "fiber" || type == "optical") {
    return true;
  }
  std::string name = lower(i.name);
  return name.starts_with("eth") || name.starts_with("sfp") || name.starts_with("fiber");
}

/// currentSpeed, else speed when the port says it is up.
std::optional<double> negotiated(const Interface& i) {
  if (!i.currentSpeed.empty()) {
    return parseSpeedMbps(i.currentSpeed);
  }
  std::string status = lower(i.status);
  if (status == "connected" || status == "up" || status == "active") {
    return parseSpeedMbps(i.speed);
  }
  return std::nullopt;
}

std::optional<double> mbps(std::optional<double> bps) {
  if (!bps || !(*bps > 0)) {
    return std::nullopt;
  }
  return *bps / 1e6;
}

/// dlRatio as a fraction: < 1 as is, 1..100 a percentage; else nullopt.
std::optional<double> normaliseRatio(std::optional<double> raw) {
  if (!raw || !std::isfinite(*raw) || *raw <= 0) {
    return std::nullopt;
  }
  if (*raw < 1) {
    return *raw;
  }
  if (*raw <= 100) {
    return *raw / 100;
  }
  return std::nullopt;
}

/// The dlRatio of the first active wireless interface that has one, else of the first
/// wlan/wifi/wireless interface that has one.
std::optional<double> activeDlRatio(const Device& d) {
  for (const std::string& active : d.wirelessActiveInterfaceIds) {
    for (const Interface& i : d.interfaces) {
      if (i.name == active && i.dlRatio) {
        if (auto ratio = normaliseRatio(i.dlRatio)) {
          return ratio;
        }
      }
    }
  }
  for (const Interface& i : d.interfaces) {
    if (wireless(i) && i.dlRatio) {
      return normaliseRatio(i.dlRatio);
    }
  }
  return std::nullopt;
}

std::optional<Capacity> airmaxFlexibleFrame(const Device& d, const CapacityRules& rules) {
  if (lower(d.type) != "airmax" || lower(d.role) != "ap" || lower(d.wirelessMode) != "ap-ptmp") {
    return std::nullopt;
  }
  std::optional<double> ratio = activeDlRatio(d);
  if (!ratio && !(d.theoreticalTotalCapacityBps.value_or(0) > 0)) {
    return std::nullopt;
  }
  std::optional<double> total = mbps(d.totalCapacityBps);
  if (!total) {
    auto down = mbps(d.downlinkCapacityBps);
    auto up = mbps(d.uplinkCapacityBps);
    if (!down || !up) {
      return std::nullopt;
    }
    total = std::max(*down, *up);
  }
  double totalMbps = *total * rules.airmaxCapacity;
  double downRatio = ratio.value_or(rules.airmaxDownloadRatio);
  if (!(totalMbps > 0) || !(1 - downRatio > 0)) {
    return std::nullopt;
  }
  return Capacity{std::round(totalMbps * downRatio), std::round(totalMbps * (1 - downRatio)), 0};
}

std::string modelKey(const Device& d) {
  std::string out;
  for (char c : d.model) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

}  // namespace

std::optional<double> parseSpeedMbps(std::string_view text) {
  std::string s = lower(text);
  s.erase(0, s.find_first_not_of(" \t"));
  size_t end = 0;
  while (end < s.size() && (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == '.')) {
    ++end;
  }
  if (end == 0) {
    return std::nullopt;
  }
  double value = 0;
  try {
    value = std::stod(s.substr(0, end));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!std::isfinite(value) || value <= 0) {
    return std::nullopt;
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  bool giga = s.find("gbps") != std::string::npos || s.ends_with('g');
  return std::round(value * (giga ? 1000 : 1));
}

std::optional<double> transportLineRateMbps(const Device& device) {
  std::optional<double> best;
  for (const Interface& i : device.interfaces) {
    if (!transport(i)) {
      continue;
    }
    if (auto speed = negotiated(i); speed && (!best || *speed > *best)) {
      best = speed;
    }
  }
  return best;
}

std::optional<double> subscriberEthernetMbps(const Device& device) {
  std::optional<double> best;
  for (const Interface& i : device.interfaces) {
    if (wireless(i)) {
      continue;
    }
    if (auto speed = negotiated(i); speed && (!best || *speed < *best)) {
      best = speed;
    }
  }
  return best;
}

Capacity deviceCapacity(const Device& device, const CapacityRules& rules) {
  Capacity out;
  if (auto airmax = airmaxFlexibleFrame(device, rules)) {
    out = *airmax;
  } else {
    out.downloadMbps = std::floor(device.downlinkCapacityBps.value_or(0) / 1e6);
    out.uploadMbps = std::floor(device.uplinkCapacityBps.value_or(0) / 1e6);
    const std::string& model = device.model;
    if (model.find("5AC") != std::string::npos) {
      out.downloadMbps = std::floor(out.downloadMbps * rules.airmaxCapacity);
      out.uploadMbps = std::floor(out.uploadMbps * rules.airmaxCapacity);
    }
    if (model.find("LTU") != std::string::npos) {
      out.downloadMbps = std::floor(out.downloadMbps * rules.ltuCapacity);
      out.uploadMbps = std::floor(out.uploadMbps * rules.ltuCapacity);
    }
  }
  if (!(out.downloadMbps > 0)) {
    out.downloadMbps = rules.generatedDownloadMbps;
  }
  if (!(out.uploadMbps > 0)) {
    out.uploadMbps = rules.generatedUploadMbps;
  }
  if (rules.transportCaps) {
    std::optional<double> line = transportLineRateMbps(device);
    if (!line && modelKey(device) == "AF60LR") {
      line = 1000;  // AF60-LR: 1 GbE ports only (LibreQoS's model table)
    }
    if (line) {
      double cap = std::round(*line * rules.ethernetMultiplier);
      if (cap > 0 && (out.downloadMbps > cap || out.uploadMbps > cap)) {
        out.downloadMbps = std::min(out.downloadMbps, cap);
        out.uploadMbps = std::min(out.uploadMbps, cap);
        out.transportCapMbps = cap;
      }
    }
  }
  return out;
}

}  // namespace sluice::integrations::uisp
