// The shared graph layer: each preparation rule, the emitted pair (read back by the model
// reader), rates, quoting, and the parsing of vendor addresses.

#include "integrations/Graph.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "ModelCheck.h"

namespace sluice::integrations {
namespace {

using nlohmann::json;
using testing::dump;
using testing::readBack;

IpNet net(const char* text) {
  return *IpNet::parse(text);
}

GraphNode site(std::string id, std::string parent = "", double down = 0, double up = 0) {
  GraphNode n;
  n.id = id;
  n.name = "Site " + id;
  n.parentId = std::move(parent);
  n.kind = NodeKind::Site;
  n.downloadMbps = down;
  n.uploadMbps = up;
  n.networkJsonId = "test:site:" + id;
  return n;
}

GraphNode ap(std::string id, std::string parent, double down = 0, double up = 0) {
  GraphNode n = site(std::move(id), std::move(parent), down, up);
  n.kind = NodeKind::Ap;
  n.name = "AP " + n.id;
  n.networkJsonId = "test:ap:" + n.id;
  return n;
}

GraphNode client(std::string id, std::string parent, double down = 100, double up = 20) {
  GraphNode n;
  n.id = id;
  n.name = "Client " + id;
  n.parentId = std::move(parent);
  n.kind = NodeKind::Client;
  n.downloadMbps = down;
  n.uploadMbps = up;
  return n;
}

GraphNode device(std::string id, std::string client, std::vector<const char*> addresses) {
  GraphNode n;
  n.id = id;
  n.name = "cpe-" + id;
  n.parentId = std::move(client);
  n.kind = NodeKind::Device;
  for (const char* a : addresses) {
    n.addresses.push_back(net(a));
  }
  return n;
}

GraphOptions options() {
  GraphOptions o;
  o.allowSubnets = {net("100.64.0.0/10"), net("10.0.0.0/8"), net("2001:db8::/32")};
  return o;
}

ShapingFiles build(std::vector<GraphNode> nodes, GraphOptions o = options(),
                   CompileMode mode = CompileMode::Full) {
  auto files = buildShapingFiles(std::move(nodes), std::move(o), mode);
  EXPECT_TRUE(files.has_value()) << files.error().message();
  return files.value_or(ShapingFiles{});
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

/// The CSV rows without the header.
std::vector<std::string> rows(const ShapingFiles& files) {
  auto all = lines(files.shapedDevicesCsv);
  return {all.begin() + 1, all.end()};
}

bool warned(const ShapingFiles& files, const std::string& part) {
  for (const auto& w : files.warnings) {
    if (w.find(part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(Graph, EmitsBothFilesAndTheModelReaderAcceptsThem) {
  auto files = build({site("s1", "", 500, 200), ap("a1", "s1", 300, 100), client("c1", "a1"),
                      device("d1", "c1", {"100.64.1.1", "2001:db8::/56"}),
                      device("d2", "c1", {"100.64.1.2"})});
  EXPECT_EQ(json::parse(files.networkJson), json::parse(R"({
    "Site s1": {"downloadBandwidthMbps": 500, "uploadBandwidthMbps": 200, "type": "site",
                "id": "test:site:s1", "children": {
      "AP a1": {"downloadBandwidthMbps": 300, "uploadBandwidthMbps": 100, "type": "ap",
                "id": "test:ap:a1"}}}})"));
  EXPECT_EQ(lines(files.shapedDevicesCsv)[0],
            "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,Parent Node ID,"
            "Anchor Node ID,MAC,IPv4,IPv6,Download Min Mbps,Upload Min Mbps,Download Max Mbps,"
            "Upload Max Mbps,Comment");
  EXPECT_EQ(rows(files), (std::vector<std::string>{
                             R"("c1","Client c1","d1","cpe-d1","AP a1","test:ap:a1","test:ap:a1","","100.64.1.1","2001:db8::/56","98","19.6","100","20","")",
                             R"("c1","Client c1","d2","cpe-d2","AP a1","test:ap:a1","test:ap:a1","","100.64.1.2","","98","19.6","100","20","")"}));
  EXPECT_EQ(files.circuits, 1u);
  EXPECT_EQ(files.nodes, 2u);
  auto back = readBack(files);
  EXPECT_FALSE(back.diags.hasErrors()) << dump(back.diags);
  ASSERT_EQ(back.model.shaped.circuits.size(), 1u);
  EXPECT_EQ(back.model.shaped.circuits[0].devices.size(), 2u);
  EXPECT_EQ(back.model.shaped.circuits[0].parentNode, "AP a1");
}

TEST(Graph, ChildRatesAreClampedToTheParentsFromTheUplink) {
  GraphOptions o = options();
  o.downlinkBandwidthMbps = 400;
  o.uplinkBandwidthMbps = 150;
  o.generatedPnDownloadMbps = 250;
  auto files = build({site("s1", "", 500, 200), ap("a1", "s1", 0, 90), ap("a2", "a1", 300, 120),
                      client("c1", "a2"), device("d1", "c1", {"100.64.1.1"})},
                     o);
  auto nj = json::parse(files.networkJson);
  auto& s1 = nj["Site s1"];
  EXPECT_EQ(s1["downloadBandwidthMbps"], 400);  // 500 clamped to downlink 400
  EXPECT_EQ(s1["uploadBandwidthMbps"], 150);
  auto& a1 = s1["children"]["AP a1"];
  EXPECT_EQ(a1["downloadBandwidthMbps"], 250);  // 0 = generated default, under 400
  EXPECT_EQ(a1["uploadBandwidthMbps"], 90);
  auto& a2 = a1["children"]["AP a2"];
  EXPECT_EQ(a2["downloadBandwidthMbps"], 250);  // 300 clamped to the parent's 250
  EXPECT_EQ(a2["uploadBandwidthMbps"], 90);
}

TEST(Graph, AVirtualNodeIsWrittenAsSuchAndDoesNotLimitItsChildren) {
  GraphOptions o = options();
  o.generatedPnDownloadMbps = 500;
  o.downlinkBandwidthMbps = 2000;
  GraphNode root = site("root");
  root.isVirtual = true;  // rates 0: would be the generated 500 if it counted
  auto files = build({root, site("s1", "root", 1500, 300), client("c1", "root"),
                      device("d1", "c1", {"100.64.1.1"})},
                     o);
  auto nj = json::parse(files.networkJson);
  EXPECT_EQ(nj["Site root"]["virtual"], true);
  EXPECT_EQ(nj["Site root"]["children"]["Site s1"]["downloadBandwidthMbps"], 1500);
  auto back = readBack(files);
  EXPECT_FALSE(back.diags.hasErrors()) << dump(back.diags);
  EXPECT_TRUE(back.model.network.nodes[back.model.network.find("Site root")].isVirtual);
  EXPECT_EQ(back.model.shaped.circuits[0].parentNode, "Site root");
}

TEST(Graph, ParentsResolvedByIdAndUnknownParentsGoToTheRoot) {
  auto files = build({client("c1", "a1"), ap("a1", "s1"), site("s1"), client("c2", "nowhere"),
                      device("d1", "c1", {"100.64.1.1"}), device("d2", "c2", {"100.64.1.2"})});
  auto r = rows(files);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NE(r[0].find(R"("AP a1","test:ap:a1")"), std::string::npos) << r[0];
  EXPECT_NE(r[1].find(R"("cpe-d2","","")"), std::string::npos) << r[1];  // unparented
  EXPECT_TRUE(warned(files, "parent 'nowhere'"));
  EXPECT_TRUE(json::parse(files.networkJson)["Site s1"]["children"].contains("AP a1"));
}

TEST(Graph, PromoteToRootLiftsTheChildrenOfNamedNodesAndTheNodesThemselves) {
  GraphOptions o = options();
  o.promoteToRoot = {"Site core", "AP deep"};
  GraphNode core = site("core");
  GraphNode deep = ap("deep", "s2");
  auto files = build({core, site("s2", "core"), deep, site("s3", "s2")}, o);
  auto nj = json::parse(files.networkJson);
  EXPECT_TRUE(nj.contains("Site s2"));  // parent "Site core" is promoted: s2 to the root
  EXPECT_TRUE(nj.contains("AP deep"));  // named itself
  EXPECT_TRUE(nj["Site s2"]["children"].contains("Site s3"));
  EXPECT_FALSE(nj["Site s2"].contains("children") && nj["Site s2"]["children"].contains("AP deep"));
}

TEST(Graph, ClientWithChildrenBecomesAGeneratedSiteHoldingItAndTheChildren) {
  auto files = build({site("s1"), client("c1", "s1"), device("d1", "c1", {"100.64.1.1"}),
                      site("s2", "c1"), client("c2", "s2"), device("d2", "c2", {"100.64.1.2"}),
                      client("c3", "c1"), device("d3", "c3", {"100.64.1.3"})});
  auto nj = json::parse(files.networkJson);
  auto& gen = nj["Site s1"]["children"]["(Generated Site) Client c1"];
  EXPECT_EQ(gen["type"], "site");
  EXPECT_EQ(gen["id"], "sluice:generated:graph:site:c1");
  EXPECT_TRUE(gen["children"].contains("Site s2"));
  auto r = rows(files);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].substr(0, 60), R"("c1","Client c1","d1","cpe-d1","(Generated Site) Client c1",)");
  EXPECT_NE(r[2].find(R"("c3","Client c3","d3","cpe-d3","(Generated Site) Client c1")"),
            std::string::npos);
  auto back = readBack(files);
  EXPECT_FALSE(back.diags.hasErrors()) << dump(back.diags);
}

TEST(Graph, ParentLoopsAreCutAndReattachedToTheRoot) {
  auto files = build({site("a", "b"), site("b", "a"), client("c", "b"),
                      device("d", "c", {"100.64.1.1"})});
  auto nj = json::parse(files.networkJson);
  ASSERT_EQ(nj.size(), 1u) << files.networkJson;
  EXPECT_TRUE(warned(files, "parent loop"));
  auto back = readBack(files);
  EXPECT_FALSE(back.diags.hasErrors()) << dump(back.diags);
}

TEST(Graph, PruneAppliesIgnoreAndAllowSubnetsThenDropsEmptyDevicesAndClients) {
  GraphOptions o = options();
  o.ignoreSubnets = {net("100.64.9.0/24")};
  auto files = build({client("c1", ""), device("d1", "c1", {"100.64.1.1", "100.64.9.9"}),
                      device("d2", "c1", {"192.0.2.1"}),  // outside allow_subnets
                      client("c2", ""), device("d3", "c2", {"100.64.9.1"}),  // ignored only
                      client("c3", "")},                                     // no device
                     o);
  auto r = rows(files);
  ASSERT_EQ(r.size(), 1u) << files.shapedDevicesCsv;
  EXPECT_NE(r[0].find(R"("d1","cpe-d1","","","","","100.64.1.1","")"), std::string::npos) << r[0];
  EXPECT_TRUE(warned(files, "100.64.9.9 of device 'cpe-d1' (client 'Client c1') is in "
                            "ip_ranges.ignore_subnets"));
  EXPECT_TRUE(warned(files, "192.0.2.1 of device 'cpe-d2' (client 'Client c1') is outside "
                            "ip_ranges.allow_subnets"));
  EXPECT_TRUE(warned(files, "client 'Client c2' has no device with an address"));
  EXPECT_TRUE(warned(files, "client 'Client c3' has no device with an address"));
  EXPECT_EQ(files.circuits, 1u);
}

TEST(Graph, AnAddressClaimedByTwoCircuitsStaysWithTheFirst) {
  auto files = build({client("c1", ""), device("d1", "c1", {"100.64.1.0/30"}), client("c2", ""),
                      device("d2", "c2", {"100.64.1.1", "100.64.2.2"})});
  auto r = rows(files);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NE(r[1].find(R"("100.64.2.2")"), std::string::npos) << r[1];
  EXPECT_TRUE(warned(files, "overlaps an address of circuit 'c1'"));
  EXPECT_FALSE(readBack(files).diags.hasErrors());
}

TEST(Graph, CircuitRatesFollowCommitFloorAndTheEthernetCap) {
  GraphOptions o = options();
  o.commitMultiplier = 0.9;
  o.minimumRateMbps = 2;
  GraphNode c1 = client("c1", "", 100.456, 1);
  GraphNode c2 = client("c2", "", 500, 50);
  c2.downloadMinMbps = 600;  // above max: lowered to max
  GraphNode d2 = device("d2", "c2", {"100.64.1.2"});
  d2.ethernetMbps = 100;  // round(100 × 0.94) = 94 caps max 500 -> 94, min 500 -> 94
  GraphNode d3 = device("d3", "c2", {"100.64.1.3"});
  d3.ethernetMbps = 1000;  // the slowest port counts
  auto files = build({c1, device("d1", "c1", {"100.64.1.1"}), c2, d2, d3}, o);
  auto r = rows(files);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NE(r[0].find(R"("90.41","2","100.46","2")"), std::string::npos) << r[0];
  EXPECT_NE(r[1].find(R"("94","45","94","50")"), std::string::npos) << r[1];
  EXPECT_TRUE(warned(files, "circuit 'Client c2': its 100 Mbps Ethernet port"));
  o.ethernetPortLimitsEnabled = false;
  auto uncapped = build({c2, d2}, o);
  EXPECT_NE(rows(uncapped)[0].find(R"("500","45","500","50")"), std::string::npos);
}

TEST(Graph, CellsAreQuotedAndLineBreaksFlattened) {
  GraphNode c = client("c,1", "");
  c.name = "O\"Brien, Pat\nJr";
  c.comment = "plan \"gold\"";
  GraphNode d = device("d1", "c,1", {"100.64.1.1", "10.1.0.0/24"});
  d.mac = "AA:BB:CC:00:00:01";
  auto files = build({c, d});
  EXPECT_EQ(rows(files)[0],
            R"("c,1","O""Brien, Pat Jr","d1","cpe-d1","","","","AA:BB:CC:00:00:01","100.64.1.1, 10.1.0.0/24","","98","19.6","100","20","plan ""gold""")");
  auto back = readBack(files);
  EXPECT_FALSE(back.diags.hasErrors()) << dump(back.diags);
  ASSERT_EQ(back.model.shaped.circuits.size(), 1u);
  EXPECT_EQ(back.model.shaped.circuits[0].name, "O\"Brien, Pat Jr");
  EXPECT_EQ(back.model.shaped.circuits[0].devices[0].ipv4.size(), 2u);
}

TEST(Graph, CircuitNameAsAddress) {
  GraphOptions o = options();
  o.circuitNameAsAddress = true;
  GraphNode c = client("c1", "");
  c.address = "12 Oak St";
  auto files = build({c, device("d1", "c1", {"100.64.1.1"})}, o);
  EXPECT_EQ(rows(files)[0].substr(0, 22), R"("c1","12 Oak St","d1",)");
}

TEST(Graph, DuplicateExportNamesAreMadeUniqueSitesFirst) {
  GraphNode a = ap("a1", "");
  a.name = "Tower";
  GraphNode s = site("s1");
  s.name = "Tower";
  auto files = build({a, s, client("c1", "a1"), device("d1", "c1", {"100.64.1.1"})});
  auto nj = json::parse(files.networkJson);
  EXPECT_EQ(nj["Tower"]["type"], "site");
  EXPECT_EQ(nj["Tower (a1)"]["type"], "ap");
  EXPECT_NE(rows(files)[0].find(R"x("Tower (a1)","test:ap:a1")x"), std::string::npos);
  EXPECT_FALSE(readBack(files).diags.hasErrors());
}

TEST(Graph, ExcludedNamesAndParentExceptionsOnlyWhenGiven) {
  std::vector<GraphNode> nodes = {site("s1"), site("s2"), client("c1", ""),
                                  device("d1", "c1", {"100.64.1.1"})};
  auto plain = build(nodes);
  EXPECT_TRUE(json::parse(plain.networkJson).contains("Site s2"));
  EXPECT_NE(rows(plain)[0].find(R"("cpe-d1","","")"), std::string::npos);

  GraphOptions o = options();
  o.excludeNames = {"Site s2"};
  o.parentExceptions = {{"cpe-d1", "test:site:s1"}};
  auto files = build(nodes, o);
  EXPECT_FALSE(json::parse(files.networkJson).contains("Site s2"));
  EXPECT_NE(rows(files)[0].find(R"("cpe-d1","Site s1","test:site:s1")"), std::string::npos)
      << rows(files)[0];
}

TEST(Graph, AddNodeRefusesMissingAndDuplicateIds) {
  Graph g(options());
  GraphNode empty;
  EXPECT_FALSE(g.addNode(empty).has_value());
  ASSERT_TRUE(g.addNode(site("s1")).has_value());
  auto dup = g.addNode(site("s1"));
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("'s1'"), std::string::npos);
  EXPECT_FALSE(g.emit(CompileMode::Full).has_value());  // before prepare()
}

TEST(Graph, VendorAddressesKeepNetworksAndReduceInterfaceAddressesToHosts) {
  EXPECT_EQ(parseVendorAddress(" 10.0.0.5/24 ")->toString(), "10.0.0.5");
  EXPECT_EQ(parseVendorAddress("10.0.0.0/24")->toString(), "10.0.0.0/24");
  EXPECT_EQ(parseVendorAddress("10.0.0.7")->toString(), "10.0.0.7");
  EXPECT_EQ(parseVendorAddress("2001:db8::1/64")->toString(), "2001:db8::1");
  EXPECT_EQ(parseVendorAddress("2001:db8::/48")->toString(), "2001:db8::/48");
  EXPECT_FALSE(parseVendorAddress("10.0.0.5/33"));
  EXPECT_FALSE(parseVendorAddress("host.example"));
  EXPECT_FALSE(parseVendorAddress(""));
}

TEST(Graph, CompileModeNames) {
  EXPECT_EQ(parseCompileMode("full2"), CompileMode::Full);
  EXPECT_EQ(parseCompileMode("ap_site"), CompileMode::ApSite);
  EXPECT_FALSE(parseCompileMode("Full"));
  EXPECT_EQ(compileModeName(CompileMode::ApOnly), "ap_only");
}

}  // namespace
}  // namespace sluice::integrations
