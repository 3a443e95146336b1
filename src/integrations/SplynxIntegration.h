#pragma once
// The Splynx integration ([splynx_integration]): Splynx's tariffs, internet services and network
// hardware (SplynxApi.h) turned into the shaping graph (Graph.h). Semantics follow LibreQoS's
// integrationSplynx.py (shared/reference/libreqos-behaviour.md §1.3), default compile mode
// ap_site, with these differences:
//   - every list is paged and every answer's HTTP status checked (SplynxApi.h);
//   - a service whose tariff is missing or unusable is a warning for that service, not an abort;
//   - no UISP key (exclude_sites, bandwidth_overhead_factor, exception_cpes) is read: plan rates
//     are the tariff's × integration_common.client_bandwidth_multiplier only;
//   - an address (or prefix) already given to another service, or overlapping one, is dropped
//     with a warning on every path (LibreQoS checks exact repeats of static addresses only);
//   - infrastructure node ids carry a prefix (ns_, ap_, site_) so they never collide with
//     circuit ids (both are plain Splynx numbers in LibreQoS).
//
// Circuits: one per active internet service: Circuit ID = service id, Circuit Name = customer
// name, one device "splynx_service_<id>" with the service's MAC and addresses (static ipv4 +
// ipv4_route, ipv6 + ipv6_delegated; a family missing there is taken from customers-online; a
// service with no static address at all takes both families from customers-online). Plan =
// tariff speed (kbps / 1000), or the fixed burst limit when larger; commit = 0.98 × plan.
//
// Topology (not fetched in flat mode). A monitoring row is an AP when its access_device flag is
// set, or (without the flag) its legacy type is 5, or a service names it as access_device;
// otherwise a site. Its name is "<parent's name>_<title>" when its parent_id is a known row,
// repeated names get " (<id>)". Sites and APs are 10000/10000 Mbps (clamped by the tree).
//   ap_site/full with network sites (some monitoring row has network_site_id): network sites
//     "ns_<id>" (id splynx:network_site:<id>) holding their APs "ap_<id>" (splynx:ap:<id>);
//     a circuit goes under its AP, or unparented when its hardware is not an AP;
//   ap_site/full without: every monitoring row a node ("ap_<id>" / "site_<id>", ids
//     splynx:ap:<id> / splynx:site:<id>) under its parent_id; then the graph's projection;
//   ap_only: the APs alone; circuits under their AP or unparented.
// A service's hardware: access_device if known, else router_id if it is a known monitoring id,
// else the router's first sector if that is one (LibreQoS's findBestParentNode).

#include <memory>
#include <string_view>

#include "integrations/Graph.h"
#include "integrations/HttpClient.h"
#include "integrations/Integration.h"
#include "integrations/IntegrationConfig.h"
#include "integrations/SplynxApi.h"

namespace sluice::integrations {

struct SplynxBuildOptions {
  CompileMode mode = CompileMode::ApSite;
  GraphOptions graph;
  double clientBandwidthMultiplier = 1.0;  ///< integration_common.client_bandwidth_multiplier
};

/// Rate of a node without an operator override: LibreQoS's 10000/10000 Mbps for Splynx sites
/// and APs.
inline constexpr double kSplynxInfrastructureMbps = 10000;

/// The graph for `data` (already fetched), prepared and emitted for `options.mode`. Warnings of
/// the fetch (data.warnings), of this build and of the graph are all in the result's warnings.
/// Errors: those of Graph (EINVAL for a node id added twice, which the typed data rules out).
Result<ShapingFiles> buildSplynxFiles(const SplynxData& data, const SplynxBuildOptions& options);

class SplynxIntegration : public Integration {
 public:
  SplynxIntegration(SplynxFetchOptions fetch, SplynxBuildOptions build,
                    std::shared_ptr<HttpClient> http);
  std::string_view name() const override { return "splynx"; }
  /// fetchSplynxData, then buildSplynxFiles; the first error is returned as it is.
  Result<ShapingFiles> build() override;

 private:
  SplynxFetchOptions fetch_;
  SplynxBuildOptions build_;
  std::shared_ptr<HttpClient> http_;
};

/// The Splynx integration as `config` describes it (compile mode: topology.compile_mode, else
/// splynx_integration.strategy, else ap_site). Errors: EINVAL naming
/// splynx_integration.url / api_key / api_secret when empty, or the strategy when unknown.
Result<std::unique_ptr<Integration>> makeSplynxIntegration(const config::Config& config,
                                                           const IntegrationConfig& integrations,
                                                           std::shared_ptr<HttpClient> http);

}  // namespace sluice::integrations
