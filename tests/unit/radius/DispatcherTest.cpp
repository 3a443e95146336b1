#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "TestPackets.h"
#include "radius/Dispatcher.h"

namespace sluice::radius {
namespace {

using namespace test;

constexpr int64_t kUnixNow = 1'800'000'000;

class RadiusDispatcher : public ::testing::Test {
 protected:
  RadiusDispatcher()
      : dispatcher_(DispatcherConfig{}, {Client{"bng", {*IpNet::parse("192.0.2.0/24")}, "secret"}},
                    [this](const std::vector<SessionEvent>& ev) {
                      events_.insert(events_.end(), ev.begin(), ev.end());
                    }) {}

  std::optional<Packet> send(const std::vector<uint8_t>& bytes, Role role,
                             const char* from = "192.0.2.10") {
    const auto answer = dispatcher_.handle(bytes, *IpNet::parse(from), role, 10, kUnixNow);
    if (!answer) {
      return std::nullopt;
    }
    return parse(*answer).value();
  }

  std::vector<uint8_t> start(const std::string& secret = "secret") {
    return signedRequest(
        Code::AccountingRequest, 1,
        {u32(attr::kAcctStatusType, 1), str(attr::kNasIdentifier, "bng1"),
         str(attr::kAcctSessionId, "S1"), ipv4(attr::kFramedIpAddress, 100, 64, 0, 5),
         vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("10M/50M")), str(33, "proxy")},
        secret);
  }

  Dispatcher dispatcher_;
  std::vector<SessionEvent> events_;
};

TEST_F(RadiusDispatcher, AnswersAccountingWithAValidResponse) {
  const auto req = start();
  const auto resp =
      dispatcher_.handle(req, *IpNet::parse("192.0.2.10"), Role::Accounting, 10, kUnixNow);
  ASSERT_TRUE(resp);
  const auto p = parse(*resp).value();
  EXPECT_EQ(p.code, Code::AccountingResponse);
  EXPECT_EQ(p.identifier, 1);
  ASSERT_NE(p.find(33), nullptr);  // Proxy-State echoed
  // The response authenticator is what a NAS with the same secret expects.
  const auto reqAuth = parse(req).value().authenticator;
  EXPECT_EQ(
      encodeResponse(Packet{Code::AccountingResponse, 1, {}, {str(33, "proxy")}}, reqAuth, "secret")
          .value(),
      *resp);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, EventKind::Created);
  EXPECT_EQ(dispatcher_.counters().responses, 1u);
}

TEST_F(RadiusDispatcher, DropsUnknownClientWrongSecretMalformedAndWrongRole) {
  EXPECT_FALSE(send(start(), Role::Accounting, "198.51.100.1"));
  EXPECT_FALSE(send(start("wrong"), Role::Accounting));
  EXPECT_FALSE(send(std::vector<uint8_t>(10, 0), Role::Accounting));
  EXPECT_FALSE(send(start(), Role::DynamicAuthorization));
  const auto c = dispatcher_.counters();
  EXPECT_EQ(c.received, 4u);
  EXPECT_EQ(c.unknownClient, 1u);
  EXPECT_EQ(c.badAuthenticator, 1u);
  EXPECT_EQ(c.malformed, 1u);
  EXPECT_EQ(c.wrongCode, 1u);
  EXPECT_EQ(c.responses, 0u);
  EXPECT_TRUE(events_.empty());
  EXPECT_TRUE(dispatcher_.sessions().empty());
}

TEST_F(RadiusDispatcher, CoaAckNakAndDisconnect) {
  send(start(), Role::Accounting);
  events_.clear();
  auto r =
      send(signedRequest(Code::CoaRequest, 2,
                         {str(attr::kAcctSessionId, "S1"), u32(attr::kEventTimestamp, kUnixNow - 5),
                          vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("5M/25M"))},
                         "secret"),
           Role::DynamicAuthorization);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, Code::CoaAck);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, EventKind::RatesChanged);
  r = send(signedRequest(Code::DisconnectRequest, 3, {str(attr::kAcctSessionId, "S9")}, "secret"),
           Role::DynamicAuthorization);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, Code::DisconnectNak);
  ASSERT_NE(r->find(attr::kErrorCause), nullptr);
  EXPECT_EQ(asUint32(r->find(attr::kErrorCause)->value), 503u);
  r = send(signedRequest(Code::DisconnectRequest, 4, {str(attr::kAcctSessionId, "S1")}, "secret"),
           Role::DynamicAuthorization);
  EXPECT_EQ(r->code, Code::DisconnectAck);
  EXPECT_EQ(r->find(attr::kErrorCause), nullptr);
  EXPECT_EQ(events_.back().kind, EventKind::Removed);
  EXPECT_TRUE(dispatcher_.sessions().empty());
}

TEST_F(RadiusDispatcher, ReplayOutsideTheEventTimestampWindowIsDropped) {
  send(start(), Role::Accounting);
  const auto rate = vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("1M/1M"));
  EXPECT_FALSE(send(signedRequest(Code::CoaRequest, 5,
                                  {str(attr::kAcctSessionId, "S1"),
                                   u32(attr::kEventTimestamp, kUnixNow - 301), rate},
                                  "secret"),
                    Role::DynamicAuthorization));
  EXPECT_FALSE(send(signedRequest(Code::CoaRequest, 6,
                                  {str(attr::kAcctSessionId, "S1"),
                                   u32(attr::kEventTimestamp, kUnixNow + 301), rate},
                                  "secret"),
                    Role::DynamicAuthorization));
  EXPECT_EQ(dispatcher_.counters().replayDropped, 2u);
  EXPECT_EQ(dispatcher_.sessions().at(0).rates->downloadBps, 50'000'000u);
  EXPECT_TRUE(send(signedRequest(Code::CoaRequest, 7,
                                 {str(attr::kAcctSessionId, "S1"),
                                  u32(attr::kEventTimestamp, kUnixNow - 300), rate},
                                 "secret"),
                   Role::DynamicAuthorization));
}

TEST_F(RadiusDispatcher, RetransmissionGetsTheCachedAnswerAndIsNotAppliedTwice) {
  send(start(), Role::Accounting);
  const auto disconnect =
      signedRequest(Code::DisconnectRequest, 8, {str(attr::kAcctSessionId, "S1")}, "secret");
  const auto first = dispatcher_.handle(disconnect, *IpNet::parse("192.0.2.10"),
                                        Role::DynamicAuthorization, 10, kUnixNow, 5000);
  ASSERT_TRUE(first);
  EXPECT_EQ(parse(*first).value().code, Code::DisconnectAck);
  const size_t eventsAfterFirst = events_.size();
  // The ACK was lost; the same request again within the window gets the same ACK, no NAK 503.
  const auto again = dispatcher_.handle(disconnect, *IpNet::parse("192.0.2.10"),
                                        Role::DynamicAuthorization, 39, kUnixNow, 5000);
  EXPECT_EQ(again, first);
  EXPECT_EQ(events_.size(), eventsAfterFirst);
  EXPECT_EQ(dispatcher_.counters().duplicates, 1u);
  EXPECT_EQ(dispatcher_.sessionCounters().disconnectAck, 1u);
  // From another source port it is a new request; after the window (and a prune) too.
  auto other = dispatcher_.handle(disconnect, *IpNet::parse("192.0.2.10"),
                                  Role::DynamicAuthorization, 11, kUnixNow, 5001);
  EXPECT_EQ(parse(*other).value().code, Code::DisconnectNak);
  dispatcher_.expire(40);
  other = dispatcher_.handle(disconnect, *IpNet::parse("192.0.2.10"), Role::DynamicAuthorization,
                             40, kUnixNow, 5000);
  EXPECT_EQ(parse(*other).value().code, Code::DisconnectNak);
  EXPECT_EQ(dispatcher_.counters().duplicates, 1u);
}

TEST_F(RadiusDispatcher, WrongSecretWarningsAreRateLimitedCountsAreExact) {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("ring", ring));
  const auto bad = start("wrong");
  for (int64_t sec : {100, 101, 105, 109, 110}) {  // warnings at 100 and 110 only
    EXPECT_FALSE(
        dispatcher_.handle(bad, *IpNet::parse("192.0.2.10"), Role::Accounting, sec, kUnixNow));
  }
  spdlog::set_default_logger(previous);
  const auto lines = ring->last_formatted();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("bad Request Authenticator (wrong shared secret?)"), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("(3 more dropped since the last warning)"), std::string::npos)
      << lines[1];
  EXPECT_EQ(dispatcher_.counters().badAuthenticator, 5u);
}

TEST(RadiusDispatcherPolicy, RequiredEventTimestampAndMessageAuthenticator) {
  DispatcherConfig config;
  config.requireEventTimestamp = true;
  config.requireMessageAuthenticator = true;
  Dispatcher d(config, {Client{"bng", {*IpNet::parse("192.0.2.1")}, "k"}}, nullptr);
  const auto from = *IpNet::parse("192.0.2.1");
  EXPECT_FALSE(
      d.handle(signedRequest(Code::DisconnectRequest, 1, {str(attr::kAcctSessionId, "S")}, "k"),
               from, Role::DynamicAuthorization, 0, kUnixNow));
  EXPECT_EQ(d.counters().badAuthenticator, 1u);
  const auto answer = d.handle(
      signedRequest(Code::DisconnectRequest, 1,
                    {str(attr::kAcctSessionId, "S"), {attr::kMessageAuthenticator, {}}}, "k"),
      from, Role::DynamicAuthorization, 0, kUnixNow);
  ASSERT_TRUE(answer);
  const auto p = parse(*answer).value();
  EXPECT_EQ(p.code, Code::DisconnectNak);
  EXPECT_EQ(asUint32(p.find(attr::kErrorCause)->value), 402u);
}

TEST(RadiusClients, LoadsSecretsAndPicksTheLongestPrefix) {
  const std::string file = ::testing::TempDir() + "radius-secret-" + std::to_string(::getpid());
  std::ofstream(file) << "topsecret\n";
  auto wide = loadClient({"wide", {"10.0.0.0/8"}, file}).value();
  auto narrow = loadClient({"narrow", {"10.1.0.0/16", "2001:db8::/32"}, file}).value();
  EXPECT_EQ(narrow.secret, "topsecret");
  const std::vector<Client> clients{wide, narrow};
  EXPECT_EQ(findClient(clients, *IpNet::parse("10.1.2.3"))->name, "narrow");
  EXPECT_EQ(findClient(clients, *IpNet::parse("10.2.2.3"))->name, "wide");
  EXPECT_EQ(findClient(clients, *IpNet::parse("192.0.2.1")), nullptr);
  const auto missing = loadClient({"x", {"10.0.0.1"}, file + ".absent"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find(".absent"), std::string::npos);
  const auto badSource = loadClient({"x", {"10.0.0.1/40"}, file});
  ASSERT_FALSE(badSource);
  EXPECT_NE(badSource.error().detail.find("10.0.0.1/40"), std::string::npos);
  std::ofstream(file) << "\n";
  EXPECT_FALSE(loadClient({"x", {"10.0.0.1"}, file}));
  std::remove(file.c_str());
}

}  // namespace
}  // namespace sluice::radius
