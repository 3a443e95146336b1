// `sluice top`'s parsing and text layout (src/top/): API answers in, an 80x24 frame out.

#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "top/TopLayout.h"
#include "top/TopModel.h"

namespace sluice::top {
namespace {

using nlohmann::json;

size_t columns(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) {
    n += (c & 0xC0) == 0x80 ? 0 : 1;
  }
  return n;
}

// Shaped like the lab's answers (src/api/openapi.json: Top, Tree, Summary).
const json kTop = json::parse(R"({"metric":"throughput","circuits":[
  {"id":"1004","name":"Birch Lane","parent":"Hill","max_down_mbps":50,"max_up_mbps":10,
   "down_bps":47750000,"up_bps":1200000,"rtt_p50_ms":3.25,"retransmit_pct":0.5},
  {"id":"1001","name":"Alder Farm","parent":"Hill","max_down_mbps":5,"max_up_mbps":1,
   "down_bps":4780000,"up_bps":950000,"rtt_p50_ms":null,"retransmit_pct":0},
  {"name":"no id: skipped"}]})");
const json kTree = json::parse(R"({"nodes":[
  {"name":"Core","type":"site","max_down_mbps":1000,"max_up_mbps":1000,"down_bps":52530000,
   "up_bps":2150000,"utilization_down":0.0525,"utilization_up":0.002,"rtt_p50_ms":3.0,
   "circuits":2,"children":[
     {"name":"Hill","type":"ap","max_down_mbps":100,"max_up_mbps":20,"down_bps":52530000,
      "up_bps":2150000,"utilization_down":0.525,"utilization_up":0.1075,"rtt_p50_ms":null,
      "circuits":2}]}]})");
const json kSummary = json::parse(R"({"t":1765000000,"down_bps":52530000,"up_bps":2150000,
  "rtt_ms":{"p50":3.1,"p90":9},"retransmit_pct":0.25,
  "queues":[{"queue":0,"cpu":0,"cpu_pct":12.4,"down_bps":1,"up_bps":2},
            {"queue":1,"cpu":1,"cpu_pct":3,"down_bps":1,"up_bps":2}]})");

Snapshot snapshot() {
  Snapshot s;
  s.circuits = parseTop(kTop);
  s.nodes = parseTree(kTree);
  parseSummary(kSummary, s);
  return s;
}

TEST(TopModel, ReadsTopTreeAndSummary) {
  const Snapshot s = snapshot();
  ASSERT_EQ(s.circuits.size(), 2u);
  EXPECT_EQ(s.circuits[0].id, "1004");
  EXPECT_DOUBLE_EQ(s.circuits[0].downBps, 47750000);
  EXPECT_TRUE(std::isnan(s.circuits[1].rttP50Ms)) << "null RTT reads as unknown";
  ASSERT_EQ(s.nodes.size(), 2u);
  EXPECT_EQ(s.nodes[1].name, "Hill");
  EXPECT_EQ(s.nodes[1].depth, 1);
  EXPECT_DOUBLE_EQ(s.nodes[1].utilizationDown, 0.525);
  ASSERT_EQ(s.cpus.size(), 2u);
  EXPECT_EQ(s.cpus[1].cpu, 1);
  EXPECT_DOUBLE_EQ(s.rttP50Ms, 3.1);
}

TEST(TopModel, ToleratesMissingAndWrongFields) {
  EXPECT_TRUE(parseTop(json::parse(R"({"error":"x"})")).empty());
  EXPECT_TRUE(parseTree(json::parse("[]")).empty());
  Snapshot s;
  parseSummary(json::parse(R"({"down_bps":"fast","queues":5})"), s);
  EXPECT_EQ(s.downBps, 0);
  EXPECT_TRUE(s.cpus.empty());
  EXPECT_TRUE(std::isnan(s.rttP50Ms));
}

TEST(TopLayout, FormatsNumbers) {
  EXPECT_EQ(formatMbps(0), "0.00");
  EXPECT_EQ(formatMbps(9570000), "9.57");
  EXPECT_EQ(formatMbps(47750000), "47.8");
  EXPECT_EQ(formatMbps(950e6), "950");
  EXPECT_EQ(formatMbps(std::numeric_limits<double>::quiet_NaN()), "-");
  EXPECT_EQ(formatPercent(0.525), "52%");
  EXPECT_EQ(formatPercent(1.12), "112%");
  EXPECT_EQ(formatMs(3.25), "3.2");
  EXPECT_EQ(formatMs(250), "250");
}

TEST(TopLayout, FitsColumnsByCodePoint) {
  EXPECT_EQ(fitColumn("abc", 5), "abc  ");
  EXPECT_EQ(fitColumn("abcdef", 4), "abc~");
  EXPECT_EQ(fitColumn("Zürich Süd", 6), "Züric~");
  EXPECT_EQ(fitColumn("Zürich", 6), "Zürich");
  EXPECT_EQ(fitColumn("Zürich Süd", 3), "Zü~");
  EXPECT_EQ(columns(fitColumn("Zürich Süd", 3)), 3u);
}

TEST(TopLayout, Frame80x24HoldsEverySection) {
  ViewState view;
  view.clock = "14:03:07";
  view.source = "/run/sluice-lab/sluiced.sock";
  const std::vector<std::string> frame = renderFrame(snapshot(), view, 80, 24);
  ASSERT_EQ(frame.size(), 24u);
  for (const std::string& line : frame) {
    EXPECT_LE(columns(line), 80u) << line;
  }
  EXPECT_EQ(frame[0].rfind("sluice top  14:03:07  down 52.5  up 2.15 Mbit/s  RTT p50 3.1 ms", 0),
            0u)
      << frame[0];
  EXPECT_EQ(frame[2].rfind("Circuits by throughput", 0), 0u) << frame[2];
  EXPECT_EQ(frame[3].rfind("Circuit", 0), 0u);
  // Rows in the API's order, every column where the header puts it.
  EXPECT_EQ(frame[4],
            "1004 Birch Lane              Hill          47.8    1.20       50/10    3.2  0.50");
  EXPECT_EQ(frame[5],
            "1001 Alder Farm              Hill          4.78    0.95         5/1      -  0.00");
  // Right-aligned numbers end where their headings end.
  for (const char* heading : {"Down", "Up", "Ceil d/u", "RTT ms", "Retx%"}) {
    const size_t end = frame[3].find(heading) + std::string(heading).size();
    EXPECT_EQ(frame[4][end - 1] != ' ', true) << heading;
    EXPECT_EQ(frame[4].size() <= end || frame[4][end] == ' ', true) << heading;
  }
  EXPECT_EQ(frame[6].rfind("Node tree", 0), 0u) << frame[6];
  EXPECT_EQ(frame[8].rfind("Core ", 0), 0u) << frame[8];
  EXPECT_EQ(frame[9].rfind("  Hill ", 0), 0u) << "children are indented: " << frame[9];
  EXPECT_NE(frame[9].find(" 52% "), std::string::npos) << frame[9];
  EXPECT_EQ(frame[22], "CPU  q0@cpu0 12%  q1@cpu1 3%");
  EXPECT_EQ(frame[23], keyHelp());
  EXPECT_NE(keyHelp().find("q quit"), std::string::npos);
}

TEST(TopLayout, ManyCircuitsAndNodesShareTheRows) {
  Snapshot s = snapshot();
  for (int i = 0; i < 50; ++i) {
    s.circuits.push_back(s.circuits[1]);
    s.circuits.back().id = "c" + std::to_string(i);
    s.nodes.push_back(s.nodes[1]);
  }
  const std::vector<std::string> frame = renderFrame(s, ViewState{}, 80, 24);
  ASSERT_EQ(frame.size(), 24u);
  size_t circuitRows = 0;
  size_t nodeRows = 0;
  bool inNodes = false;
  for (size_t i = 4; i + 2 < frame.size(); ++i) {
    if (frame[i].rfind("Node tree", 0) == 0) {
      inNodes = true;
      ++i;  // the header
      continue;
    }
    (inNodes ? nodeRows : circuitRows) += frame[i].empty() ? 0 : 1;
  }
  EXPECT_EQ(circuitRows, 8u);  // 55 % of the 16 free rows
  EXPECT_EQ(nodeRows, 8u);
  // A taller terminal shows more of both.
  EXPECT_EQ(renderFrame(s, ViewState{}, 120, 50).size(), 50u);
}

TEST(TopLayout, WideAndNarrowTerminals) {
  Snapshot s = snapshot();
  s.circuits[0].name = std::string(200, 'n');
  for (int width : {20, 39, 40, 80, 200}) {
    for (int height : {1, 5, 11, 24, 60}) {
      const std::vector<std::string> frame = renderFrame(s, ViewState{}, width, height);
      ASSERT_EQ(frame.size(), static_cast<size_t>(height)) << width << "x" << height;
      for (const std::string& line : frame) {
        EXPECT_LE(columns(line), static_cast<size_t>(width)) << width << "x" << height;
      }
      const std::string keys = static_cast<size_t>(width) >= keyHelp().size()
                                   ? keyHelp()
                                   : fitColumn(keyHelp(), static_cast<size_t>(width));
      EXPECT_EQ(frame.back(), keys) << width << "x" << height;
    }
  }
  EXPECT_TRUE(renderFrame(s, ViewState{}, 0, 24).empty());
}

TEST(TopLayout, StatusLineShowsPauseAndErrors) {
  ViewState view;
  view.sort = SortKey::Rtt;
  view.paused = true;
  view.message = "cannot reach sluiced";
  Snapshot s = snapshot();
  s.circuits.clear();
  const std::vector<std::string> frame = renderFrame(s, view, 80, 24);
  EXPECT_EQ(frame[1], "paused (p resumes): cannot reach sluiced");
  EXPECT_EQ(frame[2].rfind("Circuits by rtt", 0), 0u);
  EXPECT_EQ(frame[4], "  (no circuit has rtt samples)");
}

}  // namespace
}  // namespace sluice::top
