// A session to a dynamic circuit (radius/CircuitMapping.h): rate precedence, parent rules,
// pending reasons; and the [radius] settings read through the real config loader.

#include <gtest/gtest.h>

#include <filesystem>

#include "common/Diagnostics.h"
#include "config/ConfigLoader.h"
#include "radius/CircuitMapping.h"
#include "radius/Settings.h"

namespace sluice::radius {
namespace {

model::Model operatorModel() {
  model::Model m;
  for (const char* name : {"Tower-A", "Tower-B"}) {
    model::Node n;
    n.name = name;
    m.network.byName[name] = static_cast<int32_t>(m.network.nodes.size());
    m.network.nodes.push_back(n);
  }
  const auto add = [&](const char* id, const char* name, const char* parent, const char* mac,
                       double down, double up) {
    model::Circuit c;
    c.id = id;
    c.name = name;
    c.parentNode = parent;
    c.downloadMinMbps = down / 2;
    c.uploadMinMbps = up / 2;
    c.downloadMaxMbps = down;
    c.uploadMaxMbps = up;
    c.where = SourceLocation{"ShapedDevices.csv"};
    model::Device d;
    d.mac = mac;
    d.ipv4.push_back(*IpNet::parse("100.64.9.9/32"));
    c.devices.push_back(d);
    m.shaped.byId[id] = m.shaped.circuits.size();
    m.shaped.circuits.push_back(c);
  };
  add("plan-gold", "alice", "Tower-B", "AA-BB-CC-00-00-01", 100, 20);
  add("plan-silver", "bob", "Tower-A", "aabb.cc00.0002", 50, 10);
  add("dup-1", "carol", "Tower-A", "aa:bb:cc:00:00:03", 10, 2);
  add("dup-2", "carol", "Tower-A", "aa:bb:cc:00:00:03", 10, 2);
  return m;
}

Session session(const std::string& addr = "100.64.0.5/32") {
  Session s;
  s.nas = "bng1";
  s.nasIdentifier = "bng1";
  s.acctSessionId = "S1";
  s.circuitId = "radius:bng1:S1";
  s.addresses.push_back(*IpNet::parse(addr));
  return s;
}

RadiusSettings settings() {
  RadiusSettings s;
  s.fallbackParentNode = "Tower-A";
  return s;
}

TEST(RadiusMapping, NormalizesMacsAndReadsVlans) {
  EXPECT_EQ(normalizeMac("AA-BB-CC-00-00-01"), "aa:bb:cc:00:00:01");
  EXPECT_EQ(normalizeMac("aabb.cc00.0002"), "aa:bb:cc:00:00:02");
  EXPECT_EQ(normalizeMac("aabbcc000002"), "aa:bb:cc:00:00:02");
  EXPECT_FALSE(normalizeMac("alice"));
  EXPECT_FALSE(normalizeMac("aa:bb:cc:00:00"));
  EXPECT_EQ(vlanFromNasPortId("ether1:100"), 100u);
  EXPECT_EQ(vlanFromNasPortId("VLAN200"), 200u);
  EXPECT_EQ(vlanFromNasPortId("0/1/0/7:100.200"), 200u);
  EXPECT_FALSE(vlanFromNasPortId("ether1"));
  EXPECT_FALSE(vlanFromNasPortId("ether1:5000"));
}

TEST(RadiusMapping, SessionRatesComeFirstWithMinShare) {
  const auto m = operatorModel();
  const ShapedIndex index(m.shaped);
  Session s = session();
  s.rates = Rates{20'000'000, 5'000'000, {}, {}, "MikroTik-Rate-Limit"};
  s.callingStationId = "aa:bb:cc:00:00:01";  // matches plan-gold, but the session's rate wins
  RadiusSettings cfg = settings();
  cfg.minRatePercent = 50;
  const auto out = mapSession(s, cfg, m, index);
  ASSERT_TRUE(out.circuit) << out.pending << ": " << out.detail;
  EXPECT_EQ(out.circuit->downloadMaxMbps, 20);
  EXPECT_EQ(out.circuit->uploadMaxMbps, 5);
  EXPECT_EQ(out.circuit->downloadMinMbps, 10);
  EXPECT_EQ(out.rateSource, "MikroTik-Rate-Limit");
  // No parent rule: the matched circuit's parent comes before the fallback.
  EXPECT_EQ(out.circuit->parentNode, "Tower-B");
  EXPECT_EQ(out.parentSource, "shaped-devices:plan-gold");
  EXPECT_EQ(out.circuit->id, "radius:bng1:S1");
  EXPECT_EQ(out.circuit->where.file, kRadiusSource);
  ASSERT_EQ(out.circuit->devices.size(), 1u);
  EXPECT_EQ(out.circuit->devices[0].ipv4.at(0), *IpNet::parse("100.64.0.5/32"));
}

TEST(RadiusMapping, ShapedDevicesRowByMacThenUserNameThenRangeThenFallback) {
  const auto m = operatorModel();
  const ShapedIndex index(m.shaped);
  RadiusSettings cfg = settings();
  Session s = session();
  s.userName = "AABBCC000002";  // a MAC as the user name (IPoE), matching plan-silver
  auto out = mapSession(s, cfg, m, index);
  ASSERT_TRUE(out.circuit) << out.detail;
  EXPECT_EQ(out.rateSource, "shaped-devices:plan-silver");
  EXPECT_EQ(out.circuit->downloadMaxMbps, 50);
  EXPECT_EQ(out.circuit->downloadMinMbps, 25);

  s.userName = "plan-gold";  // by Circuit ID
  out = mapSession(s, cfg, m, index);
  EXPECT_EQ(out.rateSource, "shaped-devices:plan-gold");
  s.userName = "bob";  // by Circuit Name
  out = mapSession(s, cfg, m, index);
  EXPECT_EQ(out.rateSource, "shaped-devices:plan-silver");

  cfg.matchByUserName = false;
  ParentRule range;
  range.kind = ParentRule::Kind::Range;
  range.range = *IpNet::parse("100.64.0.0/24");
  range.node = "Tower-B";
  range.name = "cgnat";
  range.speed = SpeedProfile{1, 1, 8, 2};
  cfg.parents.push_back(range);
  out = mapSession(s, cfg, m, index);
  ASSERT_TRUE(out.circuit);
  EXPECT_EQ(out.rateSource, "range:range 100.64.0.0/24 (cgnat)");
  EXPECT_EQ(out.circuit->downloadMaxMbps, 8);
  EXPECT_EQ(out.circuit->parentNode, "Tower-B");

  cfg.parents.clear();
  out = mapSession(s, cfg, m, index);
  EXPECT_EQ(out.pending, "missing-rate");
  EXPECT_FALSE(out.circuit);
  cfg.fallbackSpeed = SpeedProfile{2, 1, 4, 2};
  out = mapSession(s, cfg, m, index);
  ASSERT_TRUE(out.circuit);
  EXPECT_EQ(out.rateSource, "fallback-profile");
  EXPECT_EQ(out.circuit->uploadMaxMbps, 2);
  EXPECT_EQ(out.parentSource, "fallback");
}

TEST(RadiusMapping, AmbiguousMatchIsPendingNotGuessed) {
  const auto m = operatorModel();
  const ShapedIndex index(m.shaped);
  RadiusSettings cfg = settings();
  cfg.fallbackSpeed = SpeedProfile{1, 1, 1, 1};
  Session s = session();
  s.callingStationId = "aa:bb:cc:00:00:03";
  const auto out = mapSession(s, cfg, m, index);
  EXPECT_FALSE(out.circuit);
  EXPECT_EQ(out.pending, "ambiguous-match");
  EXPECT_NE(out.detail.find("dup-1, dup-2"), std::string::npos) << out.detail;
}

TEST(RadiusMapping, ParentRulesNasVlanRangeInOrder) {
  const auto m = operatorModel();
  const ShapedIndex index(m.shaped);
  RadiusSettings cfg;
  cfg.fallbackSpeed = SpeedProfile{1, 1, 1, 1};
  Session s = session();
  auto out = mapSession(s, cfg, m, index);
  EXPECT_EQ(out.pending, "missing-parent");  // network.json has nodes: no guess

  ParentRule vlan{ParentRule::Kind::Vlan, "", 100, {}, "Tower-B", "", {}};
  ParentRule nas{ParentRule::Kind::Nas, "192.0.2.1", 0, {}, "Tower-A", "", {}};
  cfg.parents = {vlan, nas};
  s.nasIpAddress = IpNet::parse("192.0.2.1");
  out = mapSession(s, cfg, m, index);
  EXPECT_EQ(out.circuit->parentNode, "Tower-A");  // the VLAN rule does not match: no port id
  EXPECT_EQ(out.parentSource, "rule:nas 192.0.2.1");
  s.nasPortId = "ether2:100";
  out = mapSession(s, cfg, m, index);
  EXPECT_EQ(out.circuit->parentNode, "Tower-B");
  EXPECT_EQ(out.parentSource, "rule:vlan 100");

  cfg.parents = {ParentRule{ParentRule::Kind::Nas, "bng1", 0, {}, "Nowhere", "", {}}};
  out = mapSession(s, cfg, m, index);
  EXPECT_EQ(out.pending, "unknown-parent");

  model::Model flat;
  cfg.parents.clear();
  out = mapSession(s, cfg, flat, ShapedIndex(flat.shaped));
  ASSERT_TRUE(out.circuit);
  EXPECT_EQ(out.circuit->parentNode, "");
  EXPECT_EQ(out.parentSource, "flat");
}

TEST(RadiusMapping, MissingAddressAndStaleArePending) {
  const auto m = operatorModel();
  RadiusSettings cfg = settings();
  cfg.fallbackSpeed = SpeedProfile{1, 1, 1, 1};
  Session s = session();
  s.addresses.clear();
  EXPECT_EQ(mapSession(s, cfg, m, ShapedIndex(m.shaped)).pending, "missing-address");
  s = session();
  s.state = SessionState::Stale;
  EXPECT_EQ(mapSession(s, cfg, m, ShapedIndex(m.shaped)).pending, "stale");
}

// --- Settings through the real loader --------------------------------------------------------

config::Config load(const std::string& text, Diagnostics& diags) {
  auto c = config::parseConfig(text, "/etc/lqos.conf", diags);
  EXPECT_TRUE(c.has_value());
  return c.value_or(config::Config{});
}

constexpr const char* kBase = R"(version = "1.5"
[bridge]
to_internet = "eth0"
to_network = "eth1"
)";

TEST(RadiusSettings, LibreQosNamesMapAndRadiusOverrides) {
  Diagnostics diags;
  const auto config = load(std::string(kBase) + R"(
[radius_accounting]
enabled = true
listen = "127.0.0.1:11813"
default_ttl_seconds = 600
stale_grace_seconds = 60
[[radius_accounting.clients]]
name = "bng"
source = ["192.0.2.0/24", "127.0.0.1"]
secret_file = "/etc/sluice/bng.secret"
[radius_accounting.fallback_speed_profile]
download_min_mbps = 5
upload_min_mbps = 1
download_max_mbps = 25
upload_max_mbps = 5
[radius_accounting.dynamic_circuit_application]
enabled = true
match_shaped_devices_by_mac = false
fallback_parent_node = "Tower-A"

[dynamic_circuits]
enabled = true
ttl_seconds = 300
ranges = [{name = "cgnat", ip_range = "100.64.0.0/10", attach_to = "Tower-B", download_min_mbps = 1, upload_min_mbps = 1, download_max_mbps = 10, upload_max_mbps = 2}]

[radius]
coa_port = 13799
session_ttl_seconds = 1200
min_rate_percent = 50
parents = [{vlan = 100, node = "Tower-A"}, {nas = "bng1", node = "Tower-B"}]
)",
                           diags);
  EXPECT_FALSE(diags.hasErrors());
  for (const auto& w : diags.warnings()) {
    ADD_FAILURE() << w.toString();  // every key is known
  }
  auto s = readRadiusSettings(config, "/etc/lqos.conf");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->enabled);
  EXPECT_EQ(s->server.bindAddress, "127.0.0.1");
  EXPECT_EQ(s->server.accountingPort, 11813);
  EXPECT_EQ(s->server.coaPort, 13799);
  EXPECT_EQ(s->server.dispatcher.sessions.ttlSec, 1200);  // [radius] over default_ttl_seconds
  EXPECT_EQ(s->server.dispatcher.sessions.staleGraceSec, 60);
  ASSERT_EQ(s->clients.size(), 1u);
  EXPECT_EQ(s->clients[0].sources.size(), 2u);
  EXPECT_EQ(s->fallbackSpeed, (SpeedProfile{5, 1, 25, 5}));
  EXPECT_FALSE(s->matchByMac);
  EXPECT_EQ(s->fallbackParentNode, "Tower-A");
  EXPECT_EQ(s->minRatePercent, 50);
  ASSERT_EQ(s->parents.size(), 3u);  // [radius] rules, then the ranges
  EXPECT_EQ(s->parents[0].describe(), "vlan 100");
  EXPECT_EQ(s->parents[1].describe(), "nas bng1");
  EXPECT_EQ(s->parents[2].describe(), "range 100.64.0.0/10 (cgnat)");
  EXPECT_EQ(s->parents[2].speed->downloadMaxMbps, 10);
}

TEST(RadiusSettings, BadValuesNameSectionKeyAndValue) {
  const auto expectError = [](const std::string& section, const std::string& needle) {
    Diagnostics diags;
    const auto config = load(std::string(kBase) + section, diags);
    auto s = readRadiusSettings(config, "/etc/lqos.conf");
    ASSERT_FALSE(s) << section;
    EXPECT_NE(s.error().message().find(needle), std::string::npos) << s.error().message();
    EXPECT_NE(s.error().message().find("/etc/lqos.conf"), std::string::npos);
  };
  expectError("[radius]\nenabled = true\n", "no client");
  expectError("[radius]\nlisten = \"bng.example:1813\"\n", "bng.example");
  expectError("[radius]\nlisten = \"127.0.0.1:0\"\n", "port");
  expectError("[radius]\nparents = [{node = \"A\"}]\n", "exactly one of nas, vlan");
  expectError("[radius]\nparents = [{range = \"10.0.0.0/99\", node = \"A\"}]\n", "10.0.0.0/99");
  expectError("[[radius.clients]]\nname = \"x\"\nsource = \"10.0.0.1\"\n", "secret_file");
  expectError(
      "[radius.fallback_speed_profile]\ndownload_min_mbps = 9\nupload_min_mbps = 1\n"
      "download_max_mbps = 5\nupload_max_mbps = 5\n",
      "min must not exceed max");
}

TEST(RadiusSettings, ParseListen) {
  EXPECT_EQ(parseListen("0.0.0.0", 1813)->second, 1813);
  EXPECT_EQ(parseListen("[::1]:1900", 1813)->first, "::1");
  EXPECT_EQ(parseListen("[::1]:1900", 1813)->second, 1900);
  EXPECT_EQ(parseListen("2001:db8::1", 1813)->first, "2001:db8::1");
  EXPECT_FALSE(parseListen("127.0.0.1:70000", 1813));
}

}  // namespace
}  // namespace sluice::radius
