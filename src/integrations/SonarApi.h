#pragma once
// Sonar's GraphQL API as the Sonar integration reads it. Transport: POST `<url>/api/graphql`
// (the path is appended when the configured URL lacks it) with `Authorization: Bearer <key>`
// and a JSON body {"query", "variables"}, through HttpClient (status checked, retries on
// timeouts, 429 and 5xx). Lists are paged with Sonar's `paginator: {page, records_per_page}`
// and read to `page_info.total_pages`; an answer carrying GraphQL `errors` is an error. Facts
// from LibreQoS's integrationSonar.py (shared/reference/libreqos-behaviour.md §1.4).
//
// Queries (each a root list with `entities` and `page_info`):
//   account_statuses(activates_account: true)  -> the active status ids (when not configured)
//   network_sites, inventory_items searched by the AP model ids -> sites and their APs
//   accounts searched by account_status_id (one query per status id, so the result never
//     depends on how Sonar combines several conditions) -> accounts with their services,
//     address, inventory items, RADIUS accounts, uninventoried MACs, account-level IPs and
//     child accounts.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "integrations/HttpClient.h"

namespace sluice::integrations {

struct SonarFetchOptions {
  std::string url;     ///< sonar_api_url
  std::string apiKey;  ///< sonar_api_key
  size_t pageSize = 100;  ///< records_per_page (LibreQoS: 100)
};

/// A site's AP: an inventory item of a configured AirMax or LTU model with an IP address.
struct SonarAccessPoint {
  std::string id;  ///< inventory item id
  std::string siteId;
  std::string modelId;
  std::string ip;  ///< the first IP assignment (host part of its subnet)
};

struct SonarSite {
  std::string id;
  std::string name;
};

struct SonarService {
  std::string id;
  std::string name;
  std::string type;  ///< "DATA", "RECURRING", ...
  bool enabled = true;
  std::optional<double> downloadKbps;  ///< data_service_detail.download_speed_kilobits_per_second
  std::optional<double> uploadKbps;
};

/// One shapable thing on an account: its node id tells where it came from
/// (sonar:device:<id>, sonar:radius-account:<id>, sonar:account-ip-assignments:<account>,
/// sonar:uninventoried-mac-address:<id>).
struct SonarDevice {
  std::string id;
  std::string name;
  std::string mac;
  std::vector<std::string> subnets;  ///< as Sonar writes them ("100.64.0.5/32")
};

struct SonarAccount {
  std::string id;
  std::string name;
  std::string statusId;
  std::string parentId;  ///< a child account's parent account ("" for a top-level one)
  std::optional<std::string> address;  ///< "line1, line2, city, ST"; nullopt = no address
  std::vector<SonarService> services;
  std::vector<SonarDevice> devices;
};

struct SonarData {
  std::vector<SonarSite> sites;
  std::vector<SonarAccessPoint> aps;
  std::vector<SonarAccount> accounts;  ///< child accounts follow their parent
  std::vector<std::string> warnings;
};

/// All pages of one root list: POSTs `query` with `variables` plus
/// `paginator = {page, records_per_page}` for page 1..page_info.total_pages and concatenates
/// data.<field>.entities. Errors (naming the URL and the field): HttpClient's; EBADMSG for a
/// body that is not JSON; EPROTO for GraphQL `errors` (their messages in the detail) or an
/// answer without data.<field>.entities.
Result<std::vector<nlohmann::json>> sonarQueryAll(HttpClient& http,
                                                  const SonarFetchOptions& options,
                                                  const std::string& field,
                                                  const std::string& query,
                                                  nlohmann::json variables);

/// Fetches statuses (only when `activeStatusIds` is empty), sites with their APs of
/// `apModelIds`, and the accounts in the active statuses. All or nothing: the first error.
Result<SonarData> fetchSonarData(HttpClient& http, const SonarFetchOptions& options,
                                 std::vector<std::string> activeStatusIds,
                                 const std::vector<std::string>& apModelIds);

/// Types one `accounts` entity (and its child accounts, appended after it) into `out`.
/// Exposed for tests.
void typeSonarAccount(const nlohmann::json& entity, const std::string& parentId,
                      const std::optional<std::string>& parentAddress,
                      std::vector<SonarAccount>& out);

/// `https://x.sonar.software` -> `https://x.sonar.software/api/graphql` (kept when present).
std::string sonarEndpoint(std::string url);

}  // namespace sluice::integrations
