// sluice top: a live terminal view of sluiced over its control socket: top circuits by
// throughput, RTT or retransmits, the node tree with utilisation, per-CPU load. Data and layout
// are src/top/ (unit-tested); the curses loop is TopScreen.cpp; this file holds the options and
// the three API calls of one refresh (GET /api/top, /api/tree, /api/summary; docs/api.md).

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "api/ControlClient.h"
#include "api/SocketPath.h"
#include "cli/Commands.h"
#include "cli/TopScreen.h"
#include "top/TopLayout.h"
#include "top/TopModel.h"

namespace sluice::cli {

namespace {

struct TopOptions {
  std::string socket{api::kDefaultSocketPath};
  double intervalSeconds = 1;
  std::string sort = "throughput";
  int rows = 50;  ///< circuits asked of /api/top (more than a screen holds: a tall terminal)
  bool once = false;
  int width = 80;
  int height = 24;
};

Result<nlohmann::json> get(const std::string& socket, const std::string& target) {
  auto response = api::request(socket, "GET", target, nullptr, std::chrono::seconds(5));
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status != 200) {
    return makeError(0, fmt::format("GET {}: HTTP {}", target, response->status),
                     response->body.dump());
  }
  return response->body;
}

Result<top::Snapshot> fetch(const TopOptions& options, top::SortKey sort) {
  top::Snapshot snapshot;
  snapshot.sortedBy = sort;
  auto topAnswer = get(options.socket,
                       fmt::format("/api/top?metric={}&n={}", top::metricName(sort), options.rows));
  if (!topAnswer) {
    return std::unexpected(topAnswer.error());
  }
  auto tree = get(options.socket, "/api/tree");
  if (!tree) {
    return std::unexpected(tree.error());
  }
  auto summary = get(options.socket, "/api/summary");
  if (!summary) {
    return std::unexpected(summary.error());
  }
  snapshot.circuits = top::parseTop(*topAnswer);
  snapshot.nodes = top::parseTree(*tree);
  top::parseSummary(*summary, snapshot);
  return snapshot;
}

top::SortKey sortKey(const std::string& name) {
  return name == "rtt"           ? top::SortKey::Rtt
         : name == "retransmits" ? top::SortKey::Retransmits
                                 : top::SortKey::Throughput;
}

void run(const TopOptions& options) {
  top::ViewState view;
  view.sort = sortKey(options.sort);
  view.source = options.socket;
  if (options.once) {
    auto snapshot = fetch(options, view.sort);
    if (!snapshot) {
      fmt::print(stderr, "sluice top: {}\n", snapshot.error().message());
      setExitCode(1);
      return;
    }
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    view.clock = fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
    for (const std::string& line :
         top::renderFrame(*snapshot, view, options.width, options.height)) {
      fmt::print("{}\n", line);
    }
    setExitCode(0);
    return;
  }
  const auto interval =
      std::chrono::milliseconds(static_cast<int64_t>(options.intervalSeconds * 1000));
  setExitCode(
      runTopScreen([&options](top::SortKey sort) { return fetch(options, sort); }, view, interval));
}

}  // namespace

void addTopCommand(CLI::App& app) {
  auto options = std::make_shared<TopOptions>();
  CLI::App* cmd = app.add_subcommand(
      "top", "Live view: top circuits, node tree, per-CPU load (" + top::keyHelp() + ")");
  cmd->add_option("--socket", options->socket,
                  "sluiced's control socket (the lab's: "
                  "/run/sluice-lab/sluiced.sock)")
      ->capture_default_str();
  cmd->add_option("--interval", options->intervalSeconds, "Seconds between refreshes")
      ->check(CLI::Range(0.2, 60.0))
      ->capture_default_str();
  cmd->add_option("--sort", options->sort, "Initial order of the circuit table")
      ->check(CLI::IsMember({"throughput", "rtt", "retransmits"}))
      ->capture_default_str();
  cmd->add_flag("--once", options->once,
                "Print one frame as text and exit (no terminal needed; for scripts)");
  cmd->add_option("--width", options->width, "Columns of the --once frame")
      ->check(CLI::Range(20, 1000))
      ->capture_default_str();
  cmd->add_option("--height", options->height, "Lines of the --once frame")
      ->check(CLI::Range(5, 1000))
      ->capture_default_str();
  cmd->callback([options] { run(*options); });
}

}  // namespace sluice::cli
