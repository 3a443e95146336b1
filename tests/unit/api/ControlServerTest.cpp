// The control server and client over real Unix sockets in a temporary directory.

#include "api/ControlServer.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "ApiTestSupport.h"
#include "api/ControlClient.h"

namespace sluice::api {
namespace {

using test::FakeHandler;
using test::rawExchange;
using test::TempDir;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

int countOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/run/sluice/sluiced.sock";  // parents do not exist yet
    Result<std::unique_ptr<ControlServer>> s = ControlServer::start(path_, handler_);
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
  }

  Response get(const std::string& target) {
    Result<Response> r = request(path_, "GET", target);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : Response{0, {}};
  }

  TempDir dir_;
  std::string path_;
  FakeHandler handler_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, StatusReloadCheckRoundTrip) {
  handler_.statusResponse = {200, {{"state", "ready"}, {"circuits", 50}, {"refused", nullptr}}};
  handler_.reloadResponse = {422, {{"outcome", "refused"}, {"errors", {"a.csv:3:1: error: x"}}}};
  handler_.checkResponse = {200, {{"valid", true}}};

  const Response status = get("/api/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.body, handler_.statusResponse.body);

  Result<Response> reload = request(path_, "POST", "/api/reload");
  ASSERT_TRUE(reload) << reload.error().message();
  EXPECT_EQ(reload->status, 422);
  EXPECT_EQ(reload->body, handler_.reloadResponse.body);

  const nlohmann::json body = {{"note", "ignored by today's routes"}};
  Result<Response> check = request(path_, "POST", "/api/check", &body);
  ASSERT_TRUE(check) << check.error().message();
  EXPECT_EQ(check->status, 200);
  EXPECT_EQ(check->body, handler_.checkResponse.body);

  EXPECT_EQ(handler_.statusCalls, 1);
  EXPECT_EQ(handler_.reloadCalls, 1);
  EXPECT_EQ(handler_.checkCalls, 1);
}

TEST_F(ControlServerTest, UnknownTargetIs404) {
  const Response r = get("/api/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.body["error"].is_string());
  EXPECT_EQ(handler_.statusCalls, 0);
}

TEST_F(ControlServerTest, WrongMethodIs405WithAllowHeader) {
  Result<Response> r = request(path_, "DELETE", "/api/status");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 405);
  EXPECT_TRUE(r->body["error"].is_string());
  const std::string raw = rawExchange(
      path_, "POST /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
             "Connection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 405", 0), 0u) << raw;
  EXPECT_NE(raw.find("Allow: GET\r\n"), std::string::npos) << raw;
  EXPECT_EQ(handler_.statusCalls, 0);
}

TEST_F(ControlServerTest, GarbageGets400AndTheServerKeepsServing) {
  const char bytes[] = "\x16\x03\x01\x02\x00\xff\xfe garbage \r\n\r\n";
  const std::string garbage(bytes, sizeof(bytes) - 1);
  const std::string raw = rawExchange(path_, garbage);
  // The server answers 400 and closes (rawExchange returns on close, not on its 5 s timeout).
  EXPECT_EQ(raw.rfind("HTTP/1.1 400", 0), 0u) << raw;
  EXPECT_EQ(rawExchange(path_, "GET /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n"
                               "\r\n")
                .rfind("HTTP/1.1 400", 0),
            0u);
  // A client that hangs up mid-request is no problem either.
  test::sendAndHangUp(path_, "GET /api/sta");
  EXPECT_EQ(get("/api/status").status, 200);
  EXPECT_EQ(handler_.statusCalls, 1);
}

TEST_F(ControlServerTest, OversizedBodyIs413) {
  const std::string raw = rawExchange(
      path_, "POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" +
                 std::string(ControlServer::kMaxRequestBodyBytes + 1, 'x'));
  EXPECT_EQ(raw.rfind("HTTP/1.1 413", 0), 0u) << raw.substr(0, 200);
  EXPECT_EQ(handler_.checkCalls, 0);
  const std::string header(ControlServer::kMaxRequestHeaderBytes + 1, 'a');
  EXPECT_EQ(rawExchange(path_, "GET /api/status HTTP/1.1\r\nX-Big: " + header + "\r\n\r\n")
                .rfind("HTTP/1.1 431", 0),
            0u);
  EXPECT_EQ(get("/api/status").status, 200);
}

TEST_F(ControlServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const std::string raw = rawExchange(
      path_,
      "GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
      "GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(countOf(raw, "HTTP/1.1 200 OK\r\n"), 3) << raw;
  EXPECT_EQ(handler_.statusCalls, 2);
  EXPECT_EQ(handler_.checkCalls, 1);
}

TEST_F(ControlServerTest, HandlerFailuresAnswer500AndServingGoesOn) {
  handler_.beforeAnswer = [] { throw std::runtime_error("boom"); };
  EXPECT_EQ(get("/api/status").status, 500);
  handler_.beforeAnswer = nullptr;
  handler_.statusResponse = {7, {{"state", "ready"}}};  // not an HTTP status
  EXPECT_EQ(get("/api/status").status, 500);
  handler_.statusResponse = {101, {{"state", "ready"}}};  // would need a second answer
  EXPECT_EQ(get("/api/status").status, 500);
  handler_.statusResponse = {204, {{"state", "ready"}}};  // no body allowed: it is dropped
  const Response empty = get("/api/status");
  EXPECT_EQ(empty.status, 204);
  EXPECT_TRUE(empty.body.is_null());
  handler_.statusResponse = {200, {{"message", std::string("bad \xff utf-8")}}};
  const Response r = get("/api/status");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body["message"].is_string());
}

TEST_F(ControlServerTest, SocketIs0660InA0755Directory) {
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ASSERT_EQ(::stat((dir_.path() + "/run/sluice").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((dir_.path() + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(ControlServerTest, SecondServerOnALivePathFailsWithEaddrinuse) {
  FakeHandler other;
  Result<std::unique_ptr<ControlServer>> second = ControlServer::start(path_, other);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().errnum, EADDRINUSE);
  EXPECT_NE(second.error().message().find(path_), std::string::npos);
  EXPECT_EQ(get("/api/status").status, 200);  // the first one is untouched
  EXPECT_EQ(handler_.statusCalls, 1);
  EXPECT_EQ(other.statusCalls, 0);
}

TEST_F(ControlServerTest, StopUnlinksAndClientSaysNotRunning) {
  server_->stop();
  EXPECT_FALSE(exists(path_));
  server_->stop();  // idempotent
  Result<Response> r = request(path_, "GET", "/api/status");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENOENT);
  EXPECT_NE(r.error().message().find(path_), std::string::npos);
  EXPECT_NE(r.error().message().find("sluiced is not running"), std::string::npos);
}

TEST_F(ControlServerTest, StopClosesOpenKeepAliveConnections) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = test::unixAddress(path_);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string req = "GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[4096];
  ASSERT_GT(::recv(fd, buf, sizeof(buf), 0), 0);  // the answer; the connection stays open
  server_->stop();
  EXPECT_EQ(::recv(fd, buf, sizeof(buf), 0), 0);  // EOF, not the 5 s timeout
  ::close(fd);
}

TEST_F(ControlServerTest, StopLeavesASuccessorsSocketAlone) {
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  FakeHandler successorHandler;
  Result<std::unique_ptr<ControlServer>> successor = ControlServer::start(path_, successorHandler);
  ASSERT_TRUE(successor) << successor.error().message();
  server_->stop();
  EXPECT_TRUE(exists(path_));
  EXPECT_EQ(get("/api/status").status, 200);
  EXPECT_EQ(successorHandler.statusCalls, 1);
}

TEST(ControlServer, ReplacesAStaleSocket) {
  TempDir dir;
  const std::string path = dir.path() + "/sluiced.sock";
  test::makeStaleSocket(path);
  Result<Response> refused = request(path, "GET", "/api/status");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().errnum, ECONNREFUSED);
  EXPECT_NE(refused.error().message().find("sluiced is not running"), std::string::npos);

  FakeHandler handler;
  Result<std::unique_ptr<ControlServer>> server = ControlServer::start(path, handler);
  ASSERT_TRUE(server) << server.error().message();
  Result<Response> r = request(path, "GET", "/api/status");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(handler.statusCalls, 1);
}

TEST(ControlServer, RefusesToReplaceAFileThatIsNotASocket) {
  TempDir dir;
  const std::string path = dir.path() + "/sluiced.sock";
  std::ofstream(path) << "precious";
  FakeHandler handler;
  Result<std::unique_ptr<ControlServer>> server = ControlServer::start(path, handler);
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().errnum, EEXIST);
  EXPECT_NE(server.error().message().find(path), std::string::npos);
  std::string content;
  std::ifstream(path) >> content;
  EXPECT_EQ(content, "precious");
}

TEST(ControlServer, PathTooLongForSunPath) {
  FakeHandler handler;
  TempDir dir;
  const std::string path = dir.path() + "/deeper/" + std::string(100, 'x') + ".sock";
  Result<std::unique_ptr<ControlServer>> server = ControlServer::start(path, handler);
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().errnum, ENAMETOOLONG);
  EXPECT_FALSE(exists(dir.path() + "/deeper"));  // refused before creating anything
  Result<Response> r = request(path, "GET", "/api/status");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENAMETOOLONG);
}

TEST(ControlClient, TimesOutOnADaemonThatNeverAnswers) {
  TempDir dir;
  const std::string path = dir.path() + "/hung.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = test::unixAddress(path);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);  // connects complete in the backlog; nobody ever accepts
  const auto begin = std::chrono::steady_clock::now();
  Result<Response> r = request(path, "GET", "/api/status", nullptr, std::chrono::milliseconds(200));
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ETIMEDOUT);
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(ControlClient, RejectsANonJsonAnswerAndABadMethod) {
  TempDir dir;
  const std::string path = dir.path() + "/odd.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = test::unixAddress(path);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  std::thread peer([fd] {
    const int conn = ::accept(fd, nullptr, nullptr);
    char buf[4096];
    ::recv(conn, buf, sizeof(buf), 0);
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!";
    ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(conn);
  });
  Result<Response> r = request(path, "GET", "/api/status");
  peer.join();
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, EPROTO);

  Result<Response> bad = request(path, "GE T", "/api/status");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().errnum, EINVAL);
}

}  // namespace
}  // namespace sluice::api
