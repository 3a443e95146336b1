// HttpClient against the fake vendor server on loopback: retries, timeouts, HTTP errors,
// truncated bodies, TLS verification with a test CA.

#include "integrations/HttpClient.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

#include <nlohmann/json.hpp>

#include "VendorServer.h"
#include "integrations/SplynxApi.h"

namespace sluice::integrations {
namespace {

using testing::ScratchDir;
using testing::VendorServer;

constexpr const char* kSites = R"([{"id": "site-1", "identification": {"name": "Tower"}}])";

// Quick retries so the failure tests stay fast.
HttpOptions fastOptions() {
  return HttpOptions{.connectTimeoutMs = 2000,
                     .totalTimeoutMs = 5000,
                     .maxAttempts = 3,
                     .initialBackoffMs = 10,
                     .maxBackoffMs = 50};
}

HttpClient::Request uispSites(const VendorServer& server, std::string token = "uisp-test-token") {
  return {.url = server.url() + "/nms/api/v2.1/sites",
          .headers = {{"X-Auth-Token", std::move(token)}}};
}

size_t requestCount(const VendorServer& server) {
  return nlohmann::json::parse(server.control("GET", "/_control/requests")).size();
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override { scratch_.write("uisp/sites.json", kSites); }
  std::string uispDir() const { return scratch_.path() + "/uisp"; }
  ScratchDir scratch_;
};

TEST_F(HttpClientTest, FetchesTheBodyOf200) {
  VendorServer server({"--uisp", uispDir()});
  HttpClient http(fastOptions());
  auto response = http.fetch(uispSites(server));
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(nlohmann::json::parse(response->body), nlohmann::json::parse(kSites));
}

TEST_F(HttpClientTest, Status401IsAnErrorNamingTheUrlAndIsNotRetried) {
  VendorServer server({"--uisp", uispDir()});
  HttpClient http(fastOptions());
  auto response = http.fetch(uispSites(server, "wrong-token"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, EACCES);
  const std::string message = response.error().message();
  EXPECT_NE(message.find(server.url() + "/nms/api/v2.1/sites"), std::string::npos) << message;
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_NE(message.find("1 attempt"), std::string::npos) << message;
  EXPECT_EQ(requestCount(server), 1u);
}

TEST_F(HttpClientTest, Status500IsRetriedAndASecondAttemptCanSucceed) {
  VendorServer server({"--uisp", uispDir(), "--fail", "500", "--fail-count", "1"});
  HttpClient http(fastOptions());
  auto response = http.fetch(uispSites(server));
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(requestCount(server), 2u);
}

TEST_F(HttpClientTest, PersistentStatus500FailsAfterMaxAttempts) {
  VendorServer server({"--uisp", uispDir(), "--fail", "500"});
  HttpClient http(fastOptions());
  auto response = http.fetch(uispSites(server));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, EIO);
  const std::string message = response.error().message();
  EXPECT_NE(message.find("HTTP 500"), std::string::npos) << message;
  EXPECT_NE(message.find("injected 500"), std::string::npos) << message;  // the body excerpt
  EXPECT_NE(message.find("3 attempts"), std::string::npos) << message;
  EXPECT_EQ(requestCount(server), 3u);
}

TEST_F(HttpClientTest, Status429IsRetried) {
  VendorServer server({"--uisp", uispDir(), "--fail", "429", "--fail-count", "2"});
  HttpClient http(fastOptions());
  auto response = http.fetch(uispSites(server));
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(requestCount(server), 3u);
}

TEST_F(HttpClientTest, Status404IsNotRetried) {
  VendorServer server({"--uisp", uispDir()});
  HttpClient http(fastOptions());
  auto request = uispSites(server);
  request.url = server.url() + "/nms/api/v2.1/no-such-list";
  auto response = http.fetch(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, ENOENT);
  EXPECT_EQ(requestCount(server), 1u);
}

TEST_F(HttpClientTest, ASlowServerTimesOutWithinTheBound) {
  VendorServer server({"--uisp", uispDir(), "--fail", "delay", "--delay-ms", "4000"});
  HttpOptions options = fastOptions();
  options.totalTimeoutMs = 300;
  options.maxAttempts = 2;
  HttpClient http(options);
  const auto start = std::chrono::steady_clock::now();
  auto response = http.fetch(uispSites(server));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, ETIMEDOUT);
  EXPECT_NE(response.error().message().find("/nms/api/v2.1/sites"), std::string::npos);
  EXPECT_NE(response.error().message().find("2 attempts"), std::string::npos);
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));  // 2 × 300 ms + back-off, not 4 s
}

TEST_F(HttpClientTest, ATruncatedBodyIsAnError) {
  VendorServer server({"--uisp", uispDir(), "--fail", "truncated"});
  HttpClient http(fastOptions());
  auto response = http.fetch(uispSites(server));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, EPIPE);
  const std::string message = response.error().message();
  EXPECT_NE(message.find("truncated body"), std::string::npos) << message;
  EXPECT_NE(message.find(server.url()), std::string::npos) << message;
  EXPECT_EQ(requestCount(server), 3u);  // a transport failure: retried
}

TEST_F(HttpClientTest, AConnectionClosedWithoutAnswerIsAnError) {
  VendorServer server({"--uisp", uispDir(), "--fail", "drop"});
  HttpClient http(fastOptions());
  auto response = http.fetch(uispSites(server));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, ECONNRESET) << response.error().message();
}

TEST_F(HttpClientTest, ARefusedConnectionIsAnError) {
  int port = 0;
  {
    VendorServer server({"--uisp", uispDir()});
    port = server.port();
  }  // stopped: nothing listens there now
  HttpClient http(fastOptions());
  auto response = http.fetch({.url = "http://127.0.0.1:" + std::to_string(port) + "/x"});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, ECONNREFUSED) << response.error().message();
}

TEST_F(HttpClientTest, ABodyOverTheCapIsRefused) {
  VendorServer server({"--uisp", uispDir()});
  HttpOptions options = fastOptions();
  options.maxBodyBytes = 16;
  HttpClient http(options);
  auto response = http.fetch(uispSites(server));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, EFBIG) << response.error().message();
  EXPECT_EQ(requestCount(server), 1u);
}

TEST_F(HttpClientTest, MalformedJsonSurfacesWithTheUrl) {
  scratch_.write("splynx/admin/tariffs/internet.json", "[]");
  VendorServer server({"--splynx", scratch_.path() + "/splynx", "--fail", "malformed"});
  HttpClient http(fastOptions());
  SplynxFetchOptions options{.url = server.url(), .apiKey = "splynx-key",
                             .apiSecret = "splynx-secret"};
  auto rows = fetchSplynxList(http, options, "admin/tariffs/internet", "");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().errnum, EBADMSG);
  const std::string message = rows.error().message();
  EXPECT_NE(message.find(server.url() + "/api/2.0/admin/tariffs/internet"), std::string::npos)
      << message;
  EXPECT_NE(message.find("malformed JSON"), std::string::npos) << message;
}

class HttpsTest : public HttpClientTest {
 protected:
  void SetUp() override {
    HttpClientTest::SetUp();
    pki_ = testing::makeTestPki(scratch_.path());
  }
  std::unique_ptr<VendorServer> start() {
    return std::make_unique<VendorServer>(
        std::vector<std::string>{"--uisp", uispDir(), "--tls-cert", pki_.serverCert,
                                 "--tls-key", pki_.serverKey},
        true);
  }
  testing::TestPki pki_;
};

TEST_F(HttpsTest, VerifiesTheServerWithTheTestCa) {
  auto server = start();
  HttpOptions options = fastOptions();
  options.caFile = pki_.caCert;
  HttpClient http(options);
  auto response = http.fetch(uispSites(*server));
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(nlohmann::json::parse(response->body), nlohmann::json::parse(kSites));
}

TEST_F(HttpsTest, RefusesAnUnknownCertificateByDefault) {
  auto server = start();
  HttpClient http(fastOptions());  // the system store does not know the test CA
  auto response = http.fetch(uispSites(*server));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().errnum, EPROTO) << response.error().message();
  EXPECT_NE(response.error().message().find("1 attempt"), std::string::npos);  // not retried
}

TEST_F(HttpsTest, RefusesAHostNameTheCertificateDoesNotName) {
  auto server = start();
  HttpOptions options = fastOptions();
  options.caFile = pki_.caCert;
  HttpClient http(options);
  auto request = uispSites(*server);
  request.url = "https://127.0.0.1:" + std::to_string(server->port()) + "/nms/api/v2.1/sites";
  auto response = http.fetch(request);
  ASSERT_FALSE(response);  // the certificate names "localhost", not 127.0.0.1
  EXPECT_EQ(response.error().errnum, EPROTO) << response.error().message();
}

TEST_F(HttpsTest, InsecureOptInAcceptsAnyCertificate) {
  auto server = start();
  HttpOptions options = fastOptions();
  options.insecure = true;
  HttpClient http(options);
  auto response = http.fetch(uispSites(*server));
  ASSERT_TRUE(response) << response.error().message();
}

TEST(HttpBasics, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
}

TEST(HttpBasics, BasicAuthMatchesRfc7617Example) {
  auto [name, value] = HttpClient::basicAuth("Aladdin", "open sesame");
  EXPECT_EQ(name, "Authorization");
  EXPECT_EQ(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

}  // namespace
}  // namespace sluice::integrations
