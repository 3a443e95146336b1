// The [ha] section of lqos.conf (config/Config.h HaConfig): defaults, both command forms, and
// errors that name the file, line and value.

#include <gtest/gtest.h>

#include "common/Diagnostics.h"
#include "config/ConfigLoader.h"

namespace sluice::config {
namespace {

const std::string kBase = R"(
[bridge]
to_internet = "eth0"
to_network = "eth1"
)";

std::optional<Config> parse(const std::string& ha, Diagnostics& diags) {
  return parseConfig(kBase + ha, "lqos.conf", diags);
}

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const Diagnostic& d : diags.all()) {
    out += d.toString() + "\n";
  }
  return out;
}

TEST(HaConfig, DefaultsWithoutTheSection) {
  Diagnostics diags;
  auto config = parse("", diags);
  ASSERT_TRUE(config) << dump(diags);
  EXPECT_EQ(config->ha.failMode, FailMode::Open);
  EXPECT_TRUE(config->ha.drainCommand.empty());
  EXPECT_EQ(config->ha.holdDownSeconds, 30u);
  EXPECT_EQ(config->ha.hookTimeoutSeconds, 10u);
  EXPECT_EQ(config->ha.maxInputAgeSeconds, 0u);
}

TEST(HaConfig, OneArgvOrSeveral) {
  Diagnostics diags;
  auto config = parse(R"(
[ha]
role = "primary"
fail_mode = "closed"
drain_command = ["/usr/local/sbin/ospf-cost", "65535"]
restore_command = [["vtysh", "-c", "configure terminal"], ["logger", "restored"]]
hook_timeout_seconds = 5
hold_down_seconds = 12
max_input_age_seconds = 3600
peer = "https://shaper-b:9123"
)",
                      diags);
  ASSERT_TRUE(config) << dump(diags);
  EXPECT_FALSE(diags.hasErrors()) << dump(diags);
  EXPECT_EQ(config->ha.role, "primary");
  EXPECT_EQ(config->ha.failMode, FailMode::Closed);
  ASSERT_EQ(config->ha.drainCommand.size(), 1u);
  EXPECT_EQ(config->ha.drainCommand[0],
            (std::vector<std::string>{"/usr/local/sbin/ospf-cost", "65535"}));
  ASSERT_EQ(config->ha.restoreCommand.size(), 2u);
  EXPECT_EQ(config->ha.restoreCommand[1], (std::vector<std::string>{"logger", "restored"}));
  EXPECT_EQ(config->ha.hookTimeoutSeconds, 5u);
  EXPECT_EQ(config->ha.holdDownSeconds, 12u);
  EXPECT_EQ(config->ha.maxInputAgeSeconds, 3600u);
  EXPECT_EQ(config->ha.peer, "https://shaper-b:9123");
}

TEST(HaConfig, BadCommandsAreErrorsWithTheirLine) {
  for (const std::string bad : {R"(drain_command = [])", R"(drain_command = ["vtysh", 3])",
                                R"(drain_command = [["a"], "b"])", R"(drain_command = [[]])"}) {
    Diagnostics diags;
    (void)parse("[ha]\n" + bad + "\n", diags);
    ASSERT_TRUE(diags.hasErrors()) << bad;
    bool named = false;
    for (const Diagnostic& d : diags.all()) {
      named =
          named || (d.where.line == 6 && d.message.find("ha.drain_command") != std::string::npos);
    }
    EXPECT_TRUE(named) << bad << "\n" << dump(diags);
  }
}

TEST(HaConfig, UnknownKeysAndValuesAreReported) {
  Diagnostics diags;
  (void)parse("[ha]\nfail_mode = \"ajar\"\nhold_down = 3\n", diags);
  const std::string all = dump(diags);
  EXPECT_NE(all.find("ajar"), std::string::npos) << all;
  EXPECT_NE(all.find("hold_down"), std::string::npos) << all;
}

TEST(HaConfig, RestoreWithoutDrainIsRefused) {
  Diagnostics diags;
  (void)parse("[ha]\nrestore_command = [\"true\"]\n", diags);
  EXPECT_NE(dump(diags).find("ha-hook-incomplete"), std::string::npos) << dump(diags);
}

}  // namespace
}  // namespace sluice::config
