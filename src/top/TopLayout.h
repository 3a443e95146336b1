#pragma once
// `sluice top`'s screen as text: a Snapshot (TopModel.h) laid out into exactly `height` lines of
// at most `width` columns, so the curses front end (src/cli/TopScreen.cpp) only copies lines to
// the terminal and `sluice top --once` prints the same frame. Plain ASCII apart from the names
// the operator gave nodes and circuits; nothing depends on colour or a mouse.
//
// At 80x24 (the smallest terminal it is made for) the frame is:
//   line 0      title: clock, source, network totals (down/up Mbit/s, RTT p50, retransmits)
//   line 1      status: "paused", or the last fetch error (the previous data stays on screen)
//   2 + rows    circuits, sorted by the chosen key (table header, then one row per circuit)
//   2 + rows    the node tree, indented by depth, with utilisation of each direction
//   1+ lines    CPUs: each shaping queue's CPU and its busy percentage
//   last line   key bindings
// Extra height goes to the circuit table first (its share is 55 % of the free rows) and any row
// it cannot use to the tree; extra width goes to the name columns. Below 40x12 the frame still has
// `height` lines but may show only the title, the message and the key line.

#include <string>
#include <vector>

#include "top/TopModel.h"

namespace sluice::top {

/// What the user chose and what the front end wants to say.
struct ViewState {
  SortKey sort = SortKey::Throughput;
  bool paused = false;
  std::string source;   ///< e.g. the socket path, shown in the title
  std::string clock;    ///< e.g. "14:03:07", shown in the title (caller's clock: testable)
  std::string message;  ///< "" or a one-line problem (fetch error), shown on line 1
};

/// The key-binding line (also what --help says): q quit, t/r/x sort, p pause.
std::string keyHelp();

/// bits/s as Mbit/s text: 2 decimals below 10, 1 below 100, none above ("0.00", "9.57",
/// "47.8", "950"). NaN → "-".
std::string formatMbps(double bps);

/// A ratio 0..1 as a whole percentage ("0%", "87%", "100%"); values above 1 are shown as they
/// are ("112%": a node over its rate). NaN → "-".
std::string formatPercent(double ratio);

/// Milliseconds with one decimal below 100, none above; NaN → "-".
std::string formatMs(double ms);

/// `text` cut or padded with spaces to exactly `width` columns, counting UTF-8 code points as one
/// column each and never cutting one in half; a cut name ends in '~'.
std::string fitColumn(const std::string& text, size_t width);

/// The frame: exactly `height` strings of at most `width` columns each (see the file comment).
/// `height` < 1 or `width` < 1 gives an empty vector.
std::vector<std::string> renderFrame(const Snapshot& snapshot, const ViewState& view, int width,
                                     int height);

}  // namespace sluice::top
