// Sessions saved across a restart (radius/SessionStore.h): round trip, the clock conversion, and
// clear errors for a broken file; the restored sessions go back into the table and expire there.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "radius/SessionStore.h"

namespace sluice::radius {
namespace {

namespace fs = std::filesystem;

Session sample() {
  Session s;
  s.nas = "bng1";
  s.nasIdentifier = "bng1";
  s.nasIpAddress = IpNet::parse("192.0.2.1");
  s.acctSessionId = "S1";
  s.circuitId = "radius:bng1:S1";
  s.userName = "alice";
  s.callingStationId = "aa:bb:cc:00:00:01";
  s.nasPortId = "ether1:100";
  s.addresses = {*IpNet::parse("100.64.0.5/32"), *IpNet::parse("2001:db8:5::/56")};
  s.rates = Rates{20'000'000, 5'000'000, 40'000'000, std::nullopt, "MikroTik-Rate-Limit"};
  s.startedSec = 1000;
  s.lastUpdateSec = 1500;
  return s;
}

TEST(RadiusSessionStore, RoundTripAcrossClocks) {
  const fs::path dir = fs::temp_directory_path() / ("radius-store-" + std::to_string(getpid()));
  const std::string path = (dir / "radius" / "sessions.json").string();
  // Saved at mono 2000 = unix 1'765'000'000; the restart's monotonic clock reads 50 at unix
  // 1'765'000'100 (a reboot): the session was last updated 500 s before the save, 600 s ago.
  ASSERT_TRUE(saveSessions(path, {sample()}, {2000, 1'765'000'000}));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::others_read, fs::perms::none);
  auto loaded = loadSessions(path, {50, 1'765'000'100});
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  const Session& s = loaded->front();
  EXPECT_EQ(s.circuitId, "radius:bng1:S1");
  EXPECT_EQ(s.lastUpdateSec, 50 - 600);
  EXPECT_EQ(s.startedSec, 50 - 1100);
  EXPECT_EQ(s.addresses, sample().addresses);
  EXPECT_EQ(s.rates, sample().rates);
  EXPECT_EQ(s.nasIpAddress, sample().nasIpAddress);
  EXPECT_EQ(s.nasPortId, "ether1:100");
  EXPECT_EQ(s.pending, Pending::None);

  // Back in a table with a 900 s TTL: 300 s left, then it expires.
  SessionTable table({.ttlSec = 900, .staleGraceSec = 120});
  table.restore(s);
  EXPECT_TRUE(table.expire(50 + 299).empty());
  const auto gone = table.expire(50 + 300);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].reason, "ttl");
  fs::remove_all(dir);
}

TEST(RadiusSessionStore, RestoreKeepsANewerSession) {
  SessionTable table;
  Session newer = sample();
  newer.rates->downloadBps = 1'000'000;
  table.restore(newer);
  table.restore(sample());
  EXPECT_EQ(table.sessions().at("radius:bng1:S1").rates->downloadBps, 1'000'000u);
}

TEST(RadiusSessionStore, AbsentFileIsEmptyBrokenFileIsAnError) {
  auto none = loadSessions("/nonexistent/radius/sessions.json", {0, 0});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  const fs::path p = fs::temp_directory_path() / ("radius-bad-" + std::to_string(getpid()));
  std::ofstream(p) << R"({"version": 1, "sessions": [{"circuit_id": "radius:a:b", "nas": "a",
      "acct_session_id": "b", "addresses": ["100.64.0.300/32"]}]})";
  auto bad = loadSessions(p.string(), {0, 0});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("entry 1 (radius:a:b)"), std::string::npos)
      << bad.error().message();
  EXPECT_NE(bad.error().message().find("100.64.0.300"), std::string::npos);
  std::ofstream(p) << "{";
  bad = loadSessions(p.string(), {0, 0});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find(p.string()), std::string::npos);
  fs::remove(p);
}

}  // namespace
}  // namespace sluice::radius
