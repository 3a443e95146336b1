// Sluice's own keys around the sync and the data plane: [sync] checked by the schema, the synced
// modes' default overrides file, [sluice] xdp_metadata, and typed reads of text-kept sections.

#include "ConfigTestUtil.h"
#include "config/OtherSection.h"

namespace sluice::config::testing {
namespace {

constexpr std::string_view kBridge =
    "[bridge]\nto_internet = \"eth0\"\nto_network = \"eth1\"\n"
    "[sluice]\nstate_directory = \"/var/lib/sl\"\n";

std::optional<Config> with(std::string_view more, Diagnostics& diags) {
  return parse(std::string(kBridge) + std::string(more), diags);
}

TEST(SyncKeys, AnUnknownModeIsAnErrorWithItsLocation) {
  Diagnostics diags;
  with("[sync]\nmode = \"sometimes\"\n", diags);
  ASSERT_TRUE(diags.hasErrors());
  EXPECT_NE(dump(diags).find("lqos.conf:7:8"), std::string::npos) << dump(diags);
  EXPECT_NE(dump(diags).find("sometimes"), std::string::npos) << dump(diags);
}

TEST(SyncKeys, SyncedModesDefaultTheOverridesFileIntoTheStateDirectory) {
  Diagnostics diags;
  auto manual = with("", diags);
  ASSERT_TRUE(manual) << dump(diags);
  EXPECT_EQ(manual->sluice.devicesOverrides, "");
  auto uisp = with("[uisp_integration]\nenable_uisp = true\n", diags);
  ASSERT_TRUE(uisp) << dump(diags);
  EXPECT_EQ(enabledIntegration(*uisp), "uisp");
  EXPECT_EQ(uisp->sluice.devicesOverrides, "/var/lib/sl/ShapedDevices.overrides.csv");
  auto custom = with("[sync]\nmode = \"custom\"\ncustom_command = [\"/bin/true\"]\n", diags);
  ASSERT_TRUE(custom) << dump(diags);
  EXPECT_EQ(custom->sluice.devicesOverrides, "/var/lib/sl/ShapedDevices.overrides.csv");
  auto forcedManual = with("[uisp_integration]\nenable_uisp = true\n[sync]\nmode = \"manual\"\n",
                           diags);
  ASSERT_TRUE(forcedManual) << dump(diags);
  EXPECT_EQ(forcedManual->sluice.devicesOverrides, "");
}

TEST(SyncKeys, AnExplicitOverridesFileWins) {
  Diagnostics diags;
  auto c = parse("[bridge]\nto_internet = \"eth0\"\nto_network = \"eth1\"\n"
                 "[sluice]\ndevices_overrides = \"/etc/o.csv\"\n[uisp_integration]\n"
                 "enable_uisp = true\n",
                 diags);
  ASSERT_TRUE(c) << dump(diags);
  EXPECT_EQ(c->sluice.devicesOverrides, "/etc/o.csv");
}

TEST(XdpMetadataKey, OffIsReadAndOtherValuesAreRefused) {
  Diagnostics diags;
  auto off = with("xdp_metadata = \"off\"\n", diags);
  ASSERT_TRUE(off) << dump(diags);
  EXPECT_TRUE(off->sluice.xdpMetadataOff);
  auto defaulted = with("", diags);
  EXPECT_FALSE(defaulted->sluice.xdpMetadataOff);
  Diagnostics bad;
  with("xdp_metadata = \"maybe\"\n", bad);
  EXPECT_TRUE(bad.hasErrors()) << dump(bad);
}

TEST(QueueHolderKey, TbfIsReadAndOtherValuesAreRefused) {
  Diagnostics diags;
  auto tbf = with("queue_holder = \"tbf\"\n", diags);
  ASSERT_TRUE(tbf) << dump(diags);
  EXPECT_TRUE(tbf->sluice.queueHolderTbf);
  auto defaulted = with("", diags);
  EXPECT_FALSE(defaulted->sluice.queueHolderTbf);
  Diagnostics bad;
  with("queue_holder = \"prio\"\n", bad);
  EXPECT_TRUE(bad.hasErrors()) << dump(bad);
}

TEST(OtherSection, TypedReadsKeepDefaultsForAbsentKeys) {
  Diagnostics diags;
  auto c = with("[stormguard]\nenabled = true\ntargets = [\"A\", \"B\"]\n"
                "delay_threshold_ms = 55\n",
                diags);
  ASSERT_TRUE(c) << dump(diags);
  OtherSection s(*c, "stormguard");
  bool enabled = false;
  std::vector<std::string> targets;
  double delay = 40, ratio = 1.1;
  s.read("enabled", enabled);
  s.read("targets", targets);
  s.read("delay_threshold_ms", delay);
  s.read("delay_threshold_ratio", ratio);
  EXPECT_TRUE(enabled);
  EXPECT_EQ(targets, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(delay, 55);  // an integer read as a number
  EXPECT_EQ(ratio, 1.1);  // absent: the default stays
  EXPECT_NE(s.invalid("delay_threshold_ms", "too big").error().detail.find("stormguard."),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::config::testing
