#include "cli/TopScreen.h"

#include <curses.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace sluice::cli {

namespace {

volatile std::sig_atomic_t gStop = 0;

void onSignal(int) {
  gStop = 1;
}

std::string clockText() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", &local);
  return text;
}

/// initscr() and the modes `top` needs; endwin() when it goes out of scope, whatever happens.
class Curses {
 public:
  Curses() {
    std::setlocale(LC_ALL, "");  // UTF-8 names through ncursesw
    // newterm instead of initscr: initscr exits the process when the terminal is unknown.
    screen_ = newterm(nullptr, stdout, stdin);
    if (screen_ == nullptr) {
      return;
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    timeout(100);  // getch waits at most 100 ms, so the loop also sees the clock and signals
  }
  ~Curses() {
    if (screen_ != nullptr) {
      endwin();
      delscreen(screen_);
    }
  }
  Curses(const Curses&) = delete;
  Curses& operator=(const Curses&) = delete;
  bool ok() const { return screen_ != nullptr; }

 private:
  SCREEN* screen_ = nullptr;
};

void draw(const top::Snapshot& snapshot, const top::ViewState& view) {
  int height = 0;
  int width = 0;
  getmaxyx(stdscr, height, width);
  const std::vector<std::string> frame = top::renderFrame(snapshot, view, width, height);
  erase();
  for (size_t row = 0; row < frame.size(); ++row) {
    // The last cell of the last line would scroll the screen: leave it empty.
    // (The frame's lines fit the width in columns; -1 writes a whole line, UTF-8 included.)
    const bool last = static_cast<int>(row) + 1 == height;
    mvaddnstr(static_cast<int>(row), 0, frame[row].c_str(),
              last ? std::min(width - 1, static_cast<int>(frame[row].size())) : -1);
  }
  if (!frame.empty()) {  // the key line in reverse video marks it as the bindings bar
    mvchgat(height - 1, 0, static_cast<int>(frame.back().size()), A_REVERSE, 0, nullptr);
  }
  refresh();
}

}  // namespace

int runTopScreen(const TopFetch& fetch, top::ViewState view, std::chrono::milliseconds interval) {
  if (::isatty(STDOUT_FILENO) == 0 || ::isatty(STDIN_FILENO) == 0) {
    fmt::print(stderr, "sluice top: needs a terminal (use --once for one frame as text)\n");
    return 1;
  }
  gStop = 0;
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
    sigaction(signal, &action, nullptr);
  }
  Curses curses;
  if (!curses.ok()) {
    fmt::print(stderr, "sluice top: cannot use the terminal (TERM={})\n",
               std::getenv("TERM") == nullptr ? "" : std::getenv("TERM"));
    return 1;
  }
  top::Snapshot snapshot;
  auto nextFetch = std::chrono::steady_clock::now();
  bool fetchNow = true;
  while (gStop == 0) {
    const auto now = std::chrono::steady_clock::now();
    if (fetchNow || (!view.paused && now >= nextFetch)) {
      fetchNow = false;
      auto fetched = fetch(view.sort);
      if (fetched) {
        snapshot = std::move(*fetched);
        view.message.clear();
      } else {
        view.message = fetched.error().message();
      }
      nextFetch = now + interval;
    }
    view.clock = clockText();
    draw(snapshot, view);
    const int key = getch();
    switch (key) {
      case 'q':
      case 'Q':
        gStop = 1;
        break;
      case 't':
      case 'r':
      case 'x': {
        const top::SortKey wanted = key == 't'   ? top::SortKey::Throughput
                                    : key == 'r' ? top::SortKey::Rtt
                                                 : top::SortKey::Retransmits;
        if (wanted != view.sort) {
          view.sort = wanted;
          fetchNow = true;  // at once, also while paused: the old order must not stay
        }
        break;
      }
      case 'p':
      case ' ':
        view.paused = !view.paused;
        break;
      default:
        break;
    }
  }
  return 0;
}

}  // namespace sluice::cli
