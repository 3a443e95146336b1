#include "integrations/SonarApi.h"

#include <algorithm>
#include <cerrno>
#include <set>

#include <fmt/format.h>

#include "integrations/VendorJson.h"

namespace sluice::integrations {
namespace {

constexpr size_t kMaxPages = 100'000;

constexpr const char* kPageInfo = "page_info { page records_per_page total_count total_pages }";

constexpr const char* kStatusesQuery = R"(query sluiceAccountStatuses($paginator: Paginator) {
  account_statuses(activates_account: true, paginator: $paginator) {
    entities { id name activates_account }
    %PAGE_INFO%
  }
})";

constexpr const char* kSitesQuery =
    R"(query sluiceNetworkSites($paginator: Paginator, $rr_ap_models: ReverseRelationFilter, $ap_models: Search) {
  network_sites(paginator: $paginator, reverse_relation_filters: [$rr_ap_models]) {
    entities {
      id
      name
      inventory_items(search: [$ap_models]) {
        entities {
          id
          inventory_model_id
          inventory_model_field_data { entities { ip_assignments { entities { subnet } } } }
          ip_assignments { entities { subnet } }
        }
      }
    }
    %PAGE_INFO%
  }
})";

// The fields of one account; child accounts repeat them (one level, as Sonar nests them).
constexpr const char* kAccountFields = R"(
      id
      name
      account_status_id
      ip_assignments { entities { subnet } }
      account_services {
        entities {
          service {
            id name type enabled
            data_service_detail { download_speed_kilobits_per_second upload_speed_kilobits_per_second }
          }
        }
      }
      addresses {
        entities {
          line1 line2 city subdivision
          inventory_items {
            entities {
              id
              inventory_model { name }
              inventory_model_field_data {
                entities {
                  value
                  ip_assignments { entities { subnet } }
                  inventory_model_field { id name primary }
                }
              }
              ip_assignments { entities { subnet } }
            }
          }
        }
      }
      radius_accounts { entities { id username ip_assignments { entities { subnet } } } }
      uninventoried_mac_addresses { entities { id mac_address ip_assignments { entities { subnet } } } })";

constexpr const char* kAccountsQuery = R"(query sluiceAccounts($paginator: Paginator, $search: [Search]) {
  accounts(paginator: $paginator, search: $search) {
    entities {%FIELDS%
      child_accounts { entities {%FIELDS%
      } }
    }
    %PAGE_INFO%
  }
})";

std::string expand(std::string text) {
  auto replaceAll = [&text](std::string_view from, std::string_view to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  };
  replaceAll("%FIELDS%", kAccountFields);
  replaceAll("%PAGE_INFO%", kPageInfo);
  return text;
}

// obj[key].entities, or an empty array.
const nlohmann::json& entities(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (!obj.is_object()) {
    return kEmpty;
  }
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) {
    return kEmpty;
  }
  auto list = it->find("entities");
  return list != it->end() && list->is_array() ? *list : kEmpty;
}

void appendSubnets(const nlohmann::json& obj, std::vector<std::string>& out) {
  for (const auto& ip : entities(obj, "ip_assignments")) {
    if (auto subnet = jsonText(ip, "subnet"); !subnet.empty()) {
      out.push_back(std::move(subnet));
    }
  }
}

SonarDevice makeDevice(std::string id, std::string name, std::string mac = {}) {
  SonarDevice device;
  device.id = std::move(id);
  device.name = std::move(name);
  device.mac = std::move(mac);
  return device;
}

bool containsMac(std::string name) {
  for (auto& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name.find("mac") != std::string::npos;
}

// The item's MAC: a primary MAC field, else any MAC-named field, else the primary field, else
// the first value.
std::string inventoryMac(const nlohmann::json& item) {
  const nlohmann::json* picks[4] = {};
  for (const auto& data : entities(item, "inventory_model_field_data")) {
    if (jsonText(data, "value").empty()) {
      continue;
    }
    const auto& field = data.contains("inventory_model_field") ? data["inventory_model_field"]
                                                                 : nlohmann::json::object();
    const bool mac = containsMac(jsonText(field, "name"));
    const bool primary = jsonFlag(field, "primary");
    const int rank = mac && primary ? 0 : mac ? 1 : primary ? 2 : 3;
    if (picks[rank] == nullptr) {
      picks[rank] = &data;
    }
  }
  for (const auto* pick : picks) {
    if (pick != nullptr) {
      return jsonText(*pick, "value");
    }
  }
  return {};
}

std::optional<std::string> formatAddress(const nlohmann::json& address) {
  const std::string line1 = jsonText(address, "line1");
  const std::string line2 = jsonText(address, "line2");
  const std::string city = jsonText(address, "city");
  std::string state = jsonText(address, "subdivision");  // e.g. "US_IL": the last two letters
  if (state.size() > 2) {
    state = state.substr(state.size() - 2);
  }
  std::string out = line1;
  for (const std::string* part : {&line2, &city, static_cast<const std::string*>(&state)}) {
    if (!part->empty()) {
      out += (out.empty() ? "" : ", ") + *part;
    }
  }
  return out;
}

// A Sonar id as GraphQL wants it in a search: an Int when it is one, else the text.
nlohmann::json searchValue(const std::string& id) {
  if (!id.empty() && id.size() < 18 && std::ranges::all_of(id, [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return std::stoll(id);
  }
  return id;
}

}  // namespace

std::string sonarEndpoint(std::string url) {
  while (!url.empty() && (url.back() == '/' || url.back() == ' ')) {
    url.pop_back();
  }
  constexpr std::string_view kPath = "/api/graphql";
  if (url.size() < kPath.size() || url.compare(url.size() - kPath.size(), kPath.size(), kPath)) {
    url += kPath;
  }
  return url;
}

Result<std::vector<nlohmann::json>> sonarQueryAll(HttpClient& http,
                                                  const SonarFetchOptions& options,
                                                  const std::string& field,
                                                  const std::string& query,
                                                  nlohmann::json variables) {
  const std::string url = sonarEndpoint(options.url);
  const std::string context = fmt::format("POST {} ({})", url, field);
  std::vector<nlohmann::json> out;
  size_t totalPages = 1;
  for (size_t page = 1; page <= totalPages && page <= kMaxPages; ++page) {
    variables["paginator"] = {{"page", page}, {"records_per_page", options.pageSize}};
    HttpClient::Request request;
    request.url = url;
    request.method = "POST";
    request.headers = {{"Authorization", "Bearer " + options.apiKey},
                       {"Content-Type", "application/json"},
                       {"Accept", "application/json"}};
    request.body = nlohmann::json{{"query", query}, {"variables", variables}}.dump();
    auto response = http.fetch(request);
    if (!response) {
      Error error = response.error();
      error.context += fmt::format(" ({} page {})", field, page);
      return std::unexpected(std::move(error));
    }
    auto json = parseJsonBody(response->body, context);
    if (!json) {
      return std::unexpected(json.error());
    }
    if (json->is_object() && json->contains("errors") && !(*json)["errors"].empty()) {
      std::string messages;
      for (const auto& e : (*json)["errors"]) {
        messages += (messages.empty() ? "" : "; ") + jsonText(e, "message");
      }
      return makeError(EPROTO, context, "GraphQL errors: " + messages);
    }
    const nlohmann::json* root = nullptr;
    if (json->is_object() && (*json)["data"].is_object() && (*json)["data"][field].is_object()) {
      root = &(*json)["data"][field];
    }
    if (root == nullptr || !(*root)["entities"].is_array()) {
      return makeError(EPROTO, context, fmt::format("no data.{}.entities in the answer", field));
    }
    for (const auto& entity : (*root)["entities"]) {
      out.push_back(entity);
    }
    if (page == 1) {
      const auto& info = (*root)["page_info"];
      totalPages = static_cast<size_t>(std::max(1.0, jsonNumber(info, "total_pages").value_or(1)));
    }
  }
  return out;
}

void typeSonarAccount(const nlohmann::json& entity, const std::string& parentId,
                      const std::optional<std::string>& parentAddress,
                      std::vector<SonarAccount>& out) {
  SonarAccount account;
  account.id = jsonId(entity, "id");
  account.name = jsonText(entity, "name");
  account.statusId = jsonId(entity, "account_status_id");
  account.parentId = parentId;
  for (const auto& link : entities(entity, "account_services")) {
    if (!link.contains("service") || !link["service"].is_object()) {
      continue;
    }
    const auto& s = link["service"];
    SonarService service;
    service.id = jsonId(s, "id");
    service.name = jsonText(s, "name");
    service.type = jsonText(s, "type");
    service.enabled = !s.contains("enabled") || jsonFlag(s, "enabled");
    if (s.contains("data_service_detail") && s["data_service_detail"].is_object()) {
      service.downloadKbps =
          jsonNumber(s["data_service_detail"], "download_speed_kilobits_per_second");
      service.uploadKbps = jsonNumber(s["data_service_detail"], "upload_speed_kilobits_per_second");
    }
    account.services.push_back(std::move(service));
  }
  const auto& addresses = entities(entity, "addresses");
  account.address = addresses.empty() ? parentAddress : formatAddress(addresses[0]);
  for (const auto& address : addresses) {
    for (const auto& item : entities(address, "inventory_items")) {
      SonarDevice device = makeDevice("sonar:device:" + jsonId(item, "id"), {});
      device.name = item.contains("inventory_model") ? jsonText(item["inventory_model"], "name")
                                                     : std::string();
      device.mac = inventoryMac(item);
      for (const auto& data : entities(item, "inventory_model_field_data")) {
        appendSubnets(data, device.subnets);
      }
      appendSubnets(item, device.subnets);
      account.devices.push_back(std::move(device));
    }
  }
  for (const auto& radius : entities(entity, "radius_accounts")) {
    SonarDevice device =
        makeDevice("sonar:radius-account:" + jsonId(radius, "id"), jsonText(radius, "username"));
    appendSubnets(radius, device.subnets);
    account.devices.push_back(std::move(device));
  }
  SonarDevice direct = makeDevice("sonar:account-ip-assignments:" + account.id, account.name);
  appendSubnets(entity, direct.subnets);
  if (!direct.subnets.empty()) {
    account.devices.push_back(std::move(direct));
  }
  for (const auto& mac : entities(entity, "uninventoried_mac_addresses")) {
    SonarDevice device = makeDevice("sonar:uninventoried-mac-address:" + jsonId(mac, "id"),
                                    jsonText(mac, "mac_address"), jsonText(mac, "mac_address"));
    appendSubnets(mac, device.subnets);
    account.devices.push_back(std::move(device));
  }
  const std::string id = account.id;
  const auto address = account.address;
  out.push_back(std::move(account));
  for (const auto& child : entities(entity, "child_accounts")) {
    typeSonarAccount(child, id, address, out);
  }
}

Result<SonarData> fetchSonarData(HttpClient& http, const SonarFetchOptions& options,
                                 std::vector<std::string> activeStatusIds,
                                 const std::vector<std::string>& apModelIds) {
  SonarData data;
  if (activeStatusIds.empty()) {
    auto statuses = sonarQueryAll(http, options, "account_statuses", expand(kStatusesQuery), {});
    if (!statuses) {
      return std::unexpected(statuses.error());
    }
    for (const auto& status : *statuses) {
      activeStatusIds.push_back(jsonId(status, "id"));
    }
    if (activeStatusIds.empty()) {
      data.warnings.push_back("Sonar has no account status that activates an account");
    }
  }
  nlohmann::json models = nlohmann::json::array();
  for (const auto& id : apModelIds) {
    models.push_back({{"attribute", "inventory_model_id"}, {"operator", "EQ"},
                      {"search_value", searchValue(id)}});
  }
  nlohmann::json siteVariables = {
      {"rr_ap_models", {{"relation", "inventory_items"}, {"search", {{{"integer_fields", models}}}}}},
      {"ap_models", {{"integer_fields", models}}}};
  auto sites = sonarQueryAll(http, options, "network_sites", expand(kSitesQuery), siteVariables);
  if (!sites) {
    return std::unexpected(sites.error());
  }
  const std::set<std::string> modelSet(apModelIds.begin(), apModelIds.end());
  for (const auto& site : *sites) {
    SonarSite typed{jsonId(site, "id"), jsonText(site, "name")};
    bool hasAp = false;
    for (const auto& item : entities(site, "inventory_items")) {
      std::vector<std::string> subnets;
      for (const auto& fieldData : entities(item, "inventory_model_field_data")) {
        appendSubnets(fieldData, subnets);
      }
      appendSubnets(item, subnets);
      const std::string model = jsonId(item, "inventory_model_id");
      if (!modelSet.contains(model) || subnets.empty()) {
        continue;  // not an AP model, or an AP without an address (SNMP cannot reach it)
      }
      std::string ip = subnets.front().substr(0, subnets.front().find('/'));
      data.aps.push_back({jsonId(item, "id"), typed.id, model, std::move(ip)});
      hasAp = true;
    }
    if (hasAp) {
      data.sites.push_back(std::move(typed));
    }
  }
  std::set<std::string> seen;
  for (const auto& status : activeStatusIds) {
    nlohmann::json search = nlohmann::json::array();
    search.push_back({{"integer_fields",
                       {{{"attribute", "account_status_id"}, {"operator", "EQ"},
                         {"search_value", searchValue(status)}}}}});
    auto accounts =
        sonarQueryAll(http, options, "accounts", expand(kAccountsQuery), {{"search", search}});
    if (!accounts) {
      return std::unexpected(accounts.error());
    }
    std::vector<SonarAccount> typed;
    for (const auto& entity : *accounts) {
      typeSonarAccount(entity, "", std::nullopt, typed);
    }
    for (auto& account : typed) {
      if (!seen.insert(account.id).second) {
        data.warnings.push_back(
            fmt::format("Sonar account {} listed twice: the first is used", account.id));
        continue;
      }
      data.accounts.push_back(std::move(account));
    }
  }
  return data;
}

}  // namespace sluice::integrations
