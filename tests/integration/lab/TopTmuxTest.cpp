// `sluice top` in a real terminal: tmux (80x24) runs it against the lab's sluiced while
// `sluice lab traffic` pushes downloads through two circuits; `tmux capture-pane` must show those
// circuits with rates near their ceilings, the node tree, the CPU line and the key bindings; `r`
// re-sorts by RTT; `q` exits with status 0 and leaves the terminal as it was (canonical mode and
// echo back on, the frame gone with the alternate screen). Needs root, tmux and iperf3; hold
// /tmp/sluice-lab.lock while it runs.

#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "LabTestSupport.h"
#include "lab/Lab.h"

namespace sluice::labtest {
namespace {

using std::chrono::seconds;

const std::string kStateDir = "/run/sluice-lab-top-test";
const std::string kSession = "sluice-top-" + std::to_string(::getpid());

std::string pane() {
  return sh("tmux capture-pane -p -t " + kSession).out;
}

/// The Down column (Mbit/s) of circuit `id`'s row in the pane, if shown.
std::optional<double> downOf(const std::string& screen, const std::string& id) {
  std::istringstream lines(screen);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(id + " ", 0) != 0 || line.size() < 52) {
      continue;
    }
    // Columns from the right (top/TopLayout.cpp): Retx% 5, RTT 6, Ceil 11, Up 7, Down 7.
    const std::string down = line.substr(line.size() - 5 - 1 - 6 - 1 - 11 - 1 - 7 - 1 - 7, 7);
    try {
      return std::stod(down);
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

class LabTop : public ::testing::Test {
 protected:
  void SetUp() override {
    skip_ = missingCapability({"tmux"});
    if (!skip_.empty()) {
      GTEST_SKIP() << skip_;
    }
    sluice({"lab", "--state-dir", kStateDir, "down"});
  }
  void TearDown() override {
    if (skip_.empty()) {
      sh("tmux kill-session -t " + kSession + " 2>/dev/null");
      sluice({"lab", "--state-dir", kStateDir, "down"});
    }
  }
  std::string skip_;
};

TEST_F(LabTop, ShowsLiveRatesOfTheLabsCircuitsAndQuitsCleanly) {
  const CommandOutput up = sluice({"lab", "--state-dir", kStateDir, "up", "--config", kDemoConfig,
                                   "--sluiced", kSluiced, "--no-ui"});
  ASSERT_EQ(up.exitCode, 0) << up.out << up.err;
  auto state = lab::loadLabState(kStateDir);
  ASSERT_TRUE(state.has_value());

  // Downloads through 1001 (5 Mbit/s ceil) and 1002 (10 Mbit/s) for 15 s, in the background.
  auto traffic = process::Child::start(
      {kSluice, "lab", "--state-dir", kStateDir, "traffic", "1001", "1002", "--seconds", "15"});
  ASSERT_TRUE(traffic.has_value()) << traffic.error().message();

  // The pane's shell: top, then its exit status and the terminal's modes, then wait.
  const std::string script = kStateDir + "/top-pane.sh";
  {
    std::ofstream out(script);
    out << kSluice << " top --socket " << state->socket << "\n"
        << "echo exit=$?\n"
        << "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | "
           "tr '\\n' ' '\n"
        << "echo\nsleep 120\n";
  }
  const CommandOutput started =
      sh("tmux new-session -d -s " + kSession + " -x 80 -y 24 'sh " + script + "'");
  ASSERT_EQ(started.exitCode, 0) << started.err;

  // Telemetry rates settle a few seconds into the download (slow start, 1 s ticks): sample
  // until both are near their ceilings or 12 s have passed. Loose bounds: the pane shows whole
  // frames at the shaper (headers included) over one second.
  std::string screen;
  std::optional<double> d1001, d1002;
  const auto deadline = std::chrono::steady_clock::now() + seconds(12);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    screen = pane();
    d1001 = downOf(screen, "1001");
    d1002 = downOf(screen, "1002");
    if (d1001 && d1002 && *d1001 > 3.5 && *d1001 < 6.5 && *d1002 > 7 && *d1002 < 12.5) {
      break;
    }
  }
  ASSERT_TRUE(d1001.has_value()) << screen;
  ASSERT_TRUE(d1002.has_value()) << screen;
  EXPECT_NEAR(*d1001, 5.0, 1.5) << screen;
  EXPECT_NEAR(*d1002, 10.0, 2.5) << screen;
  EXPECT_LT(*d1001, *d1002) << "sorted by throughput, the 10 Mbit/s circuit leads\n" << screen;
  EXPECT_LT(screen.find("1002 "), screen.find("1001 ")) << screen;
  EXPECT_NE(screen.find("Circuits by throughput"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Node tree"), std::string::npos) << screen;
  EXPECT_NE(screen.find("\nCPU  q0@cpu"), std::string::npos) << screen;
  EXPECT_NE(screen.find("keys: q quit"), std::string::npos) << screen;

  // r: sorted by RTT (the title changes at once; the rows are the API's).
  sh("tmux send-keys -t " + kSession + " r");
  bool resorted = false;
  for (int i = 0; i < 20 && !resorted; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resorted = pane().find("Circuits by rtt") != std::string::npos;
  }
  EXPECT_TRUE(resorted) << pane();

  // q: exit status 0, the terminal back in canonical mode with echo, the frame gone.
  sh("tmux send-keys -t " + kSession + " q");
  std::string after;
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = pane();
    if (after.find("exit=") != std::string::npos && after.find("echo") != std::string::npos) {
      break;
    }
  }
  EXPECT_NE(after.find("exit=0"), std::string::npos) << after;
  EXPECT_NE(after.find("icanon echo"), std::string::npos) << after;
  EXPECT_EQ(after.find("keys: q quit"), std::string::npos) << "frame left on screen:\n" << after;
  // The traffic child is killed with its Child; lab down stops its iperf3 clients.
}

}  // namespace
}  // namespace sluice::labtest
