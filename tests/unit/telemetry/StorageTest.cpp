// Telemetry building blocks without a kernel: log16 encoding, rings, percentiles, the address
// index, /proc/stat parsing, Prometheus text helpers, and the SQLite history.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "planner/AddressIndex.h"
#include "telemetry/CpuStat.h"
#include "telemetry/History.h"
#include "telemetry/MapRead.h"
#include "telemetry/Prometheus.h"
#include "telemetry/Series.h"

namespace sluice::telemetry {
namespace {

Addr addr(const char* text) {
  IpNet n = *IpNet::parse(text);
  uint8_t b[16];
  std::copy(n.addr.begin(), n.addr.end(), b);
  return Addr::fromBytes(b);
}

TEST(TelemetryLog16, RoundTripsWithinTheStatedError) {
  EXPECT_EQ(encodeLog16(0), 0);
  EXPECT_EQ(decodeLog16(0), 0);
  EXPECT_EQ(decodeLog16(kMissing), 0);
  for (double v : {1.0, 7.0, 999.0, 1e6, 9.41e8, 4e10, 1e11}) {
    double back = decodeLog16(encodeLog16(v));
    EXPECT_NEAR(back, v, v * 0.00035 + 0.5) << v;
  }
  EXPECT_LT(encodeLog16(1e30), kMissing);  // clamps, never collides with "missing"
}

TEST(TelemetryRing, KeepsTheLastSlotsAndMarksGaps) {
  Ring r(10, 1);
  for (int t = 100; t < 105; ++t) {
    r.put(t, Point{encodeLog16(t), encodeLog16(1), 0});
  }
  auto s = r.last(10);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s.front().t, 100);
  EXPECT_EQ(s.back().t, 104);
  EXPECT_NEAR(s.back().downBps, 104, 0.1);
  EXPECT_FALSE(s.back().rttMs.has_value());
  // A 3 s gap: the skipped seconds are missing, not last lap's values.
  r.put(108, Point{encodeLog16(8), 0, encodeLog16(2500)});
  s = r.last(10);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s.back().t, 108);
  ASSERT_TRUE(s.back().rttMs);
  EXPECT_NEAR(*s.back().rttMs, 2.5, 0.01);
  // A lap later the old points are gone.
  r.put(130, Point{1, 1, 0});
  s = r.last(10);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].t, 130);
  EXPECT_EQ(r.newest(), 130);
}

TEST(TelemetryRing, MinuteStepsIndexByMinute) {
  Ring r(4, 60);
  r.put(600, Point{encodeLog16(1), 0, 0});
  r.put(660, Point{encodeLog16(2), 0, 0});
  r.put(700, Point{encodeLog16(3), 0, 0});  // same minute as 660: replaces it
  auto s = r.last(4);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].t, 660);
  EXPECT_NEAR(s[1].downBps, 3, 0.01);
}

TEST(TelemetrySeries, ClosesMinutesWithTheirAverage) {
  Series s;
  for (int t = 0; t < 60; ++t) {
    s.record(6000 + t, t < 30 ? 1000 : 3000, 10, t % 2 ? std::optional<double>(4000) : std::nullopt);
  }
  EXPECT_TRUE(s.minutes->last(10).empty());  // the minute is still open
  s.record(6060, 0, 0, std::nullopt);
  auto m = s.minutes->last(10);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].t, 6000);
  EXPECT_NEAR(m[0].downBps, 2000, 1);
  ASSERT_TRUE(m[0].rttMs);
  EXPECT_NEAR(*m[0].rttMs, 4.0, 0.01);
  EXPECT_EQ(s.seconds->last(600).size(), 61u);
}

TEST(TelemetryPercentile, NearestRank) {
  std::vector<double> v{50, 10, 40, 20, 30};
  EXPECT_EQ(*percentile(v, 50), 30);
  EXPECT_EQ(*percentile(v, 90), 50);
  EXPECT_EQ(*percentile(v, 20), 10);
  std::vector<double> one{7};
  EXPECT_EQ(*percentile(one, 90), 7);
  std::vector<double> none;
  EXPECT_FALSE(percentile(none, 50));
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) {
    hundred.push_back(i);
  }
  EXPECT_EQ(*percentile(hundred, 90), 90);
}

TEST(TelemetryRttBuckets, UpperBoundsInclusive) {
  EXPECT_EQ(rttBucket(0.3), 0u);
  EXPECT_EQ(rttBucket(5.0), 0u);
  EXPECT_EQ(rttBucket(5.1), 1u);
  EXPECT_EQ(kRttBucketsMs[rttBucket(99)], 100);
  EXPECT_EQ(rttBucket(1e6), kRttBucketsMs.size() - 1);
}

/// The circuit of `text` by the index's word form (as telemetry keeps hosts), checked against
/// its IpNet form.
int32_t circuitAt(const plan::AddressIndex& idx, const char* text) {
  const Addr a = addr(text);
  const int32_t byWords = idx.find(a.hi, a.lo);
  EXPECT_EQ(byWords, idx.find(*IpNet::parse(text))) << text;
  return byWords;
}

TEST(PlanAddressIndex, LongestPrefixWins) {
  std::vector<IpNet> prefixes{*IpNet::parse("100.64.0.0/24"), *IpNet::parse("100.64.0.8/29"),
                              *IpNet::parse("100.64.0.9"), *IpNet::parse("2001:db8:1::/64"),
                              *IpNet::parse("2001:db8::/32")};
  std::vector<plan::AddressMapping> mappings;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    mappings.push_back(plan::AddressMapping{.prefix = prefixes[i], .circuit = int32_t(i + 1)});
  }
  // A later duplicate and an address without a circuit (the default class) are not indexed.
  mappings.push_back(plan::AddressMapping{.prefix = prefixes[2], .circuit = 9});
  mappings.push_back(plan::AddressMapping{.prefix = *IpNet::parse("100.64.1.1"), .circuit = -1});
  plan::AddressIndex idx;
  idx.build(mappings);
  EXPECT_EQ(idx.size(), 5u);
  EXPECT_EQ(circuitAt(idx, "100.64.0.9"), 3);
  EXPECT_EQ(circuitAt(idx, "100.64.0.10"), 2);
  EXPECT_EQ(circuitAt(idx, "100.64.0.200"), 1);
  EXPECT_EQ(circuitAt(idx, "100.64.1.1"), -1);
  EXPECT_EQ(circuitAt(idx, "2001:db8:1::42"), 4);
  EXPECT_EQ(circuitAt(idx, "2001:db8:2::42"), 5);
  EXPECT_EQ(circuitAt(idx, "2001:db9::1"), -1);
  EXPECT_EQ(addrToString(addr("100.64.0.9")), "100.64.0.9");
  EXPECT_EQ(addrToString(addr("2001:db8::1")), "2001:db8::1");
}

TEST(TelemetryCpuStat, BusyShareBetweenReadings) {
  auto a = parseCpuTimes(
      "cpu  300 0 300 1600 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n"
      "cpu1 200 0 200 800 0 0 0 0 0 0\nintr 1 2 3\n");
  auto b = parseCpuTimes(
      "cpu0 150 0 150 900 0 0 0 0 0 0\ncpu1 200 0 200 1000 0 0 0 0 0 0\n");
  ASSERT_EQ(a.cpus.size(), 2u);
  EXPECT_NEAR(*cpuBusyPct(a, b, 0), 50.0, 1e-9);
  EXPECT_NEAR(*cpuBusyPct(a, b, 1), 0.0, 1e-9);
  EXPECT_FALSE(cpuBusyPct(a, b, 2));
  EXPECT_FALSE(cpuBusyPct(b, a, 0));  // time went backwards
  EXPECT_FALSE(readCpuTimes("/nonexistent/stat"));
  EXPECT_TRUE(readCpuTimes("/proc/stat"));
}

TEST(TelemetryCpuStat, StealShareIsPartOfBusy) {
  auto a = parseCpuTimes("cpu0 100 0 100 800 0 0 0 0 0 0\n");
  auto b = parseCpuTimes("cpu0 100 0 100 900 0 0 0 100 0 0\n");
  EXPECT_NEAR(*cpuStealPct(a, b, 0), 50.0, 1e-9);
  EXPECT_NEAR(*cpuBusyPct(a, b, 0), 50.0, 1e-9);
  EXPECT_FALSE(cpuStealPct(a, b, 1));
}

TEST(TelemetryPrometheusText, EscapesAndFormats) {
  EXPECT_EQ(escapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(formatValue(1.5), "1.5");
  EXPECT_EQ(formatValue(4e6), "4000000");
  EXPECT_EQ(formatValue(std::nan("")), "NaN");
  EXPECT_EQ(formatValue(INFINITY), "+Inf");
  PromWriter w;
  w.family("x_total", "counter", "help text");
  w.sample("x_total", {{"node", "A\"B"}, {"direction", "down"}}, 3);
  w.sample("x_total", {}, 0.25);
  EXPECT_EQ(w.take(),
            "# HELP x_total help text\n# TYPE x_total counter\n"
            "x_total{node=\"A\\\"B\",direction=\"down\"} 3\nx_total 0.25\n");
}

class TelemetryHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-history-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "history.sqlite").string(); }
  std::filesystem::path dir_;
};

TEST_F(TelemetryHistoryTest, RoundTripAcrossReopen) {
  {
    auto h = History::open(path(), 1 << 30);
    ASSERT_TRUE(h) << h.error().message();
    std::vector<HistoryRow> rows{{"total", "", 600, 1e6, 2e5, 12.5},
                                 {"node", "AP \"1\"", 600, 5e5, 1e5, std::nullopt},
                                 {"circuit", "c1", 600, 1.5, 2.5, 3.5},
                                 {"circuit", "c1", 900, 4, 5, std::nullopt}};
    ASSERT_TRUE((*h)->append(rows));
    // Replacing a point keeps one row per (series, t).
    ASSERT_TRUE((*h)->append({{"circuit", "c1", 900, 6, 7, 8.0}}));
    EXPECT_EQ(*(*h)->rowCount(), 4u);
  }
  auto h = History::open(path(), 1 << 30);
  ASSERT_TRUE(h) << h.error().message();
  std::vector<HistoryRow> got;
  ASSERT_TRUE((*h)->load(0, [&](const HistoryRow& r) { got.push_back(r); }));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got.back().kind, "circuit");
  EXPECT_EQ(got.back().name, "c1");
  EXPECT_EQ(got.back().t, 900);
  EXPECT_EQ(got.back().downBps, 6);
  ASSERT_TRUE(got.back().rttMs);
  EXPECT_EQ(*got.back().rttMs, 8.0);
  bool sawNode = false;
  for (const auto& r : got) {
    if (r.kind == "node") {
      sawNode = true;
      EXPECT_EQ(r.name, "AP \"1\"");
      EXPECT_FALSE(r.rttMs);
    }
  }
  EXPECT_TRUE(sawNode);
  std::vector<HistoryRow> recent;
  ASSERT_TRUE((*h)->load(700, [&](const HistoryRow& r) { recent.push_back(r); }));
  EXPECT_EQ(recent.size(), 1u);
}

TEST_F(TelemetryHistoryTest, StaysWithinItsBoundDroppingTheOldest) {
  const uint64_t bound = 256 * 1024;
  auto h = History::open(path(), bound);
  ASSERT_TRUE(h);
  std::mt19937 rng(1);
  for (int interval = 0; interval < 60; ++interval) {
    std::vector<HistoryRow> rows;
    for (int c = 0; c < 200; ++c) {
      rows.push_back({"circuit", "circuit-" + std::to_string(c), interval * 300,
                      static_cast<double>(rng()), static_cast<double>(rng()), 1.0 * c});
    }
    ASSERT_TRUE((*h)->append(rows));
    EXPECT_LE(*(*h)->usedBytes(), bound);
  }
  // 12,000 rows do not fit in 256 KiB: the oldest intervals went, the newest stayed.
  int64_t oldest = INT64_MAX, newest = 0;
  ASSERT_TRUE((*h)->load(0, [&](const HistoryRow& r) {
    oldest = std::min(oldest, r.t);
    newest = std::max(newest, r.t);
  }));
  EXPECT_GT(oldest, 0);
  EXPECT_EQ(newest, 59 * 300);
  EXPECT_LT(*(*h)->rowCount(), 12000u);
}

TEST_F(TelemetryHistoryTest, RefusesAForeignDatabase) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE users(name TEXT)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto h = History::open(path(), 1 << 20);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().errnum, EINVAL);
  EXPECT_NE(h.error().message().find(path()), std::string::npos);
}

TEST_F(TelemetryHistoryTest, UnopenablePathNamesIt) {
  auto h = History::open((dir_ / "missing-dir" / "h.sqlite").string(), 1 << 20);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message().find("missing-dir"), std::string::npos);
}

}  // namespace
}  // namespace sluice::telemetry
