// makeEnabledIntegration(): the one integration lqos.conf enables, in LibreQoS's scheduler order
// (uisp, splynx, sonar: the first enabled one wins; reference §1.1).

#include "integrations/Integration.h"
#include "integrations/IntegrationConfig.h"
#include "integrations/SonarIntegration.h"
#include "integrations/SplynxIntegration.h"
#include "integrations/UispIntegration.h"

namespace sluice::integrations {

Result<std::unique_ptr<Integration>> makeEnabledIntegration(const config::Config& config,
                                                            std::shared_ptr<HttpClient> http) {
  auto integrations = parseIntegrationConfig(config);
  if (!integrations) {
    return std::unexpected(integrations.error());
  }
  if (integrations->uisp.enabled) {
    return makeUispIntegration(config, *integrations, std::move(http));
  }
  if (integrations->splynx.enabled) {
    return makeSplynxIntegration(config, *integrations, std::move(http));
  }
  if (integrations->sonar.enabled) {
    return makeSonarIntegration(config, *integrations, std::move(http));
  }
  return std::unique_ptr<Integration>();
}

}  // namespace sluice::integrations
