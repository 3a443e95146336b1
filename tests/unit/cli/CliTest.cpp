// `sluice check` and `sluice plan` as an operator runs them: exit codes 0/1/2 and output lines.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using ::testing::HasSubstr;

const std::string kData = std::string(SLUICE_TEST_DATA_DIR) + "/planner/";
const std::string kSmall = "--config " + kData + "small/lqos.conf --network " + kData +
                           "small/network.json --devices " + kData + "small/ShapedDevices.csv";
const std::string kCli = "--config " + kData + "cli/lqos.conf --network " + kData +
                         "small/network.json --devices " + kData + "small/ShapedDevices.csv";

struct CliRun {
  int exitCode = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CliRun run(const std::string& args) {
  const std::string base = ::testing::TempDir() + "sluice-cli-" +
                           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string command =
      std::string(SLUICE_CLI) + " " + args + " >" + base + ".out 2>" + base + ".err";
  const int status = std::system(command.c_str());
  CliRun r;
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

TEST(CliCheck, ValidInputsExitZeroWithCountsAndLoad) {
  const CliRun r = run("check " + kSmall);
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nnodes: 5\ncircuits: 8\ndevices: 9\naddresses: 11\n"));
  EXPECT_THAT(
      r.out, HasSubstr("queues: 2 queue(s) per direction: queues.override_available_queues = 2\n"));
  EXPECT_THAT(r.out, HasSubstr("\nqueue 0 (cpu 0): 5 circuit(s), ceil sum 1304.00 Mbps down / "
                               "76.00 Mbps up\n"));
  EXPECT_THAT(r.out, HasSubstr("[planner-min-squashed]"));
  EXPECT_THAT(r.out, HasSubstr("\nok: 0 error(s), 4 warning(s)\n"));
}

TEST(CliCheck, JsonOutput) {
  const CliRun r = run("check --json " + kSmall);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["counts"]["circuits"], 8);
  EXPECT_EQ(j["counts"]["addresses"], 11);
  EXPECT_EQ(j["queueCount"], 2);
  ASSERT_EQ(j["queues"].size(), 2u);
  EXPECT_EQ(j["queues"][0]["circuits"].get<int>() + j["queues"][1]["circuits"].get<int>(), 8);
  EXPECT_EQ(j["warnings"], 4);
  EXPECT_EQ(j["diagnostics"][0]["severity"], "warning");
}

TEST(CliCheck, InvalidInputsExitOneWithEveryError) {
  const CliRun r = run("check --config " + kData + "cli/lqos.conf --network " + kData +
                       "small/network.json --devices " + kData + "cli/Invalid.csv");
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  // Both rows' problems, each with file:line:column.
  EXPECT_THAT(r.out, HasSubstr(kData + "cli/Invalid.csv:2:"));
  EXPECT_THAT(r.out, HasSubstr(kData + "cli/Invalid.csv:3:"));
  EXPECT_THAT(r.out, HasSubstr("100.64.0.300"));
  EXPECT_THAT(r.out, HasSubstr(": error: "));
  EXPECT_THAT(r.out, HasSubstr("\ninvalid: "));
}

TEST(CliCheck, MissingFileIsAnInputError) {
  const CliRun r = run("check --config " + kData + "does-not-exist.conf");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_THAT(r.out, HasSubstr("does-not-exist.conf"));
}

TEST(CliUsage, UsageErrorsExitTwo) {
  EXPECT_EQ(run("check --no-such-option").exitCode, 2);
  EXPECT_EQ(run("plan --format json").exitCode, 2);  // --config is required
  EXPECT_EQ(run("plan " + kSmall + " --format xml").exitCode, 2);
  EXPECT_EQ(run("plan " + kSmall + " --queues 0").exitCode, 2);
  EXPECT_EQ(run("frobnicate").exitCode, 2);
  EXPECT_EQ(run("").exitCode, 2);
  EXPECT_EQ(run("--help").exitCode, 0);
}

TEST(CliPlan, TcBatchAndJsonMatchTheGoldenPlans) {
  const CliRun tc = run("plan " + kSmall + " --format tc-batch --cpus 8");
  EXPECT_EQ(tc.exitCode, 0) << tc.err;
  EXPECT_EQ(tc.out, slurp(kData + "small/plan.tc"));
  EXPECT_THAT(tc.err, HasSubstr("[planner-circuit-rate-capped]"));  // warnings on stderr
  const CliRun json = run("plan " + kSmall + " --format json --cpus 8");
  EXPECT_EQ(json.exitCode, 0) << json.err;
  EXPECT_EQ(json.out, slurp(kData + "small/plan.json"));
}

TEST(CliPlan, SummaryStatesWhereTheQueueCountCameFrom) {
  CliRun r = run("plan " + kCli + " --queues 6 --cpus 4");
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("queues: 4 queue(s) per direction: min(6 tx queues (--queues), 4 "
                               "CPUs)\n"));
  EXPECT_THAT(r.out, HasSubstr("\ncircuits: 8\n"));
  EXPECT_THAT(r.out, HasSubstr("\nqueue 3 (cpu 3): "));
  r = run("plan " + kCli + " --cpus 3");
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("queues: 3 queue(s) per direction: 3 CPUs (interfaces not in "
                               "sysfs: tx queues taken as 3)\n"));
}

TEST(CliPlan, InvalidInputsExitOneAndPrintNoPlan) {
  const CliRun r = run("plan --format tc-batch --config " + kData + "cli/lqos.conf --network " +
                       kData + "small/network.json --devices " + kData + "cli/Invalid.csv");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("no plan: "));
}

}  // namespace
