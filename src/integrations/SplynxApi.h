#pragma once
// Splynx API 2.0: what the Splynx integration reads, fetched and typed. Transport: GET
// `<url>/api/2.0/<path>` with HTTP Basic authentication (API key + secret; the key needs
// "Unsecure access", Splynx docs "API Documentation"), through HttpClient (status checked,
// retries). Every list is paged with the documented search parameters `order[id]=ASC`, `limit`
// and `offset` until an empty page (LibreQoS reads one unpaged answer and never checks the
// status; integrationSplynx.py, shared/reference/libreqos-behaviour.md §1.3).
//
//   tariffs        admin/tariffs/internet                       id, speed_download/_upload (kbps),
//                                                               burst_limit_fixed_down/_up (kbps)
//   customers      admin/customers/customer                     id, name, street_1, city, zip_code
//   online         admin/customers/customers-online             service_id, ipv4, ipv6
//   services       admin/customers/customer/0/internet-services id, customer_id, tariff_id, status,
//                  ?main_attributes[status]=active              ipv4, ipv4_route, ipv6,
//                                                               ipv6_delegated, mac, access_device,
//                                                               router_id
//   routers        admin/networking/routers                     id, ip, title
//   sectors        admin/networking/routers-sectors             id, router_id
//   monitoring     admin/networking/monitoring                  id, title/name/address/ip,
//                                                               parent_id, access_device, type,
//                                                               network_site_id, gps
//   network sites  admin/networking/network-sites               id, title/description, address, gps

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "integrations/HttpClient.h"

namespace sluice::integrations {

struct SplynxTariff {
  std::string id;
  double downloadMbps = 0;  ///< speed_download / 1000, or burst_limit_fixed_down / 1000 if larger
  double uploadMbps = 0;
};

struct SplynxCustomer {
  std::string id;
  std::string name;
  std::string address;  ///< "street_1 city zip_code" (blank parts left out); "" when none
};

struct SplynxService {
  std::string id;
  std::string customerId;
  std::string tariffId;
  std::string status;
  std::string ipv4;
  std::string ipv4Route;  ///< comma-separated routed prefixes
  std::string ipv6;
  std::string ipv6Delegated;  ///< comma-separated delegated prefixes
  std::string mac;
  std::string accessDevice;  ///< monitoring (hardware) id, "" = none
  std::string routerId;
};

struct SplynxOnline {
  std::string serviceId;
  std::string ipv4;
  std::string ipv6;
};

struct SplynxRouter {
  std::string id;
  std::string ip;
  std::string title;
};

struct SplynxSector {
  std::string id;
  std::string routerId;
};

/// A monitoring ("hardware") row: an AP or an infrastructure site.
struct SplynxHardware {
  std::string id;
  std::string name;  ///< title, else name, address, ip, id
  std::string parentId;
  std::optional<bool> accessDevice;  ///< the access_device flag, when the row has one
  std::string type;                  ///< legacy hardware type ("5" = access point)
  std::string networkSiteId;
  std::optional<std::pair<double, double>> gps;
};

struct SplynxNetworkSite {
  std::string id;
  std::string name;  ///< title, else description, else id
  std::string address;
  std::optional<std::pair<double, double>> gps;
};

struct SplynxData {
  std::vector<SplynxTariff> tariffs;
  std::vector<SplynxCustomer> customers;
  std::vector<SplynxOnline> online;
  std::vector<SplynxService> services;
  std::vector<SplynxRouter> routers;
  std::vector<SplynxSector> sectors;
  std::vector<SplynxHardware> monitoring;
  std::vector<SplynxNetworkSite> networkSites;
  std::vector<std::string> warnings;  ///< rows skipped while typing (no id, bad speed, dupes)
};

struct SplynxFetchOptions {
  std::string url;  ///< [splynx_integration] url (a trailing '/' is ignored)
  std::string apiKey;
  std::string apiSecret;
  size_t pageSize = 500;       ///< rows asked for per request (`limit`)
  bool infrastructure = true;  ///< also fetch routers, sectors, monitoring, network sites
};

/// Fetches every list above (infrastructure lists only when asked). All or nothing: the first
/// failing request's error (HttpClient's, naming the URL) is returned; a body that is not JSON
/// is EBADMSG, one that is not a JSON array EPROTO ("expected a JSON array, got object"), a
/// server that ignores `offset` (a page of rows already seen) EPROTO; each naming the URL.
Result<SplynxData> fetchSplynxData(HttpClient& http, const SplynxFetchOptions& options);

/// One list, all pages: GET `<base>/api/2.0/<path>` with `query` (already URL-encoded, may be
/// "") plus the paging parameters. Errors as fetchSplynxData.
Result<std::vector<nlohmann::json>> fetchSplynxList(HttpClient& http,
                                                    const SplynxFetchOptions& options,
                                                    const std::string& path,
                                                    const std::string& query);

/// Types the raw rows of each list (exposed for tests); rows without an id and duplicate ids
/// (the first wins) become warnings in `out.warnings`.
void typeSplynxTariffs(const std::vector<nlohmann::json>& rows, SplynxData& out);
void typeSplynxServices(const std::vector<nlohmann::json>& rows, SplynxData& out);

}  // namespace sluice::integrations
