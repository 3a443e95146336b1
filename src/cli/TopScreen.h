#pragma once
// The terminal side of `sluice top`: a curses loop that fetches a snapshot every interval,
// copies the text frame of top/TopLayout.h to the screen and reads keys. Separate from
// TopCommand.cpp (options and fetching) so the curses state stays in one file.

#include <chrono>
#include <functional>

#include "common/Error.h"
#include "top/TopLayout.h"
#include "top/TopModel.h"

namespace sluice::cli {

/// Fetches one snapshot sorted by the given key (TopCommand.cpp: three API calls).
using TopFetch = std::function<Result<top::Snapshot>(top::SortKey)>;

/// Runs the interactive view until the user presses q (or Q, or the terminal sends SIGINT,
/// SIGTERM or SIGHUP) and restores the terminal before returning. Keys: q quit; t, r, x sort by
/// throughput, RTT, retransmits (fetches at once); p pauses and resumes refreshing. A failed
/// fetch keeps the last data on screen with the error on the status line. Returns the exit code:
/// 0 after q or a signal, 1 when the terminal cannot be initialised (message on stderr).
int runTopScreen(const TopFetch& fetch, top::ViewState view, std::chrono::milliseconds interval);

}  // namespace sluice::cli
