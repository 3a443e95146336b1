#include "integrations/UispIntegration.h"

#include <cerrno>
#include <typeinfo>

#include "integrations/UispBuild.h"
#include "integrations/VendorJson.h"

namespace sluice::integrations {
namespace uisp {

std::string apiBase(std::string_view url) {
  constexpr std::string_view kApi = "/nms/api/v2.1";
  while (!url.empty() && (url.front() == ' ' || url.front() == '\t')) {
    url.remove_prefix(1);
  }
  while (!url.empty() && (url.back() == ' ' || url.back() == '\t' || url.back() == '/')) {
    url.remove_suffix(1);
  }
  std::string base(url);
  if (!base.ends_with(kApi)) {
    base += kApi;
  }
  return base;
}

namespace {

Result<nlohmann::json> get(HttpClient& http, const std::string& url, const std::string& token) {
  HttpClient::Request request;
  request.url = url;
  request.headers = {{"X-Auth-Token", token}, {"Accept", "application/json"}};
  auto response = http.fetch(request);
  if (!response) {
    return std::unexpected(response.error());
  }
  return parseJsonBody(response->body, "GET " + url);
}

/// GET and parse one list; the body and its JSON tree are freed on return, before the next
/// request (at 100k client sites the devices answer alone is ~30 MB of text).
template <typename Parse>
auto fetchList(HttpClient& http, const std::string& url, const std::string& token, Parse parse)
    -> decltype(parse(nlohmann::json(), url)) {
  auto json = get(http, url, token);
  if (!json) {
    return std::unexpected(json.error());
  }
  return parse(*json, "GET " + url);
}

}  // namespace

Result<Data> fetchData(HttpClient& http, const std::string& base, const std::string& token) {
  Data data;
  auto sites = fetchList(http, base + "/sites", token, parseSites);
  if (!sites) {
    return std::unexpected(sites.error());
  }
  auto devices = fetchList(http, base + "/devices?withInterfaces=true", token, parseDevices);
  if (!devices) {
    return std::unexpected(devices.error());
  }
  auto links = fetchList(http, base + "/data-links", token, parseDataLinks);
  if (!links) {
    return std::unexpected(links.error());
  }
  data.sites = std::move(*sites);
  data.devices = std::move(*devices);
  data.dataLinks = std::move(*links);
  return data;
}

}  // namespace uisp

UispIntegration::UispIntegration(UispConfig uisp, GraphOptions graph, CompileMode mode,
                                 std::shared_ptr<HttpClient> http)
    : uisp_(std::move(uisp)), graph_(std::move(graph)), mode_(mode), http_(std::move(http)) {}

Result<ShapingFiles> UispIntegration::build() {
  auto data = uisp::fetchData(*http_, uisp::apiBase(uisp_.url), uisp_.token);
  if (!data) {
    return std::unexpected(data.error());
  }
  return uisp::buildUispFiles(*data, uisp_, graph_, mode_);
}

Result<std::unique_ptr<Integration>> makeUispIntegration(const config::Config& config,
                                                         const IntegrationConfig& integrations,
                                                         std::shared_ptr<HttpClient> http) {
  const UispConfig& uisp = integrations.uisp;
  if (uisp.url.find_first_not_of(" \t/") == std::string::npos) {
    return makeError(EINVAL, "lqos.conf", "uisp_integration.url is empty (enable_uisp = true)");
  }
  if (uisp.token.empty()) {
    return makeError(EINVAL, "lqos.conf", "uisp_integration.token is empty (enable_uisp = true)");
  }
  auto mode =
      resolveCompileMode(integrations, uisp.strategy, "uisp_integration.strategy", CompileMode::Full);
  if (!mode) {
    return std::unexpected(mode.error());
  }
  if (!http) {
    http = std::make_shared<HttpClient>();
  }
  if (uisp.insecureSsl && !http->options().insecure && typeid(*http) == typeid(HttpClient)) {
    HttpOptions options = http->options();
    options.insecure = true;
    http = std::make_shared<HttpClient>(options);
  }
  return std::make_unique<UispIntegration>(uisp, commonGraphOptions(config, integrations), *mode,
                                           std::move(http));
}

}  // namespace sluice::integrations
