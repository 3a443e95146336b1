#include <algorithm>
#include <cctype>
#include <cerrno>
#include <unordered_set>

#include <fmt/format.h>

#include "integrations/UispData.h"

namespace sluice::integrations::uisp {
namespace {

using nlohmann::json;

/// `object` followed along `path` ("identification", "site", "id"); nullptr when any step is
/// absent or not an object.
const json* at(const json& object, std::initializer_list<const char*> path) {
  const json* node = &object;
  for (const char* key : path) {
    if (!node->is_object()) {
      return nullptr;
    }
    auto it = node->find(key);
    if (it == node->end()) {
      return nullptr;
    }
    node = &*it;
  }
  return node;
}

std::string text(const json& object, std::initializer_list<const char*> path) {
  const json* node = at(object, path);
  if (node == nullptr) {
    return {};
  }
  if (node->is_string()) {
    return node->get<std::string>();
  }
  if (node->is_number_integer()) {
    return std::to_string(node->get<int64_t>());
  }
  return {};
}

std::optional<double> number(const json& object, std::initializer_list<const char*> path) {
  const json* node = at(object, path);
  if (node == nullptr || !node->is_number()) {
    return std::nullopt;
  }
  return node->get<double>();
}

bool flag(const json& object, std::initializer_list<const char*> path) {
  const json* node = at(object, path);
  return node != nullptr && node->is_boolean() && node->get<bool>();
}

/// The answer as an array of objects with an id at `idPath`; calls `read` for each new id.
template <typename T, typename Read>
Result<std::vector<T>> parseList(const json& answer, const std::string& what,
                                 std::initializer_list<const char*> idPath, Read read) {
  if (!answer.is_array()) {
    return makeError(EBADMSG, what,
                     fmt::format("expected a JSON array, got {}", answer.type_name()));
  }
  std::vector<T> out;
  out.reserve(answer.size());
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < answer.size(); ++i) {
    const json& item = answer[i];
    std::string id = item.is_object() ? text(item, idPath) : std::string();
    if (id.empty()) {
      return makeError(EBADMSG, what,
                       fmt::format("element {} is not an object with an id: {:.120}", i,
                                   item.dump()));
    }
    if (seen.insert(id).second) {
      out.push_back(read(item, std::move(id)));
    }
  }
  return out;
}

Interface readInterface(const json& item) {
  Interface out;
  out.type = text(item, {"identification", "type"});
  out.name = text(item, {"identification", "name"});
  out.mac = text(item, {"identification", "mac"});
  if (const json* addresses = at(item, {"addresses"}); addresses && addresses->is_array()) {
    for (const json& address : *addresses) {
      if (std::string cidr = text(address, {"cidr"}); !cidr.empty()) {
        out.cidrs.push_back(std::move(cidr));
      }
    }
  }
  out.status = text(item, {"status", "status"});
  out.speed = text(item, {"status", "speed"});
  out.currentSpeed = text(item, {"status", "currentSpeed"});
  out.dlRatio = number(item, {"wireless", "dlRatio"});
  return out;
}

}  // namespace

Result<std::vector<Site>> parseSites(const nlohmann::json& answer, const std::string& what) {
  return parseList<Site>(answer, what, {"id"}, [](const json& item, std::string id) {
    Site s;
    s.id = std::move(id);
    s.name = text(item, {"identification", "name"});
    s.endpoint = text(item, {"identification", "type"}) == "endpoint";
    s.parentId = text(item, {"identification", "parent", "id"});
    s.suspended = flag(item, {"identification", "suspended"});
    s.address = text(item, {"description", "address"});
    s.latitude = number(item, {"description", "location", "latitude"});
    s.longitude = number(item, {"description", "location", "longitude"});
    s.downloadSpeedBps = number(item, {"qos", "downloadSpeed"});
    s.uploadSpeedBps = number(item, {"qos", "uploadSpeed"});
    s.downloadBurstSize = number(item, {"qos", "downloadBurstSize"});
    s.uploadBurstSize = number(item, {"qos", "uploadBurstSize"});
    s.serviceName = text(item, {"ucrm", "service", "name"});
    return s;
  });
}

Result<std::vector<Device>> parseDevices(const nlohmann::json& answer, const std::string& what) {
  return parseList<Device>(answer, what, {"identification", "id"}, [](const json& item,
                                                                       std::string id) {
    Device d;
    d.id = std::move(id);
    d.hostname = text(item, {"identification", "hostname"});
    if (d.hostname.empty()) {
      d.hostname = text(item, {"identification", "name"});
    }
    d.mac = text(item, {"identification", "mac"});
    d.model = text(item, {"identification", "model"});
    d.modelName = text(item, {"identification", "modelName"});
    d.type = text(item, {"identification", "type"});
    d.role = text(item, {"identification", "role"});
    d.siteId = text(item, {"identification", "site", "id"});
    d.ipAddress = text(item, {"ipAddress"});
    d.apDeviceId = text(item, {"attributes", "apDevice", "id"});
    d.wirelessMode = text(item, {"overview", "wirelessMode"});
    d.downlinkCapacityBps = number(item, {"overview", "downlinkCapacity"});
    d.uplinkCapacityBps = number(item, {"overview", "uplinkCapacity"});
    d.totalCapacityBps = number(item, {"overview", "totalCapacity"});
    d.theoreticalTotalCapacityBps = number(item, {"overview", "theoreticalTotalCapacity"});
    if (const json* ids = at(item, {"overview", "wirelessActiveInterfaceIds"});
        ids && ids->is_array()) {
      for (const json& name : *ids) {
        if (name.is_string()) {
          d.wirelessActiveInterfaceIds.push_back(name.get<std::string>());
        }
      }
    }
    if (const json* interfaces = at(item, {"interfaces"}); interfaces && interfaces->is_array()) {
      for (const json& interface : *interfaces) {
        d.interfaces.push_back(readInterface(interface));
      }
    }
    return d;
  });
}

Result<std::vector<DataLink>> parseDataLinks(const nlohmann::json& answer,
                                             const std::string& what) {
  return parseList<DataLink>(answer, what, {"id"}, [](const json& item, std::string id) {
    DataLink l;
    l.id = std::move(id);
    l.from.deviceId = text(item, {"from", "device", "identification", "id"});
    l.from.siteId = text(item, {"from", "site", "identification", "id"});
    l.to.deviceId = text(item, {"to", "device", "identification", "id"});
    l.to.siteId = text(item, {"to", "site", "identification", "id"});
    const json* canDelete = at(item, {"canDelete"});
    l.canDelete = !(canDelete && canDelete->is_boolean() && !canDelete->get<bool>());
    return l;
  });
}

std::string normaliseClientName(std::string_view name) {
  size_t comma = name.find(',');
  if (comma == std::string_view::npos || name.find(',', comma + 1) != std::string_view::npos) {
    return std::string(name);
  }
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
      s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
      s.remove_suffix(1);
    }
    return s;
  };
  std::string_view last = trim(name.substr(0, comma));
  std::string_view first = trim(name.substr(comma + 1));
  static const std::unordered_set<std::string> kBusiness = {
      "llc", "inc", "corp", "corporation", "ltd", "limited", "co", "company", "lp", "llp",
      "plc", "gmbh", "incorporated", "pllc", "pc"};
  auto personal = [&](std::string_view part) {
    if (part.empty() || std::any_of(part.begin(), part.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
    std::string word;  // each word, lower case, without dots
    for (size_t i = 0; i <= part.size(); ++i) {
      char c = i < part.size() ? part[i] : ' ';
      if (std::isspace(static_cast<unsigned char>(c))) {
        if (kBusiness.contains(word)) {
          return false;
        }
        word.clear();
      } else if (c != '.') {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
    return true;
  };
  if (!personal(last) || !personal(first)) {
    return std::string(name);
  }
  return fmt::format("{} {}", first, last);
}

}  // namespace sluice::integrations::uisp
