// The operator API pipeline: public routes, authentication (sessions, CSRF, API keys, roles,
// login rate limit), trusted control-socket requests, static files, and the TCP server with
// WebSocket pushes and built-in TLS.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "ApiTestSupport.h"
#include "api/OperatorApi.h"
#include "api/WebServer.h"
#include "auth/Authenticator.h"

namespace sluice::api {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

/// Answers every route with {"route": name} and counts calls.
class FakeBackend : public OperatorBackend {
 public:
#define SLUICE_FAKE(name)                                                                \
  HttpResponse name(const HttpRequest&, const std::string& param) override {             \
    ++calls;                                                                             \
    lastParam = param;                                                                   \
    return HttpResponse::json(200, {{"route", #name}});                                  \
  }
  SLUICE_FAKE(status)
  SLUICE_FAKE(reload)
  SLUICE_FAKE(check)
  SLUICE_FAKE(summary)
  SLUICE_FAKE(tree)
  SLUICE_FAKE(circuits)
  SLUICE_FAKE(circuit)
  SLUICE_FAKE(addCircuit)
  SLUICE_FAKE(patchCircuit)
  SLUICE_FAKE(deleteCircuit)
  SLUICE_FAKE(top)
  SLUICE_FAKE(unknown)
  SLUICE_FAKE(urgent)
  SLUICE_FAKE(config)
  SLUICE_FAKE(validateConfig)
  SLUICE_FAKE(putConfig)
  SLUICE_FAKE(queueMode)
  SLUICE_FAKE(metrics)
  SLUICE_FAKE(health)
  SLUICE_FAKE(ready)
  SLUICE_FAKE(ha)
#undef SLUICE_FAKE
  std::pair<bool, std::string> channel(const std::string& name) override {
    if (name == "tree") {
      return {true, R"({"nodes":[]})"};
    }
    return {false, "no such channel: " + name};
  }
  std::atomic<int> calls{0};
  std::string lastParam;
};

/// Cheap argon2 parameters: the tests hash and verify many passwords.
constexpr auth::PasswordParams kCheap{1, 64, 1, 16, 32};

class OperatorApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::AuthOptions o;
    o.usersFile = dir_.path() + "/users.json";
    o.passwordParams = kCheap;
    authn_ = std::make_unique<auth::Authenticator>(o);
    ASSERT_TRUE(authn_->open());
    ASSERT_TRUE(authn_->users().addUser("alice", auth::Role::Admin, "alice-password-1"));
    ASSERT_TRUE(authn_->users().addUser("rob", auth::Role::ReadOnly, "rob-password-12"));
    fs::create_directories(dir_.path() + "/web/assets");
    std::ofstream(dir_.path() + "/web/index.html") << "<html>sluice</html>";
    std::ofstream(dir_.path() + "/web/assets/app-1234.js") << "console.log(1)";
    std::ofstream(dir_.path() + "/secret.txt") << "outside";
    api_ = std::make_unique<OperatorApi>(backend_, authn_.get(),
                                         OperatorApiOptions{dir_.path() + "/web"});
  }

  HttpRequest request(std::string method, std::string target, std::string body = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    splitTarget(r.target, r.path, r.query);
    r.body = std::move(body);
    r.peer = "192.0.2.1";
    if (!r.body.empty()) {
      r.headers["content-type"] = "application/json";
    }
    return r;
  }

  struct Login {
    std::string cookie;  ///< "sluice_session=..."
    std::string csrf;
  };
  Login login(const std::string& user, const std::string& password) {
    HttpResponse r = api_->handle(request(
        "POST", "/api/login", json{{"username", user}, {"password", password}}.dump()));
    EXPECT_EQ(r.status, 200) << r.body;
    Login out;
    for (const auto& [name, value] : r.headers) {
      if (name == "Set-Cookie") {
        out.cookie = value.substr(0, value.find(';'));
        EXPECT_NE(value.find("HttpOnly"), std::string::npos);
        EXPECT_NE(value.find("SameSite=Strict"), std::string::npos);
      }
    }
    out.csrf = json::parse(r.body).value("csrf_token", "");
    return out;
  }

  test::TempDir dir_;
  FakeBackend backend_;
  std::unique_ptr<auth::Authenticator> authn_;
  std::unique_ptr<OperatorApi> api_;
};

TEST_F(OperatorApiTest, OpenApiDocumentIsPublicAndListsEveryRoute) {
  HttpResponse r = api_->handle(request("GET", "/api/openapi.json"));
  ASSERT_EQ(r.status, 200);
  const json doc = json::parse(r.body);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  for (const char* path : {"/api/status", "/api/reload", "/api/check", "/api/summary", "/api/tree",
                           "/api/circuits", "/api/circuits/{id}", "/api/top", "/api/unknown",
                           "/api/urgent", "/api/config", "/api/config/validate",
                           "/api/queue-mode", "/api/users", "/api/apikeys", "/api/login",
                           "/api/logout", "/api/me", "/metrics", "/api/ws"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(OperatorApiTest, HealthAndReadyArePublicTheHaIdentityIsNot) {
  // Routers' health checks and load balancers probe without credentials (docs/ha.md).
  for (const char* path : {"/health", "/ready"}) {
    HttpResponse r = api_->handle(request("GET", path));
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(json::parse(r.body)["route"], std::string(path).substr(1)) << path;
    EXPECT_EQ(api_->handle(request("POST", path)).status, 405) << path;
  }
  EXPECT_EQ(backend_.calls, 2);
  EXPECT_EQ(api_->handle(request("GET", "/api/ha")).status, 401);
  EXPECT_EQ(backend_.calls, 2);
}

TEST_F(OperatorApiTest, WithoutCredentialsEveryApiRouteIs401) {
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/status"}, {"GET", "/api/tree"}, {"POST", "/api/reload"},
           {"GET", "/metrics"}, {"GET", "/api/circuits/1001"}, {"GET", "/api/users"},
           {"DELETE", "/api/circuits/1001"}}) {
    EXPECT_EQ(api_->handle(request(method, target)).status, 401) << method << " " << target;
  }
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(OperatorApiTest, SessionNeedsTheCsrfTokenToChangeAnything) {
  Login alice = login("alice", "alice-password-1");
  ASSERT_FALSE(alice.cookie.empty());
  HttpRequest get = request("GET", "/api/circuits/c%2F1?x=1");
  get.headers["cookie"] = alice.cookie;
  HttpResponse r = api_->handle(get);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["route"], "circuit");
  EXPECT_EQ(backend_.lastParam, "c/1");

  HttpRequest post = request("POST", "/api/reload");
  post.headers["cookie"] = alice.cookie;
  EXPECT_EQ(api_->handle(post).status, 403);
  post.headers["x-csrf-token"] = "wrong";
  EXPECT_EQ(api_->handle(post).status, 403);
  post.headers["x-csrf-token"] = alice.csrf;
  EXPECT_EQ(api_->handle(post).status, 200);

  HttpRequest me = request("GET", "/api/me");
  me.headers["cookie"] = alice.cookie;
  const json who = json::parse(api_->handle(me).body);
  EXPECT_EQ(who["user"], "alice");
  EXPECT_EQ(who["role"], "admin");
  EXPECT_EQ(who["csrf_token"], alice.csrf);

  HttpRequest logout = request("POST", "/api/logout");
  logout.headers["cookie"] = alice.cookie;
  logout.headers["x-csrf-token"] = alice.csrf;
  EXPECT_EQ(api_->handle(logout).status, 200);
  EXPECT_EQ(api_->handle(get).status, 401) << "the session ended";
}

TEST_F(OperatorApiTest, ReadOnlyRoleReadsButChangesNothing) {
  Login rob = login("rob", "rob-password-12");
  const int before = backend_.calls;
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/api/reload"}, {"POST", "/api/circuits"}, {"PATCH", "/api/circuits/1001"},
           {"DELETE", "/api/circuits/1001"}, {"PUT", "/api/config"}, {"PUT", "/api/queue-mode"},
           {"POST", "/api/users"}, {"GET", "/api/users"}, {"GET", "/api/apikeys"}}) {
    HttpRequest r = request(method, target, "{}");
    r.headers["cookie"] = rob.cookie;
    r.headers["x-csrf-token"] = rob.csrf;
    EXPECT_EQ(api_->handle(r).status, 403) << method << " " << target;
  }
  EXPECT_EQ(backend_.calls, before);
  HttpRequest get = request("GET", "/api/tree");
  get.headers["cookie"] = rob.cookie;
  EXPECT_EQ(api_->handle(get).status, 200);
}

TEST_F(OperatorApiTest, ApiKeysWorkWithoutCsrfAndCarryTheirRole) {
  Login alice = login("alice", "alice-password-1");
  HttpRequest create = request("POST", "/api/apikeys", R"({"name":"grafana","role":"read-only"})");
  create.headers["cookie"] = alice.cookie;
  create.headers["x-csrf-token"] = alice.csrf;
  HttpResponse made = api_->handle(create);
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string key = json::parse(made.body)["key"];
  HttpRequest metrics = request("GET", "/metrics");
  metrics.headers["authorization"] = "Bearer " + key;
  EXPECT_EQ(api_->handle(metrics).status, 200);
  HttpRequest reload = request("POST", "/api/reload");
  reload.headers["authorization"] = "Bearer " + key;
  EXPECT_EQ(api_->handle(reload).status, 403) << "a read-only key cannot reload";
  reload.headers["authorization"] = "Bearer sluice_notakey";
  EXPECT_EQ(api_->handle(reload).status, 401);

  auto adminKey = authn_->users().addApiKey("ci", auth::Role::Admin);
  ASSERT_TRUE(adminKey);
  reload.headers["authorization"] = "Bearer " + *adminKey;
  EXPECT_EQ(api_->handle(reload).status, 200) << "no CSRF token needed with a key";

  HttpRequest list = request("GET", "/api/apikeys");
  list.headers["cookie"] = alice.cookie;
  const std::string listed = api_->handle(list).body;
  EXPECT_NE(listed.find("grafana"), std::string::npos);
  EXPECT_EQ(listed.find(key), std::string::npos) << "keys are shown once";
}

TEST_F(OperatorApiTest, WrongPasswordsAre401ThenRateLimited429) {
  int last = 0;
  std::string retryAfter;
  for (int i = 0; i < 8 && last != 429; ++i) {
    HttpResponse r = api_->handle(
        request("POST", "/api/login", R"({"username":"alice","password":"guess"})"));
    last = r.status;
    EXPECT_TRUE(last == 401 || last == 429) << r.body;
    for (const auto& [n, v] : r.headers) {
      if (n == "Retry-After") {
        retryAfter = v;
      }
    }
  }
  EXPECT_EQ(last, 429);
  EXPECT_FALSE(retryAfter.empty());
  HttpRequest form = request("POST", "/api/login", R"({"username":"alice"})");
  form.headers["content-type"] = "application/x-www-form-urlencoded";
  EXPECT_EQ(api_->handle(form).status, 415);
}

TEST_F(OperatorApiTest, UsersCanBeManagedByAnAdmin) {
  Login alice = login("alice", "alice-password-1");
  HttpRequest add = request("POST", "/api/users",
                            R"({"username":"carol","password":"carol-password-1","role":"read-only"})");
  add.headers["cookie"] = alice.cookie;
  add.headers["x-csrf-token"] = alice.csrf;
  EXPECT_EQ(api_->handle(add).status, 200);
  login("carol", "carol-password-1");
  HttpRequest del = request("DELETE", "/api/users/carol");
  del.headers = add.headers;
  EXPECT_EQ(api_->handle(del).status, 200);
  EXPECT_EQ(api_->handle(del).status, 404);
}

TEST_F(OperatorApiTest, ControlSocketRequestsAreTrusted) {
  HttpRequest r = request("POST", "/api/reload");
  r.trusted = true;
  EXPECT_EQ(api_->handle(r).status, 200);
  EXPECT_EQ(api_->handle(request("GET", "/api/nope")).status, 404);
  HttpResponse wrong = api_->handle(request("PUT", "/api/status"));
  EXPECT_EQ(wrong.status, 405);
}

TEST_F(OperatorApiTest, StaticFilesStayInsideWebRoot) {
  HttpResponse index = api_->handle(request("GET", "/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<html>sluice</html>");
  EXPECT_EQ(index.contentType, "text/html; charset=utf-8");
  HttpResponse js = api_->handle(request("GET", "/assets/app-1234.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.contentType, "text/javascript; charset=utf-8");
  EXPECT_EQ(api_->handle(request("GET", "/circuits/1001")).body, "<html>sluice</html>")
      << "client-side routes get the app";
  EXPECT_EQ(api_->handle(request("GET", "/../secret.txt")).status, 404);
  EXPECT_EQ(api_->handle(request("GET", "/%2e%2e/secret.txt")).status, 404);
  EXPECT_EQ(api_->handle(request("GET", "/assets/missing.js")).status, 404);
}

// --- over TCP ---------------------------------------------------------------------------------

struct HttpResult {
  int status = 0;
  std::string body;
  std::string setCookie;
};

HttpResult httpOnce(uint16_t port, http::verb verb, const std::string& target,
                    const std::string& body = {}, const std::string& cookie = {}) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!cookie.empty()) {
    req.set(http::field::cookie, cookie);
  }
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::set_cookie])};
}

TEST_F(OperatorApiTest, TcpServesHttpAndPushesWebSocketChannels) {
  auto server = WebServer::start(WebServerOptions{"127.0.0.1:0", "", "", 2}, *api_);
  ASSERT_TRUE(server) << server.error().message();
  const uint16_t port = (*server)->port();
  EXPECT_EQ(httpOnce(port, http::verb::get, "/api/status").status, 401);
  EXPECT_EQ(httpOnce(port, http::verb::get, "/api/openapi.json").status, 200);
  {  // HEAD: the GET's headers without its body, and the connection stays usable
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> head{http::verb::head, "/", 11};
    head.set(http::field::host, "127.0.0.1");
    http::write(stream, head);
    beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    parser.skip(true);
    http::read(stream, buffer, parser);
    EXPECT_EQ(parser.get().result_int(), 200u);
    EXPECT_EQ(parser.get()[http::field::content_length], "19");  // "<html>sluice</html>"
    http::request<http::empty_body> get{http::verb::get, "/api/openapi.json", 11};
    get.set(http::field::host, "127.0.0.1");
    http::write(stream, get);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    EXPECT_EQ(res.result_int(), 200u);
  }
  HttpResult in = httpOnce(port, http::verb::post, "/api/login",
                           R"({"username":"rob","password":"rob-password-12"})");
  ASSERT_EQ(in.status, 200) << in.body;
  const std::string cookie = in.setCookie.substr(0, in.setCookie.find(';'));
  EXPECT_EQ(httpOnce(port, http::verb::get, "/api/tree", {}, cookie).status, 200);

  namespace websocket = beast::websocket;
  {  // without the cookie the upgrade is refused
    net::io_context ioc;
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::get_lowest_layer(ws).connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    ws.handshake("127.0.0.1", "/api/ws", ec);
    EXPECT_TRUE(ec);
  }
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  beast::get_lowest_layer(ws).connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  ws.set_option(websocket::stream_base::decorator(
      [&](websocket::request_type& req) { req.set(http::field::cookie, cookie); }));
  ws.handshake("127.0.0.1", "/api/ws");
  ws.write(net::buffer(std::string(R"({"subscribe":["tree","bogus"]})")));
  std::set<std::string> seen;
  const auto start = std::chrono::steady_clock::now();
  int treeMessages = 0;
  while (treeMessages < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    const json msg = json::parse(beast::buffers_to_string(buffer.data()));
    if (msg["channel"] == "tree") {
      ++treeMessages;
      EXPECT_EQ(msg["data"], json::parse(R"({"nodes":[]})"));
    } else {
      EXPECT_EQ(msg["channel"], "bogus");
      EXPECT_TRUE(msg.contains("error"));
    }
  }
  EXPECT_EQ(treeMessages, 2) << "one at once, one a second later";
  ws.close(websocket::close_code::normal);
  (*server)->stop();
}

// Login's argon2id (real cost, ~125 ms of CPU each) runs on the server's workers: with both I/O
// threads' worth of logins in flight, a GET on another connection is answered before any of them.
TEST_F(OperatorApiTest, LoginHashingDoesNotDelayOtherRequests) {
  auth::AuthOptions o;
  o.usersFile = dir_.path() + "/real-cost-users.json";  // default (real) argon2id parameters
  auth::Authenticator authn(o);
  ASSERT_TRUE(authn.open());
  ASSERT_TRUE(authn.users().addUser("carol", auth::Role::Admin, "carol-password-1"));
  OperatorApi api(backend_, &authn, OperatorApiOptions{dir_.path() + "/web"});
  auto server = WebServer::start(WebServerOptions{"127.0.0.1:0", "", "", 2}, api);
  ASSERT_TRUE(server) << server.error().message();
  const uint16_t port = (*server)->port();
  const std::string body = R"({"username":"carol","password":"carol-password-1"})";
  HttpResult first = httpOnce(port, http::verb::post, "/api/login", body);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string cookie = first.setCookie.substr(0, first.setCookie.find(';'));

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  std::vector<std::thread> logins;
  std::vector<double> loginMs(2, 0);
  for (size_t i = 0; i < loginMs.size(); ++i) {
    logins.emplace_back([&, i] {
      EXPECT_EQ(httpOnce(port, http::verb::post, "/api/login", body).status, 200);
      loginMs[i] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // both logins are hashing
  EXPECT_EQ(httpOnce(port, http::verb::get, "/api/tree", {}, cookie).status, 200);
  const double getMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  for (auto& t : logins) {
    t.join();
  }
  EXPECT_LT(getMs, std::min(loginMs[0], loginMs[1]))
      << "GET /api/tree waited for a login's hash: get " << getMs << " ms, logins "
      << loginMs[0] << " / " << loginMs[1] << " ms";
  (*server)->stop();
}

TEST_F(OperatorApiTest, BuiltInTlsServesHttps) {
  const std::string cert = dir_.path() + "/cert.pem";
  const std::string key = dir_.path() + "/key.pem";
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                          "-keyout " + key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl (Debian package openssl) is needed";
  auto bad = WebServer::start(WebServerOptions{"127.0.0.1:0", cert, dir_.path() + "/none.pem", 1},
                              *api_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("none.pem"), std::string::npos);

  auto server = WebServer::start(WebServerOptions{"127.0.0.1:0", cert, key, 1}, *api_);
  ASSERT_TRUE(server) << server.error().message();
  EXPECT_TRUE((*server)->tls());
  net::io_context ioc;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_verify_mode(net::ssl::verify_none);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::get_lowest_layer(stream).connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), (*server)->port()));
  stream.handshake(net::ssl::stream_base::client);
  http::request<http::string_body> req{http::verb::post, "/api/login", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"username":"alice","password":"alice-password-1"})";
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  (*server)->stop();
}

TEST(ParseListenAddress, HostPortAndV6) {
  EXPECT_EQ(*parseListenAddress("127.0.0.1:9123"), (std::pair<std::string, uint16_t>{"127.0.0.1", 9123}));
  EXPECT_EQ(*parseListenAddress("[::1]:80"), (std::pair<std::string, uint16_t>{"::1", 80}));
  EXPECT_FALSE(parseListenAddress("localhost"));
  EXPECT_FALSE(parseListenAddress("1.2.3.4:99999"));
  EXPECT_FALSE(parseListenAddress("::1:80"));
}

}  // namespace
}  // namespace sluice::api
