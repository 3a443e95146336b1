#include <gtest/gtest.h>

#include "TestPackets.h"
#include "radius/Sessions.h"

namespace sluice::radius {
namespace {

using namespace test;

Packet acct(AcctStatus status, const std::string& sessionId, std::vector<Attribute> extra = {},
            const std::string& nas = "bng1") {
  Packet p{
      Code::AccountingRequest, 0, {}, {u32(attr::kAcctStatusType, static_cast<uint32_t>(status))}};
  if (!nas.empty())
    p.attributes.push_back(str(attr::kNasIdentifier, nas));
  if (!sessionId.empty())
    p.attributes.push_back(str(attr::kAcctSessionId, sessionId));
  p.attributes.insert(p.attributes.end(), extra.begin(), extra.end());
  return p;
}

std::vector<Attribute> full(const std::string& rate = "10M/50M") {
  return {str(attr::kUserName, "alice"), ipv4(attr::kFramedIpAddress, 100, 64, 0, 5),
          vsa(kVendorMikrotik, kMikrotikRateLimit, fromString(rate))};
}

TEST(RadiusSessions, StartCreatesInterimRefreshesStopRemoves) {
  SessionTable t;
  auto ev = t.applyAccounting(decode(acct(AcctStatus::Start, "S1", full())), 100);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::Created);
  EXPECT_EQ(ev[0].session.circuitId, "radius:bng1:S1");
  EXPECT_EQ(ev[0].session.pending, Pending::None);
  EXPECT_EQ(ev[0].session.rates->downloadBps, 50'000'000u);
  ev = t.applyAccounting(decode(acct(AcctStatus::InterimUpdate, "S1", full())), 160);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::Updated);
  EXPECT_EQ(ev[0].reason, "refreshed");
  EXPECT_EQ(t.sessions().at("radius:bng1:S1").lastUpdateSec, 160);
  ev = t.applyAccounting(decode(acct(AcctStatus::Stop, "S1")), 200);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::Removed);
  EXPECT_TRUE(t.sessions().empty());
}

TEST(RadiusSessions, DuplicateStartIsIdempotent) {
  SessionTable t;
  t.applyAccounting(decode(acct(AcctStatus::Start, "S1", full())), 100);
  const auto ev = t.applyAccounting(decode(acct(AcctStatus::Start, "S1", full())), 101);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::Updated);
  EXPECT_EQ(t.sessions().size(), 1u);
  EXPECT_EQ(t.counters().duplicateStarts, 1u);
  EXPECT_EQ(t.sessions().begin()->second.startedSec, 100);
}

TEST(RadiusSessions, StopWithoutStartIsCountedAndIgnored) {
  SessionTable t;
  EXPECT_TRUE(t.applyAccounting(decode(acct(AcctStatus::Stop, "nope")), 1).empty());
  EXPECT_EQ(t.counters().stopsWithoutStart, 1u);
  EXPECT_TRUE(t.sessions().empty());
}

TEST(RadiusSessions, MissingAttributesRefuseOrLeavePending) {
  SessionTable t;
  auto ev = t.applyAccounting(decode(acct(AcctStatus::Start, "", full())), 1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::Refused);
  EXPECT_EQ(ev[0].reason, "missing-session-id");
  ev = t.applyAccounting(decode(acct(AcctStatus::Start, "S1", full(), "")), 1);
  EXPECT_EQ(ev.at(0).reason, "missing-nas-identity");
  EXPECT_TRUE(t.sessions().empty());
  EXPECT_EQ(t.counters().refused, 2u);

  ev = t.applyAccounting(
      decode(acct(AcctStatus::Start, "S2", {ipv4(attr::kFramedIpAddress, 10, 0, 0, 1)})), 1);
  EXPECT_EQ(ev.at(0).session.pending, Pending::MissingRate);
  ev = t.applyAccounting(
      decode(acct(AcctStatus::Start, "S3",
                  {vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("1M/2M"))})),
      1);
  EXPECT_EQ(ev.at(0).session.pending, Pending::MissingAddress);
  ev = t.applyAccounting(decode(acct(AcctStatus::Start, "S4", full("bogus"))), 1);
  EXPECT_EQ(ev.at(0).session.pending, Pending::MissingRate);
  EXPECT_NE(ev.at(0).session.pendingDetail.find("bogus"), std::string::npos);
  // A later Interim carrying the rate completes the pending session.
  ev = t.applyAccounting(
      decode(acct(AcctStatus::InterimUpdate, "S2",
                  {vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("1M/2M"))})),
      2);
  EXPECT_EQ(ev.at(0).session.pending, Pending::None);
  EXPECT_EQ(ev.at(0).reason, "changed");
}

TEST(RadiusSessions, AccountingOnMarksTheNasSessionsStaleThenExpires) {
  SessionTable t({.ttlSec = 900, .staleGraceSec = 120});
  t.applyAccounting(decode(acct(AcctStatus::Start, "A", full())), 0);
  t.applyAccounting(decode(acct(AcctStatus::Start, "B", full())), 0);
  t.applyAccounting(decode(acct(AcctStatus::Start, "C", full(), "bng2")), 0);
  auto ev = t.applyAccounting(decode(acct(AcctStatus::AccountingOn, "")), 10);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, EventKind::MarkedStale);
  EXPECT_EQ(t.sessions().at("radius:bng2:C").state, SessionState::Active);
  // B comes back after the reboot: active again, not expired with the stale ones.
  t.applyAccounting(decode(acct(AcctStatus::InterimUpdate, "B", full())), 50);
  EXPECT_TRUE(t.expire(129).empty());
  ev = t.expire(130);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].session.acctSessionId, "A");
  EXPECT_EQ(ev[0].reason, "stale-grace");
  EXPECT_EQ(t.applyAccounting(decode(acct(AcctStatus::AccountingOff, "", {}, "bng2")), 131).size(),
            1u);
}

TEST(RadiusSessions, TtlExpiresSessionsWithoutAccounting) {
  SessionTable t({.ttlSec = 300, .staleGraceSec = 60});
  t.applyAccounting(decode(acct(AcctStatus::Start, "A", full())), 0);
  t.applyAccounting(decode(acct(AcctStatus::Start, "B", full())), 200);
  EXPECT_TRUE(t.expire(299).empty());
  const auto ev = t.expire(300);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, "ttl");
  EXPECT_EQ(t.sessions().size(), 1u);
  EXPECT_EQ(t.counters().expired, 1u);
}

Packet coa(std::vector<Attribute> attrs) {
  return {Code::CoaRequest, 0, {}, std::move(attrs)};
}

TEST(RadiusSessions, CoaChangesRates) {
  SessionTable t;
  t.applyAccounting(decode(acct(AcctStatus::Start, "S1", full("10M/50M"))), 0);
  const auto req = coa({str(attr::kAcctSessionId, "S1"),
                        vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("5M/25M"))});
  auto r = t.applyCoa(req, decode(req), 5);
  EXPECT_TRUE(r.ack);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].kind, EventKind::RatesChanged);
  EXPECT_EQ(r.events[0].session.rates->downloadBps, 25'000'000u);
  EXPECT_EQ(t.sessions().at("radius:bng1:S1").rates->uploadBps, 5'000'000u);
  r = t.applyCoa(req, decode(req), 6);  // same rates again: ACK, nothing to change
  EXPECT_TRUE(r.ack);
  EXPECT_TRUE(r.events.empty());
  // Selection by address also works.
  const auto byIp = coa({ipv4(attr::kFramedIpAddress, 100, 64, 0, 5),
                         vsa(kVendorWispr, kWisprBandwidthMaxDown, fromUint32(8'000'000)),
                         vsa(kVendorWispr, kWisprBandwidthMaxUp, fromUint32(1'000'000))});
  r = t.applyCoa(byIp, decode(byIp), 7);
  EXPECT_TRUE(r.ack);
  EXPECT_EQ(r.events.at(0).session.rates->downloadBps, 8'000'000u);
  EXPECT_EQ(t.counters().coaAck, 3u);
}

TEST(RadiusSessions, CoaNaksWithTheRightErrorCause) {
  SessionTable t;
  t.applyAccounting(decode(acct(AcctStatus::Start, "S1", full())), 0);
  t.applyAccounting(decode(acct(AcctStatus::Start, "S2", full())), 0);  // same User-Name "alice"
  const auto rate = vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("1M/1M"));
  const auto nakWith = [&](std::vector<Attribute> a) {
    const auto p = coa(std::move(a));
    const auto r = t.applyCoa(p, decode(p), 1);
    EXPECT_FALSE(r.ack);
    EXPECT_TRUE(r.events.empty());
    return r.errorCause;
  };
  EXPECT_EQ(nakWith({str(attr::kAcctSessionId, "nope"), rate}), ErrorCause::SessionContextNotFound);
  EXPECT_EQ(nakWith({str(attr::kUserName, "alice"), rate}),
            ErrorCause::MultipleSessionSelectionUnsupported);
  EXPECT_EQ(nakWith({str(attr::kAcctSessionId, "S1")}), ErrorCause::MissingAttribute);
  EXPECT_EQ(nakWith({str(attr::kAcctSessionId, "S1"),
                     vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("x"))}),
            ErrorCause::InvalidAttributeValue);
  EXPECT_EQ(nakWith({str(attr::kAcctSessionId, "S1"), rate, str(11, "filter-a")}),
            ErrorCause::UnsupportedAttribute);
  EXPECT_EQ(nakWith({str(attr::kAcctSessionId, "S1"), vsa(9, 1, fromString("cisco-avpair"))}),
            ErrorCause::UnsupportedAttribute);
  EXPECT_EQ(t.counters().coaNak, 6u);
  EXPECT_EQ(t.sessions().at("radius:bng1:S1").rates->downloadBps, 50'000'000u);
}

TEST(RadiusSessions, CoaMayNameTheNasByAnotherAttribute) {
  SessionTable t;
  t.applyAccounting(decode(acct(AcctStatus::Start, "S1",
                                {ipv4(attr::kNasIpAddress, 192, 0, 2, 1),
                                 ipv4(attr::kFramedIpAddress, 10, 0, 0, 1),
                                 vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("1M/2M"))})),
                    0);
  const auto rate = vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("3M/4M"));
  // Keyed by NAS-Identifier "bng1"; the CoA names the NAS by its address only.
  auto p = coa({str(attr::kAcctSessionId, "S1"), ipv4(attr::kNasIpAddress, 192, 0, 2, 1), rate});
  EXPECT_TRUE(t.applyCoa(p, decode(p), 1).ack);
  p = coa({str(attr::kAcctSessionId, "S1"), ipv4(attr::kNasIpAddress, 192, 0, 2, 99), rate});
  EXPECT_EQ(t.applyCoa(p, decode(p), 1).errorCause, ErrorCause::NasIdentificationMismatch);
  p = coa({str(attr::kAcctSessionId, "S1"), str(attr::kNasIdentifier, "bng2"), rate});
  EXPECT_EQ(t.applyCoa(p, decode(p), 1).errorCause, ErrorCause::NasIdentificationMismatch);
}

TEST(RadiusSessions, DisconnectRemovesOrNaks) {
  SessionTable t;
  t.applyAccounting(decode(acct(AcctStatus::Start, "S1", full())), 0);
  auto r = t.applyDisconnect(decode(coa({str(attr::kAcctSessionId, "S9")})));
  EXPECT_FALSE(r.ack);
  EXPECT_EQ(r.errorCause, ErrorCause::SessionContextNotFound);
  r = t.applyDisconnect(
      decode(coa({str(attr::kAcctSessionId, "S1"), str(attr::kNasIdentifier, "bng1")})));
  EXPECT_TRUE(r.ack);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].kind, EventKind::Removed);
  EXPECT_EQ(r.events[0].reason, "Disconnect-Request");
  EXPECT_TRUE(t.sessions().empty());
}

}  // namespace
}  // namespace sluice::radius
