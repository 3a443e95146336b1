#pragma once
// What the UISP integration reads from UISP NMS API v2.1 (GET /sites, /devices?withInterfaces=
// true, /data-links), reduced to the fields LibreQoS's UISP integration uses (reference §1.2,
// "API"; field names as UISP's API documents them). Parsing is strict about shape (each answer
// must be a JSON array of objects with an id) and lenient about optional fields (absent, null
// or of another type = unset), because UISP omits what a device does not report.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"

namespace sluice::integrations::uisp {

/// A site (`identification.type` "site") or a client site ("endpoint").
struct Site {
  std::string id;
  std::string name;      ///< identification.name
  bool endpoint = false;  ///< identification.type == "endpoint"
  std::string parentId;   ///< identification.parent.id
  bool suspended = false;  ///< identification.suspended
  std::string address;     ///< description.address
  std::optional<double> latitude;  ///< description.location.latitude
  std::optional<double> longitude;
  std::optional<double> downloadSpeedBps;  ///< qos.downloadSpeed (bits/s)
  std::optional<double> uploadSpeedBps;    ///< qos.uploadSpeed
  std::optional<double> downloadBurstSize;  ///< qos.downloadBurstSize (see UispCircuits.cpp)
  std::optional<double> uploadBurstSize;
  std::string serviceName;  ///< ucrm.service.name
};

struct Interface {
  std::string type;  ///< identification.type ("eth", "wlan", "sfp", ...)
  std::string name;  ///< identification.name
  std::string mac;
  std::vector<std::string> cidrs;  ///< addresses[].cidr
  std::string status;        ///< status.status ("active", "connected", "disconnected", ...)
  std::string speed;         ///< status.speed ("1000-full", "auto")
  std::string currentSpeed;  ///< status.currentSpeed
  std::optional<double> dlRatio;  ///< wireless.dlRatio (0..1 or a percentage)
};

struct Device {
  std::string id;        ///< identification.id
  std::string hostname;  ///< identification.hostname (identification.name when absent)
  std::string mac;       ///< identification.mac
  std::string model;     ///< identification.model
  std::string modelName;  ///< identification.modelName
  std::string type;       ///< identification.type ("airMax", "ltu", "edgeRouter", ...)
  std::string role;       ///< identification.role ("ap", "station", "router", ...)
  std::string siteId;     ///< identification.site.id
  std::string ipAddress;  ///< ipAddress (management address, maybe with /len)
  std::string apDeviceId;  ///< attributes.apDevice.id (a station's AP)
  std::string wirelessMode;  ///< overview.wirelessMode ("ap-ptmp", "sta-ptmp", ...)
  std::optional<double> downlinkCapacityBps;  ///< overview.downlinkCapacity
  std::optional<double> uplinkCapacityBps;
  std::optional<double> totalCapacityBps;
  std::optional<double> theoreticalTotalCapacityBps;
  std::vector<std::string> wirelessActiveInterfaceIds;  ///< overview.wirelessActiveInterfaceIds
  std::vector<Interface> interfaces;
};

/// One end of a data link.
struct LinkEnd {
  std::string deviceId;  ///< device.identification.id ("" = none)
  std::string siteId;    ///< site.identification.id
};

struct DataLink {
  std::string id;
  LinkEnd from;
  LinkEnd to;
  /// canDelete == false marks the Internet uplink (LibreQoS's root detection); absent = true.
  bool canDelete = true;
};

/// The three answers, parsed.
struct Data {
  std::vector<Site> sites;
  std::vector<Device> devices;
  std::vector<DataLink> dataLinks;
};

/// Parses each answer. Errors (EBADMSG), naming `what` (the URL) and the element: not a JSON
/// array; an element that is not an object or has no string id. Duplicate ids are dropped
/// after the first (UISP answers are deduplicated by id, as LibreQoS does).
Result<std::vector<Site>> parseSites(const nlohmann::json& answer, const std::string& what);
Result<std::vector<Device>> parseDevices(const nlohmann::json& answer, const std::string& what);
Result<std::vector<DataLink>> parseDataLinks(const nlohmann::json& answer,
                                             const std::string& what);

/// "Last, First" -> "First Last" for a client site's name (LibreQoS's UISP normalisation):
/// only with exactly one comma, two non-empty parts, no digits in either, and no business
/// suffix (llc, inc, corp, ltd, co, company, ...) in either; otherwise the name unchanged.
std::string normaliseClientName(std::string_view name);

}  // namespace sluice::integrations::uisp
