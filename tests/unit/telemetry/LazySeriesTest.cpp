// Lazy per-circuit series (docs/telemetry.md, Storage): a circuit that never carried traffic
// holds no rings and reads as zeros at every second the collector ticked; the first traffic
// allocates its 1 s ring; ten idle minutes release it again; with a history database the
// circuits' minutes of finished hours come from SQLite (circuit_minutes), the open hour from
// memory, and the answers have the same shape either way.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "planner/Pipeline.h"
#include "telemetry/Collector.h"
#include "telemetry/History.h"
#include "telemetry/Series.h"

namespace sluice::telemetry {
namespace {

using Json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kT0{std::chrono::seconds(1'800'000'000)};  // an hour boundary (1.8e9 % 3600 == 0)

HostSample host(const char* text, uint64_t down, uint64_t up) {
  IpNet n = *IpNet::parse(text);
  uint8_t b[16];
  std::copy(n.addr.begin(), n.addr.end(), b);
  HostSample h;
  h.addr = Addr::fromBytes(b);
  h.bytes = {down, up};
  h.packets = {down / 1000, up / 1000};
  return h;
}

// The circuits' compact 1 s ring: rates within 0.35 % (12-bit log codes), one RTT per 10 s
// block (the newest step's), gaps missing, and the same reads as a full ring otherwise.
TEST(TelemetryCompactRing, PrecisionRttBlocksAndGaps) {
  Ring r(600, 1, true);
  for (double v : {1.0, 1e3, 123456.0, 2e6, 9.87e8, 1e10, 4e11}) {
    r.put(1000, Point{encodeLog16(v), encodeLog16(v / 3), 0});
    auto p = r.at(1000);
    ASSERT_TRUE(p);
    EXPECT_NEAR(decodeLog16(p->downBps), v, v * 0.0036 + 0.5) << v;
    EXPECT_NEAR(decodeLog16(p->upBps), v / 3, v / 3 * 0.0036 + 0.5) << v;
  }
  // Seconds 1000-1009 form one RTT block: every one reads the newest RTT written in it.
  for (int64_t t = 1000; t < 1010; ++t) {
    r.put(t, Point{encodeLog16(1e6), encodeLog16(1e5), encodeLog16(1000.0 * (t - 990))});
  }
  for (int64_t t = 1000; t < 1010; ++t) {
    ASSERT_TRUE(r.at(t)->rttUs);
    EXPECT_NEAR(decodeLog16(r.at(t)->rttUs), 19'000, 19'000 * 0.0004);
  }
  // A gap (1010-1014 missing) keeps the block before it; the next block has its own RTT.
  r.put(1015, Point{encodeLog16(1e6), 0, 0});
  EXPECT_FALSE(r.at(1012));
  EXPECT_NEAR(decodeLog16(r.at(1009)->rttUs), 19'000, 19'000 * 0.0004);
  EXPECT_EQ(r.at(1015)->rttUs, 0);  // no RTT in that second: null in the API
  auto s = r.last(600);
  EXPECT_EQ(s.size(), 11u);  // 1000-1009 and 1015
  EXPECT_EQ(s.back().t, 1015);
  EXPECT_FALSE(s.back().rttMs);
  EXPECT_NEAR(*s.front().rttMs, 19.0, 0.01);
}

class TelemetryLazySeriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-lazy-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    plan::PipelineOptions po;
    po.paths.config = std::string(SLUICE_TEST_DATA_DIR) + "/planner/small/lqos.conf";
    po.txQueues = 2;
    po.cpus = 2;
    auto result = plan::runPipeline(po);
    ASSERT_TRUE(result.ok());
    inputs_ = std::make_shared<model::Inputs>(std::move(result.inputs));
    plan_ = std::make_shared<plan::QueuePlan>(std::move(*result.plan));
    std::ofstream(dir_ / "stat") << "cpu  0 0 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Collector> make(Options o = {}) {
    o.procStatPath = (dir_ / "stat").string();
    auto c = Collector::create(o);
    EXPECT_TRUE(c) << c.error().message();
    (*c)->setPlan(inputs_, plan_);
    return std::move(*c);
  }

  // Ticks seconds [from, to) after kT0; c1 (100.64.0.1) moves `bytesPerSecond` down while
  // `active(s)`; every other circuit is idle.
  void run(Collector& c, int from, int to, uint64_t bytesPerSecond, auto active) {
    for (int s = from; s < to; ++s) {
      if (active(s)) {
        c1Bytes_ += bytesPerSecond;
      }
      Readings r;
      r.hosts = {host("100.64.0.1", c1Bytes_, 0)};
      auto rep = c.tick(std::move(r), kT0 + std::chrono::seconds(s));
      ASSERT_TRUE(rep);
      ASSERT_TRUE(rep->warnings.empty()) << rep->warnings.front();
    }
  }

  // Nodes that carried traffic in the last tick (their rings are allocated, the others hold
  // none).
  static size_t busyNodes(const Json& nodes) {
    size_t n = 0;
    for (const Json& node : nodes) {
      n += (node["down_bps"].get<double>() > 0 ? 1 : 0) + busyNodes(node["children"]);
    }
    return n;
  }
  static size_t nodeRingBytes() {
    return Ring(Series::kSecondSlots, 1).heapBytes() + Ring(Series::kMinuteSlots, 60).heapBytes();
  }

  std::filesystem::path dir_;
  std::shared_ptr<const model::Inputs> inputs_;
  std::shared_ptr<const plan::QueuePlan> plan_;
  uint64_t c1Bytes_ = 0;
};

TEST_F(TelemetryLazySeriesTest, NeverActiveCircuitHoldsNothingAndReadsAsZeros) {
  auto c = make();
  const SeriesMemory idle = c->seriesMemory();
  EXPECT_EQ(idle.circuits, 0u);  // no circuit state before a circuit has traffic
  EXPECT_EQ(idle.circuitsWithRings, 0u);
  run(*c, 0, 30, 250'000, [](int) { return true; });
  const SeriesMemory busy = c->seriesMemory();
  EXPECT_EQ(busy.circuits, 1u);  // c1 only: the idle circuits have no state at all
  EXPECT_EQ(busy.circuitsWithRings, 1u);
  // c1's 1 s ring (600 points of 6 bytes) is the only circuit memory; nodes and totals hold
  // theirs from the first tick with rates.
  Json c3 = *c->circuit("c3");
  ASSERT_EQ(c3["history"].size(), 29u);  // every tick after the priming one
  for (const Json& p : c3["history"]) {
    EXPECT_EQ(p["down_bps"], 0.0);
    EXPECT_EQ(p["up_bps"], 0.0);
    EXPECT_TRUE(p["rtt_p50_ms"].is_null());
  }
  EXPECT_EQ(c3["history"][0]["t"], 1'800'000'001);
  Json c1 = *c->circuit("c1");
  ASSERT_EQ(c1["history"].size(), 29u);
  EXPECT_NEAR(c1["history"][28]["down_bps"].get<double>(), 2e6, 2e6 * 0.0036);  // compact
  // Minutes: without a history database a never-active circuit has none in memory either.
  run(*c, 30, 61, 250'000, [](int) { return true; });
  Json c3m = *c->circuit("c3", 10);
  ASSERT_EQ(c3m["history"].size(), 1u);
  EXPECT_EQ(c3m["history"][0]["down_bps"], 0.0);
}

TEST_F(TelemetryLazySeriesTest, FirstTrafficAllocatesAndIdleReleases) {
  auto c = make();
  // Idle for 20 s, then 10 s of traffic (from second 20), then idle.
  run(*c, 0, 20, 250'000, [](int) { return false; });
  const SeriesMemory before = c->seriesMemory();
  EXPECT_EQ(before.circuitsWithRings, 0u);
  run(*c, 20, 30, 250'000, [](int) { return true; });
  const SeriesMemory during = c->seriesMemory();
  EXPECT_EQ(during.circuitsWithRings, 1u);
  // Its compact 1 s ring and its 48 h minute ring (no history database: in memory), and the
  // rings of the nodes above it (nodes allocate theirs with their first traffic too).
  const size_t nodes = busyNodes(c->tree()["nodes"]);
  EXPECT_GE(nodes, 1u);
  EXPECT_LT(nodes, plan_->nodes.size());
  EXPECT_EQ(before.bytes, Ring(Series::kSecondSlots, 1).heapBytes() +
                              Ring(Series::kMinuteSlots, 60).heapBytes());  // the totals only
  EXPECT_EQ(during.bytes - before.bytes,
            Ring(Series::kSecondSlots, 1, true).heapBytes() +
                Ring(Series::kMinuteSlots, 60).heapBytes() + nodes * nodeRingBytes());
  EXPECT_LT(Ring(Series::kSecondSlots, 1, true).heapBytes(), 2100u);  // vs 3.6 KB full
  Json c1 = *c->circuit("c1");
  ASSERT_EQ(c1["history"].size(), 29u);
  EXPECT_EQ(c1["history"][18]["down_bps"], 0.0);  // second 19: idle
  EXPECT_NEAR(c1["history"][19]["down_bps"].get<double>(), 2e6, 2e6 * 0.0036);  // second 20
  // Ten idle minutes later the ring is released; the seconds still read (as zeros).
  run(*c, 30, 30 + 600, 0, [](int) { return false; });
  EXPECT_EQ(c->seriesMemory().circuitsWithRings, 0u);
  c1 = *c->circuit("c1");
  ASSERT_EQ(c1["history"].size(), 600u);
  for (const Json& p : c1["history"]) {
    EXPECT_EQ(p["down_bps"], 0.0);
  }
  // The minute ring stays (48 h): minute 0 averaged over all its 59 ticks.
  Json c1m = *c->circuit("c1", 60);
  ASSERT_GE(c1m["history"].size(), 10u);
  EXPECT_EQ(c1m["history"][0]["t"], 1'800'000'000);
  EXPECT_NEAR(c1m["history"][0]["down_bps"].get<double>(), 2e6 * 10 / 59, 2e6 * 10 / 59 * 0.001);
  EXPECT_EQ(c1m["history"][1]["down_bps"], 0.0);
  // Traffic again allocates again.
  run(*c, 630, 632, 250'000, [](int) { return true; });
  EXPECT_EQ(c->seriesMemory().circuitsWithRings, 1u);
}

// With a history database: no 48 h ring per circuit; finished hours go to SQLite and are read
// back by circuit(id, minutes) together with the open hour from memory, also after a restart.
TEST_F(TelemetryLazySeriesTest, CircuitMinutesOfFinishedHoursComeFromSqlite) {
  Options o;
  o.historyDbPath = (dir_ / "history.sqlite").string();
  // c1 busy at 2 Mbit/s in minutes 0-4 and 58-61 of the run, idle otherwise.
  auto busy = [](int s) { return s < 300 || (s >= 58 * 60 && s < 62 * 60); };
  {
    auto c = make(o);
    run(*c, 0, 3600, 250'000, busy);
    SeriesMemory m = c->seriesMemory();
    EXPECT_EQ(m.circuitBlocks, 1u);  // c1's open hour
    EXPECT_EQ(m.circuitsWithRings, 1u);
    // Memory: the totals and the nodes above c1 hold both rings (the other nodes never carried
    // traffic: none); c1 only its 1 s ring and the hour block (no 48 h ring); node names longer
    // than 15 characters add their heap.
    const size_t fixed = (1 + busyNodes(c->tree()["nodes"])) * nodeRingBytes();
    const size_t c1 = Ring(Series::kSecondSlots, 1, true).heapBytes() + sizeof(MinuteBlock);
    EXPECT_GE(m.bytes, fixed + c1);
    EXPECT_LT(m.bytes, fixed + c1 + 64 * (1 + plan_->nodes.size()));
    run(*c, 3600, 3720, 250'000, busy);
    EXPECT_EQ(c->seriesMemory().circuitBlocks, 1u);  // the new hour's (minutes 60, 61)
    Json h = *c->circuit("c1", 120);
    ASSERT_EQ(h["history"].size(), 61u);  // minutes 0 .. 60 closed (61 is open)
    // The ticks start at second 0, rates at 1: minute 0 has 59 ticks of 2 Mbit/s.
    EXPECT_NEAR(h["history"][1]["down_bps"].get<double>(), 2e6, 2e6 * 0.001);
    EXPECT_EQ(h["history"][10]["down_bps"], 0.0);  // idle minute inside the stored hour
    EXPECT_NEAR(h["history"][58]["down_bps"].get<double>(), 2e6, 2e6 * 0.001);
    EXPECT_NEAR(h["history"][60]["down_bps"].get<double>(), 2e6, 2e6 * 0.001);  // open hour
    EXPECT_EQ(h["history"][60]["t"], 1'800'003'600);
    Json idle = *c->circuit("c3", 120);
    ASSERT_EQ(idle["history"].size(), 61u);
    EXPECT_EQ(idle["history"][1]["down_bps"], 0.0);
    ASSERT_TRUE(c->flush());
  }
  // The database holds the finished hour and the flushed open one.
  auto hist = History::open(o.historyDbPath, o.historyMaxBytes);
  ASSERT_TRUE(hist);
  size_t blocks = 0, minutes = 0;
  ASSERT_TRUE((*hist)->readMinuteBlocks("c1", 1'800'000'000, 1'800'010'000,
                                        [&](int64_t, std::string_view blob) {
                                          ++blocks;
                                          minutes += blob.size() / 6;
                                        }));
  EXPECT_EQ(blocks, 2u);
  EXPECT_EQ(minutes, 60u - 0u + 2u);  // 0..59, then 60..61 (61 flushed partial)
  // A restart serves the stored minutes at 1 min; the totals' minute ring comes back from
  // `points` at 5 min, so idle minutes read as 0 at those marks only (c1's minutes 0-14 are
  // stored: it was released after ten idle minutes).
  auto c = make(o);
  Json h = *c->circuit("c1", 120);
  std::map<int64_t, double> down;
  for (const Json& p : h["history"]) {
    down[p["t"].get<int64_t>() - 1'800'000'000] = p["down_bps"].get<double>();
  }
  EXPECT_EQ(down.size(), 13u + 12u + 2u);  // 5-minute marks 0..3600, c1's other minutes
  EXPECT_NEAR(down.at(60), 2e6, 2e6 * 0.001);
  EXPECT_NEAR(down.at(58 * 60), 2e6, 2e6 * 0.001);
  EXPECT_NEAR(down.at(3600), 2e6, 2e6 * 0.001);
  EXPECT_EQ(down.at(14 * 60), 0.0);  // stored idle minute
  EXPECT_EQ(down.at(30 * 60), 0.0);  // idle, from the totals' 5-minute mark
  EXPECT_FALSE(down.count(31 * 60));
}

}  // namespace
}  // namespace sluice::telemetry
