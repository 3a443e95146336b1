#pragma once
// The Sonar integration ([sonar_integration]): Sonar's network sites, APs and accounts
// (SonarApi.h), with each account placed under the AP whose SNMP station table lists one of its
// device MACs (SonarSnmp.h), turned into the shaping graph (Graph.h). Semantics follow
// LibreQoS's integrationSonar.py (shared/reference/libreqos-behaviour.md §1.4); compile modes
// flat and full only (full by default), as LibreQoS allows for Sonar.
//
// Circuits: one per active account (child accounts are their own circuits and use their
// parent's address when they have none): Circuit ID = account id, Circuit Name = account name,
// address "line1, line2, city, ST". Plan: the first enabled DATA service's
// download/upload_speed_kilobits_per_second / 1000; else the first enabled RECURRING service
// whose case-folded name matches an enabled recurring_service_rates entry and is not in
// recurring_excluded_service_names; then × integration_common.client_bandwidth_multiplier (no
// UISP key is read); floor 2 Mbps per direction. Commit = 0.98 × plan. Devices (each subnet
// used once across all circuits): inventory items at the account's addresses
// (sonar:device:<id>, MAC from its primary MAC field), RADIUS accounts, account-level IPs,
// uninventoried MACs. Accounts without an address, a plan or a device are warnings.
//
// Topology (full mode): sites "site_<id>" (sonar:site:<id>) holding the APs "ap_<id>"
// (sonar:ap:<id>, named by their sysName) that answered SNMP with at least one station; an
// account goes under the first AP (in Sonar's order) listing one of its device MACs, else under
// the root. Site and AP rates are the generated defaults (queues.generated_pn_*), as LibreQoS's.

#include <memory>
#include <string_view>

#include "integrations/Graph.h"
#include "integrations/HttpClient.h"
#include "integrations/Integration.h"
#include "integrations/IntegrationConfig.h"
#include "integrations/SonarApi.h"
#include "integrations/SonarSnmp.h"

namespace sluice::integrations {

/// The plan floor of LibreQoS's Sonar integration, Mbps per direction.
inline constexpr double kSonarMinimumPlanMbps = 2.0;

struct SonarBuildOptions {
  CompileMode mode = CompileMode::Full;
  GraphOptions graph;
  double clientBandwidthMultiplier = 1.0;
  SonarConfig sonar;  ///< recurring rates and exclusions, model ids, SNMP community
};

/// The files from fetched data and the AP polls (polls[i] belongs to data.aps[i]; ignored in
/// flat mode). Warnings of the fetch, the polls, this build and the graph are all returned.
Result<ShapingFiles> buildSonarFiles(const SonarData& data, const std::vector<ApPoll>& polls,
                                     const SonarBuildOptions& options);

class SonarIntegration : public Integration {
 public:
  SonarIntegration(SonarFetchOptions fetch, SonarBuildOptions build,
                   std::shared_ptr<HttpClient> http, std::shared_ptr<SnmpWalker> snmp);
  std::string_view name() const override { return "sonar"; }
  /// fetchSonarData, pollAccessPoints (full mode), buildSonarFiles.
  Result<ShapingFiles> build() override;

 private:
  SonarFetchOptions fetch_;
  SonarBuildOptions build_;
  std::shared_ptr<HttpClient> http_;
  std::shared_ptr<SnmpWalker> snmp_;
};

/// The Sonar integration as `config` describes it, polling APs with NetSnmpWalker. Errors:
/// EINVAL naming sonar_integration.sonar_api_url / sonar_api_key when empty, or
/// topology.compile_mode when it is neither flat nor full.
Result<std::unique_ptr<Integration>> makeSonarIntegration(const config::Config& config,
                                                          const IntegrationConfig& integrations,
                                                          std::shared_ptr<HttpClient> http);

}  // namespace sluice::integrations
