// The routing hook's state machine (ha/RoutingHook.h) with a fake clock and fake commands, and
// the real executor's timeout and error paths with real child processes.

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ha/RoutingHook.h"

namespace sluice::ha {
namespace {

using namespace std::chrono_literals;
using Clock = RoutingHook::Clock;

/// Records every command; fails the next `failures` calls.
struct FakeCommands {
  std::vector<Argv> ran;
  int failures = 0;
  Executor executor() {
    return [this](const Argv& argv, std::chrono::milliseconds) -> Result<void> {
      ran.push_back(argv);
      if (failures > 0) {
        --failures;
        return makeError(0, "fake failure");
      }
      return {};
    };
  }
};

HookOptions options() {
  HookOptions o;
  o.drain = {{"drain-a"}, {"drain-b"}};
  o.restore = {{"restore"}};
  o.holdDown = 30s;
  o.retry = 5s;
  o.startGrace = 60s;
  return o;
}

class Hook : public ::testing::Test {
 protected:
  Clock::time_point t0 = Clock::time_point(1000s);
  FakeCommands commands;
  RoutingHook hook{options(), t0, commands.executor()};
};

TEST_F(Hook, LossOfReadinessDrainsAtOnceRunningEveryCommandInOrder) {
  auto ran = hook.update(true, false, t0);
  EXPECT_FALSE(ran);
  ran = hook.update(false, false, t0 + 1s);
  ASSERT_TRUE(ran);
  EXPECT_EQ(ran->action, HookAction::Drain);
  EXPECT_TRUE(ran->ok);
  EXPECT_EQ(hook.state(), RouteState::Drained);
  ASSERT_EQ(commands.ran.size(), 2u);
  EXPECT_EQ(commands.ran[0], Argv{"drain-a"});
  EXPECT_EQ(commands.ran[1], Argv{"drain-b"});
  // Still unready: nothing more runs.
  EXPECT_FALSE(hook.update(false, false, t0 + 2s));
  EXPECT_EQ(commands.ran.size(), 2u);
}

TEST_F(Hook, RestoreWaitsForAWholeHoldDown) {
  hook.update(false, false, t0);
  ASSERT_EQ(hook.state(), RouteState::Drained);
  EXPECT_FALSE(hook.update(true, false, t0 + 10s));  // ready from t0+10
  EXPECT_FALSE(hook.update(true, false, t0 + 39s));  // 29 s of readiness
  EXPECT_EQ(hook.toJson(t0 + 39s)["restore_in_ms"].get<double>(), 1000.0);
  auto ran = hook.update(true, false, t0 + 40s);
  ASSERT_TRUE(ran);
  EXPECT_EQ(ran->action, HookAction::Restore);
  EXPECT_EQ(hook.state(), RouteState::Preferred);
  EXPECT_EQ(commands.ran.back(), Argv{"restore"});
}

TEST_F(Hook, FlappingReadinessCannotFlapTheRoutes) {
  hook.update(false, false, t0);
  // Ready for 20 s, lost for a second, ready again, many times: no restore, no second drain.
  Clock::time_point t = t0;
  for (int i = 0; i < 10; ++i) {
    for (int s = 0; s < 20; ++s) {
      t += 1s;
      EXPECT_FALSE(hook.update(true, false, t));
    }
    t += 1s;
    EXPECT_FALSE(hook.update(false, false, t));
  }
  EXPECT_EQ(commands.ran.size(), 2u);  // the one drain
  EXPECT_EQ(hook.state(), RouteState::Drained);
  EXPECT_EQ(hook.toJson(t)["drains"].get<int>(), 1);
  EXPECT_EQ(hook.toJson(t)["restores"].get<int>(), 0);
}

TEST_F(Hook, AFailedCommandIsRetriedAfterTheRetryInterval) {
  commands.failures = 1;
  auto ran = hook.update(false, false, t0);
  ASSERT_TRUE(ran);
  EXPECT_FALSE(ran->ok);
  EXPECT_NE(ran->detail.find("fake failure"), std::string::npos);
  EXPECT_EQ(commands.ran.size(), 1u);  // stopped at the first failing command
  EXPECT_EQ(hook.state(), RouteState::Unknown);
  EXPECT_FALSE(hook.update(false, false, t0 + 4s));
  ran = hook.update(false, false, t0 + 5s);
  ASSERT_TRUE(ran);
  EXPECT_TRUE(ran->ok);
  EXPECT_EQ(hook.state(), RouteState::Drained);
  EXPECT_EQ(hook.toJson(t0 + 5s)["failures"].get<int>(), 1);
}

TEST_F(Hook, AStartingDaemonIsGivenItsGrace) {
  // Starting (adopting a pinned data plane after a kill): not ready, but no failover.
  EXPECT_FALSE(hook.update(false, true, t0 + 1s));
  EXPECT_FALSE(hook.update(false, true, t0 + 59s));
  EXPECT_TRUE(commands.ran.empty());
  // A start that takes longer than the grace drains.
  auto ran = hook.update(false, true, t0 + 60s);
  ASSERT_TRUE(ran);
  EXPECT_EQ(ran->action, HookAction::Drain);
}

TEST_F(Hook, AFreshStartThatBecomesReadyRestoresAfterTheHoldDown) {
  EXPECT_FALSE(hook.update(false, true, t0));
  EXPECT_FALSE(hook.update(true, false, t0 + 2s));
  EXPECT_FALSE(hook.update(true, false, t0 + 31s));
  auto ran = hook.update(true, false, t0 + 32s);
  ASSERT_TRUE(ran);
  EXPECT_EQ(ran->action, HookAction::Restore);
  EXPECT_EQ(commands.ran, (std::vector<Argv>{{"restore"}}));
}

TEST_F(Hook, ManualRunIgnoresTheState) {
  const HookRun run = hook.run(HookAction::Drain, t0);
  EXPECT_TRUE(run.ok);
  EXPECT_EQ(hook.state(), RouteState::Drained);
  EXPECT_EQ(hook.toJson(t0)["last"]["action"], "drain");
}

TEST(RoutingHookCommand, ExitStatusAndStderrAreReported) {
  auto ok = runHookCommand({"true"}, 5s);
  EXPECT_TRUE(ok.has_value());
  auto failed = runHookCommand({"sh", "-c", "echo no route >&2; exit 3"}, 5s);
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message().find("exit 3"), std::string::npos);
  EXPECT_NE(failed.error().message().find("no route"), std::string::npos);
  auto missing = runHookCommand({"/nonexistent/sluice-hook"}, 5s);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().errnum, ENOENT);
}

TEST(RoutingHookCommand, ATimeoutKillsTheWholeProcessGroup) {
  // The hook script starts a grandchild that would outlive a kill of the script alone.
  const std::string marker =
      std::filesystem::temp_directory_path() / ("sluice-hook-" + std::to_string(getpid()));
  std::filesystem::remove(marker);
  const auto start = std::chrono::steady_clock::now();
  auto timedOut = runHookCommand({"sh", "-c", "(sleep 1; touch " + marker + ") & sleep 30"}, 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(timedOut.has_value());
  EXPECT_EQ(timedOut.error().errnum, ETIMEDOUT);
  EXPECT_LT(took, 5s);
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the grandchild survived the timeout";
  std::filesystem::remove(marker);
}

TEST(RoutingHookCommand, RealCommandsDriveTheHook) {
  const std::string marker =
      std::filesystem::temp_directory_path() / ("sluice-hook-state-" + std::to_string(getpid()));
  HookOptions o;
  o.drain = {{"sh", "-c", "echo drained > " + marker}};
  o.restore = {{"sh", "-c", "echo preferred > " + marker}};
  o.holdDown = 0s;
  const Clock::time_point t0 = Clock::now();
  RoutingHook hook(o, t0);
  ASSERT_TRUE(hook.update(false, false, t0));
  std::string content;
  std::ifstream(marker) >> content;
  EXPECT_EQ(content, "drained");
  ASSERT_TRUE(hook.update(true, false, t0 + 1s));
  std::ifstream(marker) >> content;
  EXPECT_EQ(content, "preferred");
  std::filesystem::remove(marker);
}

}  // namespace
}  // namespace sluice::ha
