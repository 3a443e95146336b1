// Collector rollups on readings fed directly (no kernel): host deltas -> circuits -> nodes ->
// totals, RTT percentiles, retransmit %, flows, unknown addresses, tc statistics, CPU load, the
// JSON of the API contract, Prometheus text, and history across a restart.
//
// The plan is tests/data/planner/small (Site_A > AP_A1, Site_A > Tower_V (virtual) > AP_V1,
// Site_B; c1 100.64.0.1 + 2001:db8:1::/64 and c2 100.64.0.2 + 100.64.0.8/29 under AP_A1).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <set>

#include "planner/Pipeline.h"
#include "telemetry/Collector.h"

namespace sluice::telemetry {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kT0{std::chrono::seconds(1'800'000'000)};  // a minute boundary

HostSample host(const char* text, uint64_t down, uint64_t up, uint64_t tcpPackets = 0) {
  IpNet n = *IpNet::parse(text);
  uint8_t b[16];
  std::copy(n.addr.begin(), n.addr.end(), b);
  HostSample h;
  h.addr = Addr::fromBytes(b);
  h.bytes = {down, up};
  h.packets = {down / 1000, up / 1000};
  h.protoPackets[SLUICE_PROTO_TCP] = {tcpPackets, 0};
  h.protoPackets[SLUICE_PROTO_UDP] = {down / 1000, up / 1000};
  return h;
}

sluice_flow_key flowKey(const char* local, const char* remote, uint16_t lport, uint16_t rport) {
  sluice_flow_key k{};
  IpNet l = *IpNet::parse(local), r = *IpNet::parse(remote);
  std::memcpy(k.local, l.addr.data(), 16);
  std::memcpy(k.remote, r.addr.data(), 16);
  k.local_port = lport;
  k.remote_port = rport;
  k.proto = 6;
  return k;
}

class TelemetryCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-collector-" + std::to_string(getpid()) + "-" +
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
    writeProcStat(100, 100, 800);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void writeProcStat(uint64_t user, uint64_t system, uint64_t idle) {
    std::ofstream f(dir_ / "stat");
    f << "cpu  0 0 0 0 0 0 0 0\n";
    for (int c = 0; c < 2; ++c) {
      f << "cpu" << c << " " << user << " 0 " << system << " " << idle << " 0 0 0 0 0 0\n";
    }
  }

  std::unique_ptr<Collector> make(Options o = {}) {
    o.procStatPath = (dir_ / "stat").string();
    auto c = Collector::create(o);
    EXPECT_TRUE(c) << c.error().message();
    (*c)->setPlan(inputs_, plan_);
    return std::move(*c);
  }

  const plan::CircuitPlacement& placement(const std::string& id) const {
    for (const auto& c : plan_->circuits) {
      if (c.circuitId == id) {
        return c;
      }
    }
    throw std::runtime_error("no circuit " + id);
  }

  // Two ticks one second apart: the first primes the counters, the second moves c1 by
  // 2 Mbit/s down (1 from its IPv4 and 1 from an address of its IPv6 /64) and 0.1 down ... see
  // the expectations.
  void twoTicks(Collector& c) {
    Readings r1;
    r1.hosts = {host("100.64.0.1", 1000, 100, 50), host("2001:db8:1::5", 0, 0),
                host("100.64.0.9", 500, 0), host("192.0.2.7", 200, 0)};
    const sluice_flow_key key = flowKey("100.64.0.1", "198.51.100.1", 40000, 443);
    r1.flowKeys = {key};
    r1.flows.resize(1);
    r1.flows[0].bytes[0] = 1000;
    r1.flows[0].last_ns = 5'000'000'000ull;
    r1.monotonicNs = 5'000'000'000ull;
    ASSERT_TRUE(c.tick(std::move(r1), kT0));

    writeProcStat(150, 150, 900);
    Readings r2;
    r2.hosts = {host("100.64.0.1", 1000 + 125'000, 100 + 12'500, 150),
                host("2001:db8:1::5", 125'000, 0), host("100.64.0.9", 500 + 250'000, 0),
                host("192.0.2.7", 200 + 12'500, 0)};
    r2.flowKeys = {key};
    r2.flows.resize(1);
    r2.flows[0].bytes[0] = 1000 + 125'000;
    r2.flows[0].retransmits[0] = 5;
    r2.flows[0].last_ns = 6'000'000'000ull;
    for (double ms : {10, 20, 30, 40, 50}) {
      sluice_rtt_event ev{};
      ev.key = key;
      ev.rtt_ns = static_cast<uint64_t>(ms * 1e6);
      r2.rtt.push_back(ev);
    }
    r2.monotonicNs = 6'000'000'000ull;
    // tc: c1's download class with a CAKE leaf that dropped 7 packets.
    tc::LiveTree down;
    tc::LiveClass cls;
    cls.classid = placement("c1").downClass.raw();
    cls.kind = "htb";
    cls.stats.overlimits = 3;
    cls.stats.bytes = 123456;
    down.classes.push_back(cls);
    tc::LiveQdisc leaf;
    leaf.parent = cls.classid;
    leaf.handle = 0x20000;
    leaf.kind = "cake";
    leaf.stats.drops = 7;
    leaf.stats.backlogBytes = 1500;
    leaf.stats.qlen = 1;
    leaf.cakeXstats = tc::CakeXstats{};
    leaf.cakeXstats->tins.resize(4);
    leaf.cakeXstats->tins[2].droppedPackets = 7;
    leaf.cakeXstats->tins[2].ecnMarkedPackets = 2;
    leaf.cakeXstats->tins[2].avgDelayUs = 900;
    down.qdiscs.push_back(leaf);
    r2.tcTrees.push_back(down);
    auto rep = c.tick(std::move(r2), kT0 + 1s);
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(rep->hosts, 4u);
    EXPECT_EQ(rep->rttSamples, 5u);
  }

  std::filesystem::path dir_;
  std::shared_ptr<model::Inputs> inputs_;
  std::shared_ptr<plan::QueuePlan> plan_;
};

const Json* findNode(const Json& nodes, const std::string& name) {
  for (const Json& n : nodes) {
    if (n["name"] == name) {
      return &n;
    }
    if (const Json* inner = findNode(n["children"], name)) {
      return inner;
    }
  }
  return nullptr;
}

TEST_F(TelemetryCollectorTest, TickWithoutPlanFails) {
  auto c = Collector::create({});
  ASSERT_TRUE(c);
  auto r = (*c)->tick(Readings{}, kT0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, EINVAL);
}

TEST_F(TelemetryCollectorTest, FirstTickOnlyPrimes) {
  auto c = make();
  Readings r;
  r.hosts = {host("100.64.0.1", 1'000'000, 1000)};
  ASSERT_TRUE(c->tick(std::move(r), kT0));
  EXPECT_EQ(c->summary()["down_bps"], 0.0);
  EXPECT_EQ((*c->circuit("c1"))["live"]["down_bps"], 0.0);
}

TEST_F(TelemetryCollectorTest, RollsHostsUpToCircuitsNodesAndTotals) {
  auto c = make();
  twoTicks(*c);
  Json c1 = *c->circuit("c1");
  EXPECT_DOUBLE_EQ(c1["live"]["down_bps"], 2e6);  // 1 Mbit/s on each of its two addresses
  EXPECT_DOUBLE_EQ(c1["live"]["up_bps"], 1e5);
  EXPECT_DOUBLE_EQ(c1["live"]["down_pps"], 250);
  Json c2 = *c->circuit("c2");
  EXPECT_DOUBLE_EQ(c2["live"]["down_bps"], 2e6);  // 100.64.0.9 is inside its 100.64.0.8/29

  Json tree = c->tree();
  const Json* ap = findNode(tree["nodes"], "AP_A1");
  const Json* site = findNode(tree["nodes"], "Site_A");
  const Json* siteB = findNode(tree["nodes"], "Site_B");
  ASSERT_TRUE(ap && site && siteB);
  EXPECT_DOUBLE_EQ((*ap)["down_bps"], 4e6);
  EXPECT_DOUBLE_EQ((*site)["down_bps"], 4e6);
  EXPECT_DOUBLE_EQ((*siteB)["down_bps"], 0);
  EXPECT_DOUBLE_EQ((*ap)["utilization_down"], 4e6 / ((*ap)["max_down_mbps"].get<double>() * 1e6));
  EXPECT_EQ((*ap)["circuits"], 2);
  EXPECT_EQ((*site)["type"], "site");
  // Top level: network.json's roots, then the generated parent nodes of unparented circuits.
  ASSERT_GE(tree["nodes"].size(), 2u);
  EXPECT_EQ(tree["nodes"][0]["name"], "Site_A");
  EXPECT_EQ(tree["nodes"][1]["name"], "Site_B");

  Json s = c->summary();
  EXPECT_DOUBLE_EQ(s["down_bps"], 4e6 + 1e5);
  EXPECT_DOUBLE_EQ(s["shaped"]["down_bps"], 4e6);
  EXPECT_DOUBLE_EQ(s["unknown"]["down_bps"], 1e5);
  EXPECT_DOUBLE_EQ(s["protocols"]["udp"]["down_pps"], 125 + 125 + 250 + 12);
  EXPECT_EQ(s["t"], 1'800'000'001);
  ASSERT_EQ(s["history"].size(), 1u);
  EXPECT_NEAR(s["history"][0]["down_bps"].get<double>(), 4.1e6, 4.1e6 * 0.001);
}

TEST_F(TelemetryCollectorTest, RttRetransmitsFlowsAndQueueStats) {
  auto c = make();
  twoTicks(*c);
  Json c1 = *c->circuit("c1");
  EXPECT_DOUBLE_EQ(c1["live"]["rtt_p50_ms"], 30);
  EXPECT_DOUBLE_EQ(c1["live"]["rtt_p90_ms"], 50);
  // 5 retransmits over 100 TCP packets in the same second.
  EXPECT_NEAR(c1["live"]["retransmit_pct"].get<double>(), 5.0, 1e-9);
  ASSERT_EQ(c1["flows"].size(), 1u);
  const Json& f = c1["flows"][0];
  EXPECT_EQ(f["src"], "100.64.0.1");
  EXPECT_EQ(f["dst"], "198.51.100.1");
  EXPECT_EQ(f["dport"], 443);
  EXPECT_EQ(f["proto"], "tcp");
  EXPECT_DOUBLE_EQ(f["down_bps"], 1e6);
  EXPECT_DOUBLE_EQ(f["rtt_ms"], 50);
  EXPECT_EQ(f["retransmits"], 5);
  EXPECT_TRUE((*c->circuit("c2"))["live"]["rtt_p50_ms"].is_null());

  const Json& q = c1["queue"]["down"];
  EXPECT_EQ(q["drops"], 7);
  EXPECT_EQ(q["overlimits"], 3);
  EXPECT_EQ(q["backlog_bytes"], 1500);
  EXPECT_EQ(q["sent_bytes"], 123456);
  EXPECT_EQ(q["leaf_kind"], "cake");
  ASSERT_EQ(q["tins"].size(), 4u);
  EXPECT_EQ(q["tins"][2]["marks"], 2);
  EXPECT_EQ(q["tins"][2]["delay_us"], 900);
  EXPECT_TRUE(c1["queue"]["up"].is_null());

  EXPECT_EQ(c1["plan"]["down_classid"], placement("c1").downClass.toString());
  EXPECT_EQ(c1["plan"]["leaf"]["kind"], "cake");
  EXPECT_EQ(c1["plan"]["leaf"]["diffserv"], "diffserv4");
  ASSERT_EQ(c1["devices"].size(), 1u);
  EXPECT_EQ(c1["devices"][0]["ipv6"][0], "2001:db8:1::/64");
  EXPECT_EQ(c1["parent"], "AP_A1");
  ASSERT_EQ(c1["history"].size(), 1u);
  EXPECT_NEAR(c1["history"][0]["rtt_p50_ms"].get<double>(), 30, 0.05);

  Json tree = c->tree();
  EXPECT_DOUBLE_EQ((*findNode(tree["nodes"], "AP_A1"))["rtt_p50_ms"], 30);
  Json s = c->summary();
  EXPECT_DOUBLE_EQ(s["rtt_ms"]["p50"], 30);
  EXPECT_DOUBLE_EQ(s["rtt_ms"]["p90"], 50);
  std::map<double, int> hist;
  for (const Json& b : s["rtt_histogram"]) {
    hist[b["le_ms"]] = b["count"];
  }
  EXPECT_EQ(hist[10], 1);
  EXPECT_EQ(hist[20], 1);
  EXPECT_EQ(hist[30], 1);
  EXPECT_EQ(hist[50], 2);
  EXPECT_EQ(hist[5], 0);
  ASSERT_EQ(s["queues"].size(), 2u);
  EXPECT_NEAR(s["queues"][0]["cpu_pct"].get<double>(), 50.0, 1e-9);  // see writeProcStat
  double queueDown = s["queues"][0]["down_bps"].get<double>() + s["queues"][1]["down_bps"].get<double>();
  EXPECT_DOUBLE_EQ(queueDown, 4e6);
}

TEST_F(TelemetryCollectorTest, ListsSearchesSortsAndRanksCircuits) {
  auto c = make();
  twoTicks(*c);
  auto all = c->circuits("", 0, 100, "name");
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)["total"], plan_->circuits.size());
  EXPECT_EQ((*all)["circuits"][0]["name"], "Eight");  // alphabetical
  auto two = c->circuits("TWO", 0, 10, "down");
  ASSERT_TRUE(two);
  ASSERT_EQ((*two)["total"], 1);
  EXPECT_EQ((*two)["circuits"][0]["id"], "c2");
  EXPECT_EQ((*two)["circuits"][0]["devices"], 2);
  auto byAddr = c->circuits("100.64.0.8/29", 0, 10, "name");
  EXPECT_EQ((*byAddr)["total"], 1);
  // Every field of the search, case-insensitive: device name, device id, parent, IPv6 text.
  auto byDevice = c->circuits("router 7", 0, 10, "name");
  ASSERT_EQ((*byDevice)["total"], 1);
  EXPECT_EQ((*byDevice)["circuits"][0]["id"], "c7");
  EXPECT_EQ((*c->circuits("D8", 0, 10, "name"))["total"], 1);
  auto byParent = c->circuits("ap_a1", 0, 10, "name");
  EXPECT_GE((*byParent)["total"].get<size_t>(), 2u);
  auto byV6 = c->circuits("2001:DB8:7::/56", 0, 10, "name");
  ASSERT_EQ((*byV6)["total"], 1);
  EXPECT_EQ((*byV6)["circuits"][0]["id"], "c7");
  EXPECT_EQ((*c->circuits("no such text", 0, 10, "name"))["total"], 0);
  auto page = c->circuits("", 1, 2, "down");
  ASSERT_TRUE(page);
  EXPECT_EQ((*page)["circuits"].size(), 2u);
  EXPECT_EQ((*page)["circuits"][0]["id"], "c2");  // c1 and c2 tie at 2 Mbit/s: plan order
  auto rtt = c->circuits("", 0, 1, "rtt");
  EXPECT_EQ((*rtt)["circuits"][0]["id"], "c1");
  auto beyond = c->circuits("", 50, 10, "up");
  EXPECT_TRUE((*beyond)["circuits"].empty());
  auto bad = c->circuits("", 0, 10, "size");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("size"), std::string::npos);

  auto top = c->top("throughput", 10);
  ASSERT_TRUE(top);
  ASSERT_EQ((*top)["circuits"].size(), 2u);  // only circuits with traffic
  auto worst = c->top("rtt", 10);
  ASSERT_EQ((*worst)["circuits"].size(), 1u);
  EXPECT_EQ((*worst)["circuits"][0]["id"], "c1");
  auto retrans = c->top("retransmits", 10);
  EXPECT_EQ((*retrans)["circuits"][0]["id"], "c1");
  EXPECT_FALSE(c->top("loss", 10));
  EXPECT_FALSE(c->circuit("no-such-circuit"));
}

TEST_F(TelemetryCollectorTest, UnknownAddresses) {
  auto c = make();
  twoTicks(*c);
  Json u = c->unknown();
  ASSERT_EQ(u["addresses"].size(), 1u);
  const Json& a = u["addresses"][0];
  EXPECT_EQ(a["address"], "192.0.2.7");
  EXPECT_DOUBLE_EQ(a["down_bps"], 1e5);
  EXPECT_EQ(a["bytes_down"], 12'700);
  EXPECT_TRUE(std::regex_match(a["last_seen"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

TEST_F(TelemetryCollectorTest, ReloadKeepsSeriesByCircuitId) {
  auto c = make();
  twoTicks(*c);
  // The same inputs again (as a reload that changed nothing would install them).
  c->setPlan(inputs_, plan_);
  Json c1 = *c->circuit("c1");
  EXPECT_DOUBLE_EQ(c1["live"]["down_bps"], 2e6);
  EXPECT_EQ(c1["history"].size(), 1u);
}

// Circuits without traffic hold no state (they read as idle); one that gets traffic after a
// reload gets its state then, and a reload keeps the states of the others by circuit ID.
TEST_F(TelemetryCollectorTest, IdleCircuitsHoldNoStateAcrossReloads) {
  auto c = make();
  twoTicks(*c);
  const size_t states = c->seriesMemory().circuits;
  EXPECT_GE(states, 1u);
  EXPECT_LT(states, plan_->circuits.size());
  Json c3 = *c->circuit("c3");
  EXPECT_EQ(c3["live"]["down_bps"], 0.0);
  EXPECT_TRUE(c3["live"]["rtt_p50_ms"].is_null());
  EXPECT_TRUE(c3["flows"].empty());
  EXPECT_TRUE(c3["queue"]["down"].is_null());
  c->setPlan(inputs_, plan_);
  EXPECT_EQ(c->seriesMemory().circuits, states);
  EXPECT_DOUBLE_EQ((*c->circuit("c1"))["live"]["down_bps"], 2e6);
}

// Prometheus text: every line is a comment or a valid sample, every sample's family was
// declared, the histogram is cumulative, and per-circuit series appear only when enabled.
TEST_F(TelemetryCollectorTest, PrometheusExposition) {
  for (bool perCircuit : {false, true}) {
    Options o;
    o.perCircuitMetrics = perCircuit;
    auto c = make(o);
    twoTicks(*c);
    std::string text = c->prometheus();
    std::istringstream in(text);
    std::string line;
    std::set<std::string> declared;
    const std::regex sample(
        R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (NaN|[+-]Inf|-?[0-9.e+-]+))re");
    const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
    size_t samples = 0;
    while (std::getline(in, line)) {
      std::smatch m;
      if (line.rfind("# HELP ", 0) == 0) {
        continue;
      }
      if (std::regex_match(line, m, type)) {
        EXPECT_TRUE(declared.insert(m[1]).second) << "declared twice: " << line;
        continue;
      }
      ASSERT_TRUE(std::regex_match(line, m, sample)) << line;
      std::string name = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!declared.count(name) && name.size() > std::strlen(suffix) &&
            name.ends_with(suffix)) {
          name.resize(name.size() - std::strlen(suffix));
        }
      }
      EXPECT_TRUE(declared.count(name)) << "undeclared family: " << line;
      ++samples;
    }
    EXPECT_GT(samples, 20u);
    EXPECT_NE(text.find("sluice_node_throughput_bits_per_second{node=\"AP_A1\",direction=\"down\"} 4000000\n"),
              std::string::npos);
    EXPECT_NE(text.find("sluice_tcp_rtt_seconds_bucket{le=\"0.05\"} 5\n"), std::string::npos);
    EXPECT_NE(text.find("sluice_tcp_rtt_seconds_bucket{le=\"0.02\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("sluice_tcp_rtt_seconds_count 5\n"), std::string::npos);
    EXPECT_NE(text.find("sluice_bytes_total{direction=\"down\",class=\"unknown\"} 12500\n"),
              std::string::npos);
    EXPECT_EQ(text.find("sluice_circuit_") != std::string::npos, perCircuit);
    if (perCircuit) {
      EXPECT_NE(text.find("sluice_circuit_throughput_bits_per_second{circuit=\"c1\",direction=\"down\"} 2000000\n"),
                std::string::npos);
    }
  }
}

// History: ticks across persistence intervals write SQLite; a new collector on the file serves
// the minutes from before its start.
TEST_F(TelemetryCollectorTest, HistorySurvivesARestart) {
  Options o;
  o.historyDbPath = (dir_ / "history.sqlite").string();
  o.persistSeconds = 60;
  {
    auto c = make(o);
    uint64_t bytes = 0;
    for (int s = 0; s <= 125; ++s) {
      Readings r;
      r.hosts = {host("100.64.0.1", bytes, 0)};
      bytes += 250'000;  // 2 Mbit/s
      auto rep = c->tick(std::move(r), kT0 + std::chrono::seconds(s));
      ASSERT_TRUE(rep);
      EXPECT_TRUE(rep->warnings.empty());
    }
    ASSERT_TRUE(c->flush());
  }
  auto c = make(o);
  Json c1 = *c->circuit("c1", 60);
  ASSERT_GE(c1["history"].size(), 2u);
  EXPECT_EQ(c1["history"][0]["t"], 1'800'000'000);
  EXPECT_NEAR(c1["history"][0]["down_bps"].get<double>(), 2e6, 2e6 * 0.001);
  EXPECT_EQ(c1["history"][1]["t"], 1'800'000'060);
  EXPECT_FALSE(c->circuit("AP_A1"));  // a node, not a circuit
}

}  // namespace
}  // namespace sluice::telemetry

namespace sluice::telemetry {
namespace {

// docs/grafana-dashboard.json may only query metric families that prometheus() exposes.
TEST_F(TelemetryCollectorTest, GrafanaDashboardUsesExposedMetrics) {
  Options o;
  o.perCircuitMetrics = true;
  auto c = make(o);
  twoTicks(*c);
  Readings r;
  r.stats = std::array<uint64_t, SLUICE_STAT_COUNT>{};
  ASSERT_TRUE(c->tick(std::move(r), kT0 + 2s));
  const std::string text = c->prometheus();
  std::ifstream f(std::string(SLUICE_SOURCE_DIR) + "/docs/grafana-dashboard.json");
  ASSERT_TRUE(f);
  std::stringstream ss;
  ss << f.rdbuf();
  const Json dashboard = Json::parse(ss.str());  // valid JSON
  ASSERT_FALSE(dashboard["panels"].empty());
  const std::string body = ss.str();
  const std::regex name(R"(sluice_[a-z0-9_]+)");
  size_t checked = 0;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), name); it != std::sregex_iterator();
       ++it) {
    std::string family = it->str();
    if (family == "sluice_shaper") {  // the dashboard's uid
      continue;
    }
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (family.ends_with(suffix) && text.find("# TYPE " + family + " ") == std::string::npos) {
        family.resize(family.size() - std::strlen(suffix));
      }
    }
    EXPECT_NE(text.find("# TYPE " + family + " "), std::string::npos) << family;
    ++checked;
  }
  EXPECT_GT(checked, 20u);
}

}  // namespace
}  // namespace sluice::telemetry
