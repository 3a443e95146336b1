#include "integrations/SplynxApi.h"

#include <cerrno>
#include <unordered_set>

#include <fmt/format.h>

#include "integrations/VendorJson.h"

namespace sluice::integrations {
namespace {

constexpr size_t kMaxPages = 100'000;  // a bound on any loop driven by the server's answers

std::string baseUrl(const SplynxFetchOptions& options) {
  std::string url = options.url;
  while (!url.empty() && (url.back() == '/' || url.back() == ' ')) {
    url.pop_back();
  }
  return url + "/api/2.0/";
}

Result<nlohmann::json> getJsonArray(HttpClient& http, const SplynxFetchOptions& options,
                                    const std::string& url) {
  HttpClient::Request request;
  request.url = url;
  request.headers = {HttpClient::basicAuth(options.apiKey, options.apiSecret),
                     {"Accept", "application/json"}};
  auto response = http.fetch(request);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto json = parseJsonBody(response->body, "GET " + url);
  if (!json) {
    return json;
  }
  if (!json->is_array()) {
    return makeError(EPROTO, "GET " + url,
                     fmt::format("expected a JSON array, got {}", json->type_name()));
  }
  return json;
}

// Keeps the first row of each id; reports the rest.
template <typename Row>
void keepUnique(std::vector<Row>& rows, std::string_view what, std::vector<std::string>& warnings) {
  std::unordered_set<std::string> seen;
  std::vector<Row> unique;
  unique.reserve(rows.size());
  for (auto& row : rows) {
    if (row.id.empty()) {
      warnings.push_back(fmt::format("Splynx {} without an id: skipped", what));
    } else if (!seen.insert(row.id).second) {
      warnings.push_back(fmt::format("Splynx {} {} listed twice: the first is used", what, row.id));
    } else {
      unique.push_back(std::move(row));
    }
  }
  rows = std::move(unique);
}

std::string joinAddress(const nlohmann::json& row) {
  std::string out;
  for (const char* key : {"street_1", "city", "zip_code"}) {
    std::string part = jsonText(row, key);
    if (!part.empty()) {
      out += (out.empty() ? "" : " ") + part;
    }
  }
  return out;
}

std::string firstText(const nlohmann::json& row, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (auto text = jsonText(row, key); !text.empty()) {
      return text;
    }
  }
  return {};
}

}  // namespace

Result<std::vector<nlohmann::json>> fetchSplynxList(HttpClient& http,
                                                    const SplynxFetchOptions& options,
                                                    const std::string& path,
                                                    const std::string& query) {
  const size_t limit = std::max<size_t>(1, options.pageSize);
  std::vector<nlohmann::json> rows;
  std::unordered_set<std::string> seenIds;
  size_t offset = 0;
  for (size_t page = 0; page < kMaxPages; ++page) {
    const std::string url =
        fmt::format("{}{}?{}{}order%5Bid%5D=ASC&limit={}&offset={}", baseUrl(options), path, query,
                    query.empty() ? "" : "&", limit, offset);
    auto json = getJsonArray(http, options, url);
    if (!json) {
      return std::unexpected(json.error());
    }
    if (json->empty()) {
      return rows;
    }
    if (page == 0 && json->size() > limit) {
      // The server ignores `limit`: this one answer is the whole list.
      return std::vector<nlohmann::json>(json->begin(), json->end());
    }
    size_t fresh = 0;
    for (auto& row : *json) {
      const std::string id = jsonText(row, "id");
      if (id.empty() || seenIds.insert(id).second) {
        ++fresh;
      }
      rows.push_back(std::move(row));
    }
    if (fresh == 0) {
      return makeError(EPROTO, "GET " + url,
                       "the page repeats rows already read: the server ignores `offset`");
    }
    offset += json->size();
  }
  return makeError(EPROTO, fmt::format("GET {}{}", baseUrl(options), path),
                   fmt::format("more than {} pages", kMaxPages));
}

void typeSplynxTariffs(const std::vector<nlohmann::json>& rows, SplynxData& out) {
  for (const auto& row : rows) {
    SplynxTariff tariff;
    tariff.id = jsonId(row, "id");
    auto down = jsonNumber(row, "speed_download");
    auto up = jsonNumber(row, "speed_upload");
    if (!down || !up || *down <= 0 || *up <= 0) {
      out.warnings.push_back(fmt::format(
          "Splynx tariff {}: speed_download/speed_upload missing or not positive ('{}'/'{}'): "
          "its services get no circuit",
          tariff.id, jsonText(row, "speed_download"), jsonText(row, "speed_upload")));
      continue;
    }
    // Splynx speeds and fixed burst limits are in kbit/s; a burst above the plan raises the
    // ceiling to the burst (as LibreQoS's getTariffs).
    tariff.downloadMbps = std::max(*down, jsonNumber(row, "burst_limit_fixed_down").value_or(0));
    tariff.uploadMbps = std::max(*up, jsonNumber(row, "burst_limit_fixed_up").value_or(0));
    tariff.downloadMbps /= 1000.0;
    tariff.uploadMbps /= 1000.0;
    out.tariffs.push_back(std::move(tariff));
  }
  keepUnique(out.tariffs, "tariff", out.warnings);
}

void typeSplynxServices(const std::vector<nlohmann::json>& rows, SplynxData& out) {
  for (const auto& row : rows) {
    out.services.push_back(SplynxService{
        .id = jsonId(row, "id"),
        .customerId = jsonId(row, "customer_id"),
        .tariffId = jsonId(row, "tariff_id"),
        .status = jsonText(row, "status"),
        .ipv4 = jsonText(row, "ipv4"),
        .ipv4Route = jsonText(row, "ipv4_route"),
        .ipv6 = jsonText(row, "ipv6"),
        .ipv6Delegated = jsonText(row, "ipv6_delegated"),
        .mac = jsonText(row, "mac"),
        .accessDevice = jsonId(row, "access_device"),
        .routerId = jsonId(row, "router_id"),
    });
  }
  keepUnique(out.services, "internet service", out.warnings);
}

namespace {

void typeRest(const std::vector<nlohmann::json>& customers,
              const std::vector<nlohmann::json>& online, SplynxData& out) {
  for (const auto& row : customers) {
    out.customers.push_back({jsonId(row, "id"), jsonText(row, "name"), joinAddress(row)});
  }
  keepUnique(out.customers, "customer", out.warnings);
  for (const auto& row : online) {
    out.online.push_back({jsonId(row, "service_id"), jsonText(row, "ipv4"), jsonText(row, "ipv6")});
  }
}

void typeInfrastructure(const std::vector<nlohmann::json>& routers,
                        const std::vector<nlohmann::json>& sectors,
                        const std::vector<nlohmann::json>& monitoring,
                        const std::vector<nlohmann::json>& sites, SplynxData& out) {
  for (const auto& row : routers) {
    out.routers.push_back({jsonId(row, "id"), jsonText(row, "ip"), jsonText(row, "title")});
  }
  keepUnique(out.routers, "router", out.warnings);
  for (const auto& row : sectors) {
    out.sectors.push_back({jsonId(row, "id"), jsonId(row, "router_id")});
  }
  keepUnique(out.sectors, "router sector", out.warnings);
  for (const auto& row : monitoring) {
    SplynxHardware hw;
    hw.id = jsonId(row, "id");
    hw.name = firstText(row, {"title", "name", "address", "ip"});
    if (hw.name.empty()) {
      hw.name = hw.id;
    }
    hw.parentId = jsonId(row, "parent_id");
    if (row.is_object() && row.contains("access_device")) {
      hw.accessDevice = jsonFlag(row, "access_device");
    }
    hw.type = jsonText(row, "type");
    hw.networkSiteId = jsonId(row, "network_site_id");
    hw.gps = parseGps(jsonText(row, "gps"));
    out.monitoring.push_back(std::move(hw));
  }
  keepUnique(out.monitoring, "monitoring device", out.warnings);
  for (const auto& row : sites) {
    SplynxNetworkSite site;
    site.id = jsonId(row, "id");
    site.name = firstText(row, {"title", "description"});
    if (site.name.empty()) {
      site.name = site.id;
    }
    site.address = jsonText(row, "address");
    site.gps = parseGps(jsonText(row, "gps"));
    out.networkSites.push_back(std::move(site));
  }
  keepUnique(out.networkSites, "network site", out.warnings);
}

}  // namespace

Result<SplynxData> fetchSplynxData(HttpClient& http, const SplynxFetchOptions& options) {
  struct Want {
    const char* path;
    const char* query;
    bool infrastructure;
  };
  static constexpr Want kLists[] = {
      {"admin/tariffs/internet", "", false},
      {"admin/customers/customer", "", false},
      {"admin/customers/customers-online", "", false},
      {"admin/customers/customer/0/internet-services", "main_attributes%5Bstatus%5D=active", false},
      {"admin/networking/routers", "", true},
      {"admin/networking/routers-sectors", "", true},
      {"admin/networking/monitoring", "", true},
      {"admin/networking/network-sites", "", true},
  };
  std::vector<std::vector<nlohmann::json>> lists(std::size(kLists));
  for (size_t i = 0; i < std::size(kLists); ++i) {
    if (kLists[i].infrastructure && !options.infrastructure) {
      continue;
    }
    auto rows = fetchSplynxList(http, options, kLists[i].path, kLists[i].query);
    if (!rows) {
      return std::unexpected(rows.error());
    }
    lists[i] = std::move(*rows);
  }
  SplynxData data;
  typeSplynxTariffs(lists[0], data);
  typeRest(lists[1], lists[2], data);
  typeSplynxServices(lists[3], data);
  typeInfrastructure(lists[4], lists[5], lists[6], lists[7], data);
  return data;
}

}  // namespace sluice::integrations
