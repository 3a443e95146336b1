#include <gtest/gtest.h>

#include "TestPackets.h"
#include "radius/Attributes.h"

namespace sluice::radius {
namespace {

using namespace test;

TEST(RadiusCodec, RoundTripsHeaderAndAttributes) {
  const auto bytes =
      signedRequest(Code::AccountingRequest, 7,
                    {str(attr::kUserName, "alice"), u32(attr::kAcctStatusType, 1)}, "s3cret");
  ASSERT_EQ(bytes.size(), 20u + 7u + 6u);
  EXPECT_EQ(bytes[0], 4);
  EXPECT_EQ(bytes[1], 7);
  EXPECT_EQ((bytes[2] << 8) | bytes[3], 33);
  const auto p = parse(bytes).value();
  EXPECT_EQ(p.code, Code::AccountingRequest);
  ASSERT_EQ(p.attributes.size(), 2u);
  EXPECT_EQ(std::string(p.attributes[0].value.begin(), p.attributes[0].value.end()), "alice");
  EXPECT_EQ(asUint32(p.attributes[1].value), 1u);
}

std::string hex(std::span<const uint8_t> b) {
  std::string out;
  for (auto c : b) {
    out += "0123456789abcdef"[c >> 4];
    out += "0123456789abcdef"[c & 15];
  }
  return out;
}

// RFC 2866 §3 worked by hand: the authenticator is MD5 over the packet with 16 zero octets in the
// authenticator field, followed by the secret. Known vector: an empty Accounting-Request (code 4,
// id 0, length 20) with secret "x" -> md5(04 00 00 14 00*16 'x'), computed with `openssl md5`.
TEST(RadiusCodec, RequestAuthenticatorMatchesAnIndependentMd5) {
  const auto bytes = signedRequest(Code::AccountingRequest, 0, {}, "x");
  EXPECT_EQ(hex(std::span(bytes).subspan(4, 16)), "73ab9fcc9aabaf6bb0c93eca7c975bbc");
  EXPECT_TRUE(verifyRequestAuthenticator(bytes, "x"));
  EXPECT_FALSE(verifyRequestAuthenticator(bytes, "y"));
}

TEST(RadiusCodec, WrongSecretOrTamperingFailsVerification) {
  auto bytes = signedRequest(Code::CoaRequest, 9, {str(attr::kAcctSessionId, "abc")}, "right");
  EXPECT_TRUE(verifyRequestAuthenticator(bytes, "right"));
  EXPECT_FALSE(verifyRequestAuthenticator(bytes, "wrong"));
  bytes.back() ^= 1;
  EXPECT_FALSE(verifyRequestAuthenticator(bytes, "right"));
}

TEST(RadiusCodec, MessageAuthenticatorIsCheckedWhenPresent) {
  const auto with =
      signedRequest(Code::DisconnectRequest, 1,
                    {str(attr::kAcctSessionId, "abc"), {attr::kMessageAuthenticator, {}}}, "k");
  EXPECT_EQ(verifyMessageAuthenticator(with, "k"), std::optional<bool>(true));
  EXPECT_TRUE(verifyRequestAuthenticator(with, "k"));
  EXPECT_EQ(verifyMessageAuthenticator(with, "other"), std::optional<bool>(false));
  const auto without =
      signedRequest(Code::DisconnectRequest, 1, {str(attr::kAcctSessionId, "abc")}, "k");
  EXPECT_EQ(verifyMessageAuthenticator(without, "k"), std::nullopt);
}

// Response Authenticator = MD5(05 03 00 14 | request authenticator (16 x 0x11) | "k"), the
// expected value from `openssl md5` over those bytes.
TEST(RadiusCodec, ResponseAuthenticatorUsesTheRequestAuthenticator) {
  Authenticator reqAuth;
  reqAuth.fill(0x11);
  const auto resp = encodeResponse({Code::AccountingResponse, 3, {}, {}}, reqAuth, "k").value();
  ASSERT_EQ(resp.size(), 20u);
  EXPECT_EQ(hex(std::span(resp).first(4)), "05030014");
  EXPECT_EQ(hex(std::span(resp).subspan(4, 16)), "b12df566ee7e0db6d16daa877e2dd7ba");
  const auto otherSecret =
      encodeResponse({Code::AccountingResponse, 3, {}, {}}, reqAuth, "j").value();
  EXPECT_NE(otherSecret, resp);
}

TEST(RadiusCodec, RejectsMalformedPackets) {
  EXPECT_FALSE(parse(std::vector<uint8_t>(19, 0)).has_value());
  auto bytes = signedRequest(Code::AccountingRequest, 1, {str(attr::kUserName, "bob")}, "k");
  auto shortLen = bytes;
  shortLen[3] = 19;
  EXPECT_FALSE(parse(shortLen).has_value());
  auto longLen = bytes;
  longLen[3] = static_cast<uint8_t>(bytes.size() + 1);
  EXPECT_FALSE(parse(longLen).has_value());
  auto badAttr = bytes;
  badAttr[21] = 1;  // attribute length below 2
  EXPECT_FALSE(parse(badAttr).has_value());
  auto padded = bytes;
  padded.push_back(0xAA);  // octets past Length are padding (RFC 2865 §3)
  EXPECT_EQ(parse(padded).value().attributes.size(), 1u);
  EXPECT_FALSE(
      encode({Code::AccountingRequest, 0, {}, {{1, std::vector<uint8_t>(254, 'a')}}}).has_value());
}

TEST(RadiusAttributes, DecodesIdentityAddressesAndStatus) {
  Packet p{
      Code::AccountingRequest,
      0,
      {},
      {str(attr::kUserName, "alice"),
       ipv4(attr::kNasIpAddress, 192, 0, 2, 1),
       str(attr::kNasIdentifier, "bng1"),
       ipv4(attr::kFramedIpAddress, 100, 64, 0, 5),
       str(attr::kFramedRoute, "10.9.0.0/24 0.0.0.0 1"),
       {attr::kFramedIpv6Prefix, {0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0}},
       {attr::kDelegatedIpv6Prefix, {0, 56, 0x20, 0x01, 0x0d, 0xb8, 0xff, 0x00, 0, 0}},
       {attr::kFramedIpv6Address, {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}},
       str(attr::kAcctSessionId, "S1"),
       u32(attr::kAcctStatusType, 3),
       str(attr::kCallingStationId, "AA-BB-CC-00-11-22"),
       str(attr::kClass, "gold"),
       u32(attr::kEventTimestamp, 1'800'000'000),
       u32(attr::kErrorCause, 503)}};
  const auto info = decode(p);
  EXPECT_TRUE(info.problems.empty());
  EXPECT_EQ(info.userName, "alice");
  EXPECT_EQ(info.nasIdentity(), "bng1");
  EXPECT_EQ(info.nasIpAddress->toString(), "192.0.2.1");
  ASSERT_EQ(info.addresses.size(), 5u);
  EXPECT_EQ(info.addresses[0].toString(), "100.64.0.5");
  EXPECT_EQ(info.addresses[1].toString(), "10.9.0.0/24");
  EXPECT_EQ(info.addresses[2].toString(), "2001:db8:1::/64");
  EXPECT_EQ(info.addresses[3].toString(), "2001:db8:ff00::/56");
  EXPECT_EQ(info.addresses[4].toString(), "2001:db8:1::9");
  EXPECT_EQ(info.acctStatusType, 3u);
  EXPECT_EQ(info.callingStationId, "AA-BB-CC-00-11-22");
  ASSERT_EQ(info.classes.size(), 1u);
  EXPECT_EQ(info.eventTimestamp, 1'800'000'000u);
  EXPECT_EQ(info.errorCause, 503u);
}

TEST(RadiusAttributes, NasIdentityFallsBackToAddresses) {
  Packet p{Code::AccountingRequest, 0, {}, {ipv4(attr::kNasIpAddress, 192, 0, 2, 7)}};
  EXPECT_EQ(decode(p).nasIdentity(), "192.0.2.7");
  EXPECT_EQ(decode(Packet{}).nasIdentity(), std::nullopt);
}

TEST(RadiusAttributes, BadValuesAreReportedNotGuessed) {
  Packet p{Code::AccountingRequest,
           0,
           {},
           {{attr::kFramedIpAddress, {1, 2, 3}}, str(attr::kFramedRoute, "nonsense")}};
  const auto info = decode(p);
  EXPECT_TRUE(info.addresses.empty());
  ASSERT_EQ(info.problems.size(), 2u);
  EXPECT_NE(info.problems[0].find("Framed-IP-Address"), std::string::npos);
}

TEST(RadiusAttributes, MikrotikRateLimitForms) {
  const auto r = parseMikrotikRateLimit("10M/20M").value();
  EXPECT_EQ(r.uploadBps, 10'000'000u);
  EXPECT_EQ(r.downloadBps, 20'000'000u);
  EXPECT_FALSE(r.downloadBurstBps);
  const auto b = parseMikrotikRateLimit("512k/2M 1M/4M 384k/1500k 8/8 5 256k/1M").value();
  EXPECT_EQ(b.uploadBps, 512'000u);
  EXPECT_EQ(b.downloadBps, 2'000'000u);
  EXPECT_EQ(b.uploadBurstBps, 1'000'000u);
  EXPECT_EQ(b.downloadBurstBps, 4'000'000u);
  const auto swapped = parseMikrotikRateLimit("10M/20M", {.mikrotikRxIsDownload = true}).value();
  EXPECT_EQ(swapped.downloadBps, 10'000'000u);
  EXPECT_EQ(parseMikrotikRate("1G").value(), 1'000'000'000u);
  EXPECT_EQ(parseMikrotikRate("1500000").value(), 1'500'000u);
  EXPECT_FALSE(parseMikrotikRateLimit("10M").has_value());
  EXPECT_FALSE(parseMikrotikRateLimit("10X/5M").has_value());
  EXPECT_FALSE(parseMikrotikRateLimit("0/5M").has_value());
  EXPECT_FALSE(parseMikrotikRateLimit("").has_value());
}

TEST(RadiusAttributes, RatesFromVendorAttributes) {
  Packet mt{Code::AccountingRequest,
            0,
            {},
            {vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("5M/50M"))}};
  auto info = decode(mt);
  ASSERT_TRUE(info.rates);
  EXPECT_EQ(info.rates->downloadBps, 50'000'000u);
  EXPECT_EQ(info.rates->source, "MikroTik-Rate-Limit");
  Packet wispr{Code::AccountingRequest,
               0,
               {},
               {vsa(kVendorWispr, kWisprBandwidthMaxDown, fromUint32(30'000'000)),
                vsa(kVendorWispr, kWisprBandwidthMaxUp, fromUint32(3'000'000))}};
  info = decode(wispr);
  ASSERT_TRUE(info.rates);
  EXPECT_EQ(info.rates->downloadBps, 30'000'000u);
  EXPECT_EQ(info.rates->uploadBps, 3'000'000u);
  Packet half{Code::AccountingRequest,
              0,
              {},
              {vsa(kVendorWispr, kWisprBandwidthMaxDown, fromUint32(30'000'000))}};
  info = decode(half);
  EXPECT_FALSE(info.rates);
  EXPECT_EQ(info.problems.size(), 1u);
  Packet badMt{Code::AccountingRequest,
               0,
               {},
               {vsa(kVendorMikrotik, kMikrotikRateLimit, fromString("fast"))}};
  info = decode(badMt);
  EXPECT_FALSE(info.rates);
  EXPECT_NE(info.problems.at(0).find("fast"), std::string::npos);
}

}  // namespace
}  // namespace sluice::radius
