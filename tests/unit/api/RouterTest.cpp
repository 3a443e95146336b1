#include "api/Router.h"

#include <stdexcept>

#include <gtest/gtest.h>

#include "ApiTestSupport.h"

namespace sluice::api {
namespace {

using test::FakeHandler;

TEST(Router, RoutesEachEndpointToItsHandlerCall) {
  FakeHandler h;
  h.reloadResponse = {422, {{"outcome", "refused"}, {"errors", {"a.csv:3:1: error: x"}}}};
  EXPECT_EQ(route("GET", "/api/status", h).response.body, h.statusResponse.body);
  const RoutedResponse reload = route("POST", "/api/reload", h);
  EXPECT_EQ(reload.response.status, 422);
  EXPECT_EQ(reload.response.body, h.reloadResponse.body);
  EXPECT_EQ(route("POST", "/api/check", h).response.body, h.checkResponse.body);
  EXPECT_EQ(h.statusCalls, 1);
  EXPECT_EQ(h.reloadCalls, 1);
  EXPECT_EQ(h.checkCalls, 1);
}

TEST(Router, IgnoresTheQueryString) {
  FakeHandler h;
  EXPECT_EQ(route("GET", "/api/status?verbose=1", h).response.status, 200);
  EXPECT_EQ(h.statusCalls, 1);
}

TEST(Router, UnknownTargetIs404WithoutCallingTheHandler) {
  FakeHandler h;
  for (const char* target : {"/", "/api", "/api/status/", "/api/statusx", "api/status", ""}) {
    const RoutedResponse r = route("GET", target, h);
    EXPECT_EQ(r.response.status, 404) << target;
    EXPECT_TRUE(r.response.body["error"].is_string()) << target;
    EXPECT_TRUE(r.allow.empty());
  }
  EXPECT_EQ(h.statusCalls, 0);
}

TEST(Router, WrongMethodIs405NamingTheAllowedOne) {
  FakeHandler h;
  const RoutedResponse status = route("POST", "/api/status", h);
  EXPECT_EQ(status.response.status, 405);
  EXPECT_EQ(status.allow, "GET");
  EXPECT_NE(status.response.body["error"].get<std::string>().find("POST"), std::string::npos);
  const RoutedResponse reload = route("GET", "/api/reload", h);
  EXPECT_EQ(reload.response.status, 405);
  EXPECT_EQ(reload.allow, "POST");
  EXPECT_EQ(route("get", "/api/status", h).response.status, 405);  // methods are case-sensitive
  EXPECT_EQ(h.statusCalls + h.reloadCalls + h.checkCalls, 0);
}

TEST(Router, HandlerExceptionBecomes500) {
  FakeHandler h;
  h.beforeAnswer = [] { throw std::runtime_error("tree apply exploded"); };
  const RoutedResponse r = route("POST", "/api/reload", h);
  EXPECT_EQ(r.response.status, 500);
  EXPECT_NE(r.response.body["error"].get<std::string>().find("tree apply exploded"),
            std::string::npos);
  h.beforeAnswer = [] { throw 42; };
  EXPECT_EQ(route("GET", "/api/status", h).response.status, 500);
}

}  // namespace
}  // namespace sluice::api
