// The per-subscriber capture filter (src/capture/Filter.h): the expression built from a circuit's
// prefixes, and what the compiled classic BPF program (the one the kernel runs) accepts.

#include <gtest/gtest.h>

#include "capture/Filter.h"
#include "capture/Settings.h"
#include "config/ConfigLoader.h"

namespace sluice::capture {
namespace {

IpNet net(const char* text) {
  return *IpNet::parse(text);
}

/// An Ethernet frame with an IPv4 (or IPv6) header from `src` to `dst` and 8 bytes of UDP; with
/// `vlan` an 802.1Q tag in the frame.
std::vector<uint8_t> frame(const IpNet& src, const IpNet& dst, uint16_t vlan = 0) {
  std::vector<uint8_t> f{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  if (vlan != 0) {
    f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vlan >> 8), static_cast<uint8_t>(vlan)});
  }
  if (src.isV4) {
    f.insert(f.end(), {0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0});
    f.insert(f.end(), src.addr.begin() + 12, src.addr.end());
    f.insert(f.end(), dst.addr.begin() + 12, dst.addr.end());
  } else {
    f.insert(f.end(), {0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64});
    f.insert(f.end(), src.addr.begin(), src.addr.end());
    f.insert(f.end(), dst.addr.begin(), dst.addr.end());
  }
  f.insert(f.end(), {0x30, 0x39, 0x30, 0x39, 0, 8, 0, 0});
  return f;
}

bool accepts(const std::string& expression, const std::vector<uint8_t>& f) {
  auto verdict = filterAccepts(expression, f);
  EXPECT_TRUE(verdict.has_value()) << expression;
  return verdict.value_or(false);
}

const IpNet kServer = net("198.51.100.1");
const IpNet kServer6 = net("2001:db8:ffff::1");

TEST(CaptureFilter, HostsAndPrefixesOfBothFamilies) {
  auto expression =
      filterExpression({net("100.64.0.5"), net("100.64.1.0/24"), net("2001:db8:1::/56")}, false);
  ASSERT_TRUE(expression.has_value());
  EXPECT_EQ(*expression, "host 100.64.0.5 or net 100.64.1.0/24 or net 2001:db8:1::/56");
  EXPECT_TRUE(validateFilter(*expression, 262144).has_value());
  // The subscriber's packets, both directions, both families.
  EXPECT_TRUE(accepts(*expression, frame(net("100.64.0.5"), kServer)));
  EXPECT_TRUE(accepts(*expression, frame(kServer, net("100.64.0.5"))));
  EXPECT_TRUE(accepts(*expression, frame(kServer, net("100.64.1.77"))));
  EXPECT_TRUE(accepts(*expression, frame(kServer6, net("2001:db8:1:ff::9"))));
  // Anyone else's: the neighbour, the next /24, outside the /56, the server talking to itself.
  EXPECT_FALSE(accepts(*expression, frame(kServer, net("100.64.0.6"))));
  EXPECT_FALSE(accepts(*expression, frame(net("100.64.2.1"), kServer)));
  EXPECT_FALSE(accepts(*expression, frame(kServer6, net("2001:db8:1:100::1"))));
  EXPECT_FALSE(accepts(*expression, frame(kServer, kServer)));
}

TEST(CaptureFilter, DropsDuplicatesAndCoveredPrefixes) {
  auto expression = filterExpression(
      {net("100.64.1.9"), net("100.64.1.0/24"), net("100.64.1.0/24"), net("2001:db8:1::1")}, false);
  ASSERT_TRUE(expression.has_value());
  EXPECT_EQ(*expression, "net 100.64.1.0/24 or host 2001:db8:1::1");
}

TEST(CaptureFilter, VlanTaggedFramesOnAStick) {
  auto expression = filterExpression({net("100.64.0.5")}, true);
  ASSERT_TRUE(expression.has_value());
  EXPECT_EQ(*expression, "(host 100.64.0.5) or (vlan and (host 100.64.0.5))");
  EXPECT_TRUE(accepts(*expression, frame(kServer, net("100.64.0.5"), 3)));
  EXPECT_TRUE(accepts(*expression, frame(net("100.64.0.5"), kServer)));
  EXPECT_FALSE(accepts(*expression, frame(kServer, net("100.64.0.6"), 3)));
  // Without the VLAN part a tagged frame is not recognised: the stick needs it.
  EXPECT_FALSE(accepts("host 100.64.0.5", frame(kServer, net("100.64.0.5"), 3)));
}

TEST(CaptureFilter, RefusesEmptyAndBadInput) {
  auto empty = filterExpression({}, false);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().errnum, EINVAL);
  auto bad = validateFilter("host 100.64.0.5 or", 65535);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("host 100.64.0.5 or"), std::string::npos);
}

TEST(CaptureSettings, DefaultsAndRangesFromLqosConf) {
  const std::string dir = ::testing::TempDir();
  std::string problems;
  auto write = [&](const std::string& top, const std::string& extra) {
    const std::string path = dir + "/capture-lqos.conf";
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fprintf(f, "%s[bridge]\nto_internet = \"a\"\nto_network = \"b\"\n%s", top.c_str(),
                 extra.c_str());
    std::fclose(f);
    Diagnostics diags;
    auto loaded = config::loadConfig(path, diags);
    problems.clear();
    for (const Diagnostic& d : diags.all()) {
      problems += d.toString() + "\n";
    }
    return diags.hasErrors() ? std::nullopt : loaded;
  };
  auto plain = write("", "[sluice]\nstate_directory = \"/var/lib/x\"\n");
  ASSERT_TRUE(plain.has_value());
  auto defaults = settingsFromConfig(*plain);
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->directory, "/var/lib/x/captures");
  EXPECT_EQ(defaults->maxConcurrent, 4u);
  EXPECT_EQ(defaults->defaultSeconds, 10u);  // packet_capture_time's default
  auto custom = write("packet_capture_time = 20\n",
                      "[capture]\nmax_concurrent = 2\n"
                      "retention_seconds = 30\nmax_file_mbytes = 5\n");
  ASSERT_TRUE(custom.has_value()) << problems;
  auto settings = settingsFromConfig(*custom);
  ASSERT_TRUE(settings.has_value());
  EXPECT_EQ(settings->maxConcurrent, 2u);
  EXPECT_EQ(settings->retentionSeconds, 30u);
  EXPECT_EQ(settings->defaultSeconds, 20u);
  EXPECT_EQ(settings->maxFileBytes, 5ull << 20);
  // Out of range is the loader's error, an unknown key its warning, each naming the key.
  EXPECT_FALSE(write("", "[capture]\nmax_concurrent = 100\n").has_value());
  EXPECT_NE(problems.find("max_concurrent"), std::string::npos) << problems;
  (void)write("", "[capture]\nmax_concurent = 2\n");
  EXPECT_NE(problems.find("max_concurent"), std::string::npos) << problems;
}

}  // namespace
}  // namespace sluice::capture
