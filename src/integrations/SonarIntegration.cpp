#include "integrations/SonarIntegration.h"

#include <cerrno>

namespace sluice::integrations {

SonarIntegration::SonarIntegration(SonarFetchOptions fetch, SonarBuildOptions build,
                                   std::shared_ptr<HttpClient> http,
                                   std::shared_ptr<SnmpWalker> snmp)
    : fetch_(std::move(fetch)),
      build_(std::move(build)),
      http_(std::move(http)),
      snmp_(std::move(snmp)) {}

Result<ShapingFiles> SonarIntegration::build() {
  const SonarConfig& sonar = build_.sonar;
  std::vector<std::string> models = sonar.airmaxModelIds;
  models.insert(models.end(), sonar.ltuModelIds.begin(), sonar.ltuModelIds.end());
  auto data = fetchSonarData(*http_, fetch_, sonar.activeStatusIds, models);
  if (!data) {
    return std::unexpected(data.error());
  }
  std::vector<ApPoll> polls;
  if (build_.mode != CompileMode::Flat) {
    polls = pollAccessPoints(*snmp_, data->aps, sonar.snmpCommunity, sonar.airmaxModelIds,
                             sonar.ltuModelIds);
  }
  return buildSonarFiles(*data, polls, build_);
}

Result<std::unique_ptr<Integration>> makeSonarIntegration(const config::Config& config,
                                                          const IntegrationConfig& integrations,
                                                          std::shared_ptr<HttpClient> http) {
  const SonarConfig& sonar = integrations.sonar;
  if (sonar.apiUrl.empty()) {
    return makeError(EINVAL, "sonar_integration.sonar_api_url",
                     "must be set when enable_sonar = true");
  }
  if (sonar.apiKey.empty()) {
    return makeError(EINVAL, "sonar_integration.sonar_api_key",
                     "must be set when enable_sonar = true");
  }
  auto mode = resolveCompileMode(integrations, "", "sonar_integration.strategy", CompileMode::Full);
  if (!mode) {
    return std::unexpected(mode.error());
  }
  if (*mode != CompileMode::Flat && *mode != CompileMode::Full) {
    return makeError(EINVAL, "topology.compile_mode",
                     std::string(compileModeName(*mode)) +
                         ": the Sonar integration supports \"flat\" and \"full\" only");
  }
  SonarFetchOptions fetch{.url = sonar.apiUrl, .apiKey = sonar.apiKey};
  SonarBuildOptions build{.mode = *mode,
                          .graph = commonGraphOptions(config, integrations),
                          .clientBandwidthMultiplier =
                              integrations.common.clientBandwidthMultiplier,
                          .sonar = sonar};
  return std::make_unique<SonarIntegration>(std::move(fetch), std::move(build), std::move(http),
                                            std::make_shared<NetSnmpWalker>());
}

}  // namespace sluice::integrations
