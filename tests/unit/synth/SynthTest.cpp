// The synthetic ISP generator: determinism, counts, address hygiene, rate rules, and byte equality
// with the committed fixtures under tests/data/synth/.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/IpNet.h"
#include "synth/Addresses.h"
#include "synth/Synth.h"

namespace sluice::synth {
namespace {

using Row = std::vector<std::string>;

/// Minimal RFC 4180 reader for the generator's own output (quoted fields, doubled quotes).
std::vector<Row> readCsv(const std::string& text) {
  std::vector<Row> rows;
  Row row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (ch == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += ch;
    }
  }
  return rows;
}

std::vector<std::string> splitCell(const std::string& cell) {
  std::vector<std::string> out;
  std::stringstream in(cell);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

struct NodeInfo {
  double down = 0;
  double up = 0;
};

void collectNodes(const nlohmann::json& object, std::map<std::string, NodeInfo>& out) {
  for (const auto& [name, node] : object.items()) {
    EXPECT_FALSE(out.contains(name)) << "duplicate node name " << name;
    out[name] = NodeInfo{node.at("downloadBandwidthMbps").get<double>(),
                         node.at("uploadBandwidthMbps").get<double>()};
    if (node.contains("children")) {
      collectNodes(node.at("children"), out);
    }
  }
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Column indices of the LibreQoS header the generator writes.
enum Col {
  kCircuitId,
  kCircuitName,
  kDeviceId,
  kDeviceName,
  kParent,
  kMac,
  kIpv4,
  kIpv6,
  kDownMin,
  kUpMin,
  kDownMax,
  kUpMax,
  kComment,
  kSqm
};

TEST(Synth, SameSeedGivesIdenticalBytes) {
  SynthOptions o;
  o.circuits = 500;
  o.seed = 42;
  const SynthFiles a = generate(o);
  const SynthFiles b = generate(o);
  EXPECT_EQ(a.networkJson, b.networkJson);
  EXPECT_EQ(a.shapedDevicesCsv, b.shapedDevicesCsv);
}

TEST(Synth, DifferentSeedsDiffer) {
  SynthOptions o;
  o.circuits = 500;
  o.seed = 1;
  const SynthFiles a = generate(o);
  o.seed = 2;
  const SynthFiles b = generate(o);
  EXPECT_NE(a.networkJson, b.networkJson);
  EXPECT_NE(a.shapedDevicesCsv, b.shapedDevicesCsv);
}

TEST(Synth, CountsMatchOptions) {
  SynthOptions o;
  o.circuits = 1234;
  o.sites = 5;
  o.popsPerSite = 3;
  o.apsPerPop = 4;
  o.unparentedShare = 0.1;
  o.sqmOverrideShare = 0.2;
  const SynthFiles f = generate(o);

  std::map<std::string, NodeInfo> nodes;
  const auto json = nlohmann::json::parse(f.networkJson);
  EXPECT_EQ(json.size(), 5u);
  collectNodes(json, nodes);
  EXPECT_EQ(nodes.size(), 5u * (1 + 3 * (1 + 4)));
  EXPECT_EQ(f.stats.nodes, nodes.size());

  const auto rows = readCsv(f.shapedDevicesCsv);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].size(), 14u);
  EXPECT_EQ(rows[0][kSqm], "sqm");
  std::map<std::string, int> devicesPerCircuit;
  std::set<std::string> unparented;
  int overrides = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 14u) << "row " << i;
    if (devicesPerCircuit[rows[i][kCircuitId]]++ == 0 && !rows[i][kSqm].empty()) {
      ++overrides;
    }
    if (rows[i][kParent].empty()) {
      unparented.insert(rows[i][kCircuitId]);
    } else {
      EXPECT_TRUE(nodes.contains(rows[i][kParent])) << rows[i][kParent];
    }
  }
  EXPECT_EQ(devicesPerCircuit.size(), 1234u);
  EXPECT_EQ(unparented.size(), 123u);  // llround(1234 * 0.1)
  EXPECT_EQ(rows.size() - 1, f.stats.devices);
  EXPECT_EQ(overrides, static_cast<int>(f.stats.sqmOverrides));
  EXPECT_GT(overrides, 1234 * 0.2 * 0.7);
  EXPECT_LT(overrides, 1234 * 0.2 * 1.3);
  for (const auto& [id, n] : devicesPerCircuit) {
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 3);
  }
  const double mean = static_cast<double>(f.stats.devices) / 1234;
  EXPECT_GT(mean, 1.4);
  EXPECT_LT(mean, 1.75);
}

TEST(Synth, SqmNoneShareMarksCircuitsWithoutLeaf) {
  SynthOptions o;
  o.circuits = 2000;
  o.sqmOverrideShare = 0;
  o.sqmNoneShare = 0.4;
  const auto rows = readCsv(generate(o).shapedDevicesCsv);
  ASSERT_EQ(rows[0].size(), 14u);
  std::map<std::string, std::string> sqmByCircuit;
  for (size_t i = 1; i < rows.size(); ++i) {
    sqmByCircuit[rows[i][kCircuitId]] = rows[i][kSqm];
  }
  const auto none = std::count_if(sqmByCircuit.begin(), sqmByCircuit.end(),
                                  [](const auto& kv) { return kv.second == "none"; });
  const auto other = std::count_if(sqmByCircuit.begin(), sqmByCircuit.end(), [](const auto& kv) {
    return !kv.second.empty() && kv.second != "none";
  });
  EXPECT_GT(none, 700);
  EXPECT_LT(none, 900);
  EXPECT_EQ(other, 0);
}

TEST(Synth, NoSqmColumnWithoutOverrides) {
  SynthOptions o;
  o.sqmOverrideShare = 0;
  const auto rows = readCsv(generate(o).shapedDevicesCsv);
  EXPECT_EQ(rows[0].size(), 13u);
  EXPECT_EQ(rows[0].back(), "Comment");
}

TEST(Synth, AddressesAreUniqueNonOverlappingAndInRange) {
  SynthOptions o;
  o.circuits = 5000;
  o.cidrShare = 0.2;
  o.ipv6Share = 0.7;
  o.ipv6OnlyShare = 0.05;
  const auto rows = readCsv(generate(o).shapedDevicesCsv);
  const IpNet cgnat = *IpNet::parse("100.64.0.0/10");
  const IpNet doc6 = *IpNet::parse("2001:db8::/32");
  std::vector<IpNet> all;
  std::set<std::string> macs;
  std::set<std::string> deviceIds;
  size_t cidrs = 0;
  size_t v6OnlyDevices = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto v4 = splitCell(rows[i][kIpv4]);
    const auto v6 = splitCell(rows[i][kIpv6]);
    EXPECT_FALSE(v4.empty() && v6.empty()) << "row " << i << " has no address";
    v6OnlyDevices += v4.empty() ? 1 : 0;
    for (const auto& text : v4) {
      const auto net = IpNet::parse(text);
      ASSERT_TRUE(net && net->isV4) << text;
      EXPECT_TRUE(cgnat.contains(*net)) << text;
      cidrs += net->userPrefixLen() < 32 ? 1 : 0;
      all.push_back(*net);
    }
    for (const auto& text : v6) {
      const auto net = IpNet::parse(text);
      ASSERT_TRUE(net && !net->isV4) << text;
      EXPECT_TRUE(doc6.contains(*net)) << text;
      EXPECT_TRUE(net->prefixLen == 64 || net->prefixLen == 56) << text;
      all.push_back(*net);
    }
    EXPECT_TRUE(deviceIds.insert(rows[i][kDeviceId]).second) << rows[i][kDeviceId];
    if (!rows[i][kMac].empty()) {
      EXPECT_TRUE(macs.insert(rows[i][kMac]).second) << rows[i][kMac];
    }
  }
  EXPECT_GT(cidrs, 100u);
  EXPECT_GT(v6OnlyDevices, 50u);
  // Sorted by address, a prefix can only overlap its successor if it contains it.
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_FALSE(all[i - 1].overlaps(all[i]))
        << all[i - 1].toString() << " overlaps " << all[i].toString();
  }
}

TEST(Synth, RatesRespectParentsAndGuarantees) {
  SynthOptions o;
  o.circuits = 20000;
  o.sites = 3;
  const SynthFiles f = generate(o);
  std::map<std::string, NodeInfo> nodes;
  collectNodes(nlohmann::json::parse(f.networkJson), nodes);
  std::map<std::string, std::pair<double, double>> minSums;
  std::set<std::string> seen;
  const auto rows = readCsv(f.shapedDevicesCsv);
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const double downMin = std::stod(r[kDownMin]);
    const double upMin = std::stod(r[kUpMin]);
    const double downMax = std::stod(r[kDownMax]);
    const double upMax = std::stod(r[kUpMax]);
    EXPECT_GE(downMin, 0.01);
    EXPECT_GE(upMin, 0.01);
    EXPECT_LE(downMin, downMax);
    EXPECT_LE(upMin, upMax);
    EXPECT_GE(downMax, 6);
    EXPECT_LE(downMax, 1000);
    const NodeInfo& parent = nodes.at(r[kParent]);
    EXPECT_LE(downMax, parent.down) << r[kCircuitId];
    EXPECT_LE(upMax, parent.up) << r[kCircuitId];
    if (seen.insert(r[kCircuitId]).second) {
      minSums[r[kParent]].first += downMin;
      minSums[r[kParent]].second += upMin;
    }
  }
  for (const auto& [name, sums] : minSums) {
    EXPECT_LE(sums.first, nodes.at(name).down * 0.9 + 1e-6) << name;
    EXPECT_LE(sums.second, nodes.at(name).up * 0.9 + 1e-6) << name;
  }
}

TEST(Ipv4Allocator, MovesToTenSlashEightWhenSharedSpaceIsFullWithoutOverlap) {
  Ipv4Allocator alloc;
  const IpNet cgnat = *IpNet::parse("100.64.0.0/10");
  const IpNet ten = *IpNet::parse("10.0.0.0/8");
  std::vector<IpNet> all;
  all.push_back(*IpNet::parse(alloc.host()));  // 100.64.0.1
  // 100.64.0.0/10 holds 16,384 /24s; the host at 100.64.0.1 takes the lowest one.
  size_t inTen = 0;
  for (int i = 0; i < 16'400; ++i) {
    const auto net = IpNet::parse(alloc.block(24));
    ASSERT_TRUE(net.has_value());
    ASSERT_TRUE(cgnat.contains(*net) || ten.contains(*net)) << net->toString();
    inTen += ten.contains(*net) ? 1 : 0;
    all.push_back(*net);
  }
  EXPECT_EQ(inTen, 16'400u - 16'383u);
  const auto host = IpNet::parse(alloc.host());
  EXPECT_TRUE(ten.contains(*host)) << host->toString();
  all.push_back(*host);
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_FALSE(all[i - 1].overlaps(all[i])) << all[i - 1].toString() << " " << all[i].toString();
  }
}

TEST(Ipv4Allocator, HostsSkipDotZeroAndDotTwoFiftyFive) {
  Ipv4Allocator alloc;
  for (int i = 0; i < 600; ++i) {
    const std::string text = alloc.host();
    const std::string last = text.substr(text.rfind('.') + 1);
    EXPECT_NE(last, "0") << text;
    EXPECT_NE(last, "255") << text;
  }
}

TEST(Synth, FlatNetworkWhenNoSites) {
  SynthOptions o;
  o.sites = 0;
  o.circuits = 50;
  const SynthFiles f = generate(o);
  EXPECT_EQ(f.networkJson, "{}\n");
  EXPECT_EQ(f.stats.unparentedCircuits, 50u);
}

TEST(Synth, RejectsNonsensicalOptions) {
  SynthOptions o;
  o.ipv6Share = 1.5;
  EXPECT_THROW(generate(o), std::invalid_argument);
  o = SynthOptions{};
  o.devicesPerCircuitMax = 0.5;
  EXPECT_THROW(generate(o), std::invalid_argument);
}

// The committed fixtures were written by sluice-gen (see tests/data/synth/README.md); equality
// proves the output does not depend on the standard library or platform.
TEST(Synth, MatchesCommittedFixture) {
  SynthOptions o;
  o.circuits = 200;
  o.sites = 3;
  o.seed = 7;
  o.unparentedShare = 0.05;
  o.ipv6OnlyShare = 0.05;
  const SynthFiles f = generate(o);
  const std::string dir = std::string(SLUICE_TEST_DATA_DIR) + "/synth/isp-200/";
  EXPECT_EQ(f.networkJson, readFile(dir + "network.json"));
  EXPECT_EQ(f.shapedDevicesCsv, readFile(dir + "ShapedDevices.csv"));
}

}  // namespace
}  // namespace sluice::synth
