#pragma once
// The UISP integration (UISP NMS API v2.1; LibreQoS's Rust uisp_integration, reference §1.2):
// fetches sites, devices (with interfaces) and data links with the X-Auth-Token header, then
// builds the shaping files with uisp::buildUispFiles (UispBuild.h).

#include <memory>
#include <string>
#include <string_view>

#include "integrations/HttpClient.h"
#include "integrations/Integration.h"
#include "integrations/IntegrationConfig.h"
#include "integrations/UispData.h"

namespace sluice::integrations {

namespace uisp {

/// The API base: `url` trimmed of blanks and trailing '/', plus "/nms/api/v2.1" unless it
/// already ends so ("https://uisp.example.net/" -> "https://uisp.example.net/nms/api/v2.1").
std::string apiBase(std::string_view url);

/// GET {base}/sites, {base}/devices?withInterfaces=true and {base}/data-links with
/// `X-Auth-Token: token`, parsed (UispData.h). All or nothing: the first HTTP error (HttpClient
/// names URL and status), malformed JSON (EBADMSG naming the URL) or unusable shape is returned.
Result<Data> fetchData(HttpClient& http, const std::string& base, const std::string& token);

}  // namespace uisp

class UispIntegration : public Integration {
 public:
  UispIntegration(UispConfig uisp, GraphOptions graph, CompileMode mode,
                  std::shared_ptr<HttpClient> http);
  std::string_view name() const override { return "uisp"; }
  /// fetchData, then buildUispFiles; the first error is returned as it is.
  Result<ShapingFiles> build() override;

 private:
  UispConfig uisp_;
  GraphOptions graph_;
  CompileMode mode_;
  std::shared_ptr<HttpClient> http_;
};

/// The UISP integration as `config` describes it (compile mode: topology.compile_mode, else
/// uisp_integration.strategy, else full). With insecure_ssl, a plain HttpClient that verifies
/// TLS is replaced by one that does not (a test's substitute is used as it is); a null `http`
/// gets a default HttpClient. Errors: EINVAL naming uisp_integration.url / token when empty,
/// or the strategy when unknown.
Result<std::unique_ptr<Integration>> makeUispIntegration(const config::Config& config,
                                                         const IntegrationConfig& integrations,
                                                         std::shared_ptr<HttpClient> http);

}  // namespace sluice::integrations
