#include "integrations/SplynxIntegration.h"

#include <cerrno>

namespace sluice::integrations {

SplynxIntegration::SplynxIntegration(SplynxFetchOptions fetch, SplynxBuildOptions build,
                                     std::shared_ptr<HttpClient> http)
    : fetch_(std::move(fetch)), build_(std::move(build)), http_(std::move(http)) {
  fetch_.infrastructure = build_.mode != CompileMode::Flat;
}

Result<ShapingFiles> SplynxIntegration::build() {
  auto data = fetchSplynxData(*http_, fetch_);
  if (!data) {
    return std::unexpected(data.error());
  }
  return buildSplynxFiles(*data, build_);
}

Result<std::unique_ptr<Integration>> makeSplynxIntegration(const config::Config& config,
                                                           const IntegrationConfig& integrations,
                                                           std::shared_ptr<HttpClient> http) {
  const SplynxConfig& splynx = integrations.splynx;
  for (const auto& [key, value] : {std::pair{"url", &splynx.url},
                                   std::pair{"api_key", &splynx.apiKey},
                                   std::pair{"api_secret", &splynx.apiSecret}}) {
    if (value->empty()) {
      return makeError(EINVAL, std::string("splynx_integration.") + key,
                       "must be set when enable_splynx = true");
    }
  }
  auto mode = resolveCompileMode(integrations, splynx.strategy, "splynx_integration.strategy",
                                 CompileMode::ApSite);
  if (!mode) {
    return std::unexpected(mode.error());
  }
  SplynxFetchOptions fetch{.url = splynx.url, .apiKey = splynx.apiKey,
                           .apiSecret = splynx.apiSecret};
  SplynxBuildOptions build{.mode = *mode,
                           .graph = commonGraphOptions(config, integrations),
                           .clientBandwidthMultiplier =
                               integrations.common.clientBandwidthMultiplier};
  return std::make_unique<SplynxIntegration>(std::move(fetch), std::move(build), std::move(http));
}

}  // namespace sluice::integrations
