// One failing input per validation rule of the lqos.conf loader: each test asserts the category,
// the severity and the exact line:column of the diagnostic.

#include <gtest/gtest.h>

#include <string>

#include "ConfigTestUtil.h"

namespace sluice::config {
namespace {

using testing::expectAt;
using testing::expectOne;
using testing::parse;
using testing::withCategory;

TEST(ConfigRules, TomlSyntaxErrorGivesTomlppPosition) {
  const std::string text = "[bridge]\nto_internet = \"eth0\"\nto_network = \n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  // toml++ reports the missing value at the end of line 3 (just after "to_network = ").
  Diagnostic d = expectOne(diags, "toml-syntax", 3, 14);
  EXPECT_NE(d.message.find("expected"), std::string::npos) << d.message;
}

TEST(ConfigRules, UnclosedTableHeaderIsSyntaxError) {
  Diagnostics diags;
  EXPECT_FALSE(parse("version = \"1.5\"\n[queues\n", diags));
  ASSERT_EQ(withCategory(diags, "toml-syntax").size(), 1u);
  EXPECT_EQ(diags.all().front().where.line, 2u);
}

TEST(ConfigRules, UnknownKeyIsWarningAtKeyPosition) {
  const std::string text = "[bridge]\nto_internet = \"eth0\"\n  colour = \"blue\"\n";
  Diagnostics diags;
  auto config = parse(text, diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  Diagnostic d = expectAt(diags, "unknown-key", text, "colour", Severity::Warning);
  EXPECT_EQ(d.value, "bridge.colour");
  EXPECT_NE(d.message.find("bridge.colour"), std::string::npos);
  EXPECT_EQ(diags.errorCount(), 0u);
}

TEST(ConfigRules, UnknownSectionAndTopLevelKeyAreWarnings) {
  const std::string text = "shaper_colour = 3\n[bridge]\n[mystery]\nx = 1\n";
  Diagnostics diags;
  auto config = parse(text, diags);
  ASSERT_TRUE(config);
  auto unknown = withCategory(diags, "unknown-key");
  ASSERT_EQ(unknown.size(), 2u) << testing::dump(diags);
  EXPECT_EQ(unknown[0].value, "shaper_colour");
  EXPECT_EQ(unknown[0].where.line, 1u);
  EXPECT_EQ(unknown[0].where.column, 1u);
  EXPECT_EQ(unknown[1].value, "mystery");
  EXPECT_EQ(unknown[1].where.line, 3u);
  EXPECT_EQ(unknown[1].where.column, 2u);
  EXPECT_FALSE(config->otherSections.contains("mystery"));
}

TEST(ConfigRules, UnknownKeyInNestedTable) {
  const std::string text = "[bridge]\n[treeguard.cpu]\nmode = \"cpu_aware\"\nturbo = true\n";
  Diagnostics diags;
  ASSERT_TRUE(parse(text, diags));
  Diagnostic d = expectAt(diags, "unknown-key", text, "turbo", Severity::Warning);
  EXPECT_EQ(d.value, "treeguard.cpu.turbo");
}

TEST(ConfigRules, WrongTypeNamesKeyAndValue) {
  const std::string text = "[bridge]\n[queues]\nuplink_bandwidth_mbps = \"fast\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "wrong-type", text, "\"fast\"");
  EXPECT_NE(d.message.find("queues.uplink_bandwidth_mbps"), std::string::npos) << d.message;
  EXPECT_EQ(d.value, "\"fast\"");
}

TEST(ConfigRules, WrongTypeForSectionItself) {
  const std::string text = "queues = 5\n[bridge]\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "wrong-type", text, "5");
}

TEST(ConfigRules, WrongTypeInsideStringArray) {
  const std::string text = "[bridge]\n[ip_ranges]\nallow_subnets = [\"10.0.0.0/8\", 7]\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "wrong-type", text, "[\"10.0.0.0/8\"");
  EXPECT_NE(d.message.find("array of strings"), std::string::npos);
}

TEST(ConfigRules, WrongTypeInNestedTable) {
  const std::string text = "[bridge]\n[treeguard.cpu]\ncpu_high_pct = \"high\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "wrong-type", text, "\"high\"");
  EXPECT_NE(d.message.find("treeguard.cpu.cpu_high_pct"), std::string::npos);
}

TEST(ConfigRules, VlanZeroIsInvalid) {
  const std::string text = "[single_interface]\ninterface = \"eth0\"\ninternet_vlan = 0\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "invalid-vlan", text, "0\n");
  EXPECT_EQ(d.value, "0");
  EXPECT_NE(d.message.find("single_interface.internet_vlan"), std::string::npos);
}

TEST(ConfigRules, Vlan4095IsInvalid) {
  const std::string text = "[single_interface]\nnetwork_vlan = 4095\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-vlan", text, "4095");
}

TEST(ConfigRules, SameVlanTwiceIsInvalid) {
  const std::string text = "[single_interface]\ninternet_vlan = 7\nnetwork_vlan = 7\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectOne(diags, "same-vlan", 3, 16);  // the network_vlan value
}

TEST(ConfigRules, ZeroBandwidthIsInvalid) {
  const std::string text = "[bridge]\n[queues]\ndownlink_bandwidth_mbps = 0\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "invalid-bandwidth", text, "0\n");
  EXPECT_NE(d.message.find("queues.downlink_bandwidth_mbps"), std::string::npos);
}

TEST(ConfigRules, NegativeAndNanBandwidthAreInvalid) {
  const std::string text =
      "[bridge]\n[queues]\ngenerated_pn_upload_mbps = -5.5\nfast_queues_fq_codel = nan\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  auto found = withCategory(diags, "invalid-bandwidth");
  ASSERT_EQ(found.size(), 2u) << testing::dump(diags);
  EXPECT_EQ(found[0].value, "-5.5");
  EXPECT_EQ(found[0].where.line, 3u);
  EXPECT_EQ(found[1].value, "nan");
  EXPECT_EQ(found[1].where.line, 4u);
}

TEST(ConfigRules, LazyQueuesMustBeExactVariant) {
  const std::string text = "[bridge]\n[queues]\nlazy_queues = \"htb\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "invalid-value", text, "\"htb\"");
  EXPECT_NE(d.message.find("No, Htb, Full"), std::string::npos) << d.message;
}

TEST(ConfigRules, QueueModeMustBeShapeOrObserve) {
  const std::string text = "[bridge]\n[queues]\nqueue_mode = \"monitor\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "invalid-value", text, "\"monitor\"");
  EXPECT_EQ(d.value, "\"monitor\"");
}

TEST(ConfigRules, InterfaceNameLongerThan15IsInvalid) {
  const std::string text = "[bridge]\nto_internet = \"enp129s0f0np0v12\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "invalid-interface-name", text, "\"enp129");
  EXPECT_EQ(d.value, "\"enp129s0f0np0v12\"");
  EXPECT_NE(d.message.find("bridge.to_internet"), std::string::npos);
}

TEST(ConfigRules, InterfaceNameWithSlashOrSpaceIsInvalid) {
  const std::string text = "[single_interface]\ninterface = \"eth 0\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-interface-name", text, "\"eth 0\"");

  const std::string text2 = "[bridge]\nto_network = \"a/b\"\n";
  Diagnostics diags2;
  EXPECT_FALSE(parse(text2, diags2));
  expectAt(diags2, "invalid-interface-name", text2, "\"a/b\"");
}

TEST(ConfigRules, FifteenCharacterInterfaceNameIsValid) {
  Diagnostics diags;
  auto config = parse("[bridge]\nto_internet = \"enp129s0f0np0v1\"\n", diags);
  ASSERT_TRUE(config) << testing::dump(diags);
  EXPECT_EQ(config->bridge->toInternet, "enp129s0f0np0v1");
}

TEST(ConfigRules, BridgeInterfacesMustDiffer) {
  const std::string text = "[bridge]\nto_internet = \"eth3\"\nto_network = \"eth3\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectOne(diags, "same-interface", 3, 14);  // the to_network value
}

TEST(ConfigRules, BridgeAndSingleInterfaceConflict) {
  const std::string text = "[bridge]\n[single_interface]\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "interface-mode-conflict", text, "[single_interface]");
}

TEST(ConfigRules, NeitherBridgeNorSingleInterface) {
  Diagnostics diags;
  EXPECT_FALSE(parse("version = \"1.5\"\n", diags));
  expectOne(diags, "interface-mode-missing", 0, 0);
}

TEST(ConfigRules, InvalidCidrInIpRanges) {
  const std::string text =
      "[bridge]\n[ip_ranges]\nallow_subnets = [\"10.0.0.0/8\", \"10.1.2.3/8\"]\n"
      "ignore_subnets = [\"300.1.1.0/24\"]\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  auto found = withCategory(diags, "invalid-subnet");
  ASSERT_EQ(found.size(), 2u) << testing::dump(diags);
  testing::TextPos hostBits = testing::locate(text, "\"10.1.2.3/8\"");
  testing::TextPos badOctet = testing::locate(text, "\"300.1.1.0/24\"");
  // Diagnostics come in document order.
  EXPECT_EQ(found[0].value, "\"10.1.2.3/8\"");
  EXPECT_EQ(found[0].where.line, hostBits.line);
  EXPECT_EQ(found[0].where.column, hostBits.column);
  EXPECT_EQ(found[1].value, "\"300.1.1.0/24\"");
  EXPECT_EQ(found[1].where.line, badOctet.line);
  EXPECT_EQ(found[1].where.column, badOctet.column);
}

TEST(ConfigRules, InvalidCidrInFlowsDoNotTrack) {
  const std::string text = "[bridge]\n[flows]\ndo_not_track_subnets = [\"2001:db8::1/32\"]\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-subnet", text, "\"2001:db8::1/32\"");
}

TEST(ConfigRules, UnsupportedVersion) {
  const std::string text = "version = \"1.4\"\n[bridge]\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "unsupported-version", text, "\"1.4\"");
}

TEST(ConfigRules, UnknownSqmTokenIsNamed) {
  const std::string text = "[bridge]\n[queues]\ndefault_sqm = \"cake diffserv4 turbo\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "invalid-sqm", text, "\"cake");
  EXPECT_NE(d.message.find("'turbo'"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("queues.default_sqm"), std::string::npos) << d.message;
}

TEST(ConfigRules, EmptyDefaultSqmIsInvalid) {
  const std::string text = "[bridge]\n[queues]\ndefault_sqm = \"  \"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-sqm", text, "\"  \"");
}

TEST(ConfigRules, OutOfRangeIntegerForItsRustType) {
  const std::string text = "[bridge]\n[flows]\nnetflow_port = 70000\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "out-of-range", text, "70000");
  EXPECT_NE(d.message.find("<= 65535"), std::string::npos) << d.message;
}

TEST(ConfigRules, StormguardMultiplierRange) {
  const std::string text = "[bridge]\n[stormguard]\nincrease_multiplier = 0.9\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "out-of-range", text, "0.9");
  EXPECT_NE(d.message.find("> 1"), std::string::npos) << d.message;
}

TEST(ConfigRules, StormguardEnabledNeedsTargets) {
  const std::string text = "[bridge]\n[stormguard]\nenabled = true\ntargets = []\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "stormguard-no-targets", text, "[]");
}

TEST(ConfigRules, StormguardAllSitesNeedsNoTargets) {
  Diagnostics diags;
  EXPECT_TRUE(parse("[bridge]\n[stormguard]\nenabled = true\nall_sites = true\n", diags))
      << testing::dump(diags);
}

TEST(ConfigRules, StormguardFallbackSqm) {
  const std::string text =
      "[bridge]\n[stormguard]\ncircuit_fallback_enabled = true\n"
      "circuit_fallback_sqm = \"pfifo\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-value", text, "\"pfifo\"");
}

TEST(ConfigRules, StormguardActivePingTargetIsAnAddress) {
  const std::string text =
      "[bridge]\n[stormguard]\nenabled = true\nall_sites = true\n"
      "strategy = \"delay_probe_active\"\nactive_ping_target = \"one.one.one.one\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-value", text, "\"one.one.one.one\"");
  Diagnostics ok;
  EXPECT_TRUE(parse("[bridge]\n[stormguard]\nenabled = true\nall_sites = true\n"
                    "strategy = \"delay_probe_active\"\nactive_ping_target = \"2001:db8::1\"\n",
                    ok));
}

TEST(ConfigRules, WebserverListenNeedsPort) {
  const std::string text = "[bridge]\n[sluice]\nwebserver_listen = \"127.0.0.1\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-listen-address", text, "\"127.0.0.1\"");
}

TEST(ConfigRules, SluicePathMustNotBeEmpty) {
  const std::string text = "[bridge]\n[sluice]\nstate_directory = \"\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  expectAt(diags, "invalid-value", text, "\"\"");
}

TEST(ConfigRules, LeafFallbackMustBeValidSqm) {
  const std::string text = "[bridge]\n[sluice]\nleaf_fallback = \"sfq\"\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  Diagnostic d = expectAt(diags, "invalid-sqm", text, "\"sfq\"");
  EXPECT_NE(d.message.find("'sfq'"), std::string::npos);
}

TEST(ConfigRules, EveryProblemIsReportedInOnePass) {
  const std::string text =
      "version = \"2\"\n[bridge]\nto_internet = \"this-name-is-far-too-long\"\n"
      "[queues]\nuplink_bandwidth_mbps = -1\nlazy_queues = \"Sometimes\"\nmystery = 1\n"
      "[ip_ranges]\nallow_subnets = [\"not-a-subnet\"]\n";
  Diagnostics diags;
  EXPECT_FALSE(parse(text, diags));
  EXPECT_TRUE(diags.has("unsupported-version"));
  EXPECT_TRUE(diags.has("invalid-interface-name"));
  EXPECT_TRUE(diags.has("invalid-bandwidth"));
  EXPECT_TRUE(diags.has("invalid-value"));
  EXPECT_TRUE(diags.has("invalid-subnet"));
  EXPECT_EQ(diags.errorCount(), 5u) << testing::dump(diags);
  EXPECT_EQ(diags.warningCount(), 1u) << testing::dump(diags);
}

TEST(ConfigRules, UnreadableFileNamesThePath) {
  Diagnostics diags;
  const std::string path = "/nonexistent/sluice/lqos.conf";
  EXPECT_FALSE(loadConfig(path, diags));
  ASSERT_EQ(diags.errorCount(), 1u);
  const Diagnostic& d = diags.all().front();
  EXPECT_EQ(d.category, "file-unreadable");
  EXPECT_EQ(d.where.file, path);
  EXPECT_EQ(d.value, path);
}

}  // namespace
}  // namespace sluice::config
