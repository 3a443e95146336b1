#include "top/TopLayout.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sluice::top {

namespace {

// Column widths (characters) of the two tables; the name column takes what is left.
constexpr size_t kParentW = 10, kRateW = 7, kCeilW = 11, kMsW = 6, kPctW = 5, kCountW = 5;
constexpr size_t kCircuitFixed = kParentW + 2 * kRateW + kCeilW + kMsW + kPctW + 6;
constexpr size_t kNodeFixed = 2 * kRateW + kCeilW + 2 * kPctW + kCountW + kMsW + 7;
constexpr size_t kMinNameW = 8;

bool isContinuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

std::string right(const std::string& text, size_t width) {
  return text.size() >= width ? text.substr(0, width)
                              : std::string(width - text.size(), ' ') + text;
}

std::string ceilText(double down, double up) {
  auto mbps = [](double v) {
    return v == std::floor(v) ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v);
  };
  return mbps(down) + "/" + mbps(up);
}

std::string circuitRow(const CircuitLine& c, size_t nameW) {
  const std::string label = c.name.empty() || c.name == c.id ? c.id : c.id + " " + c.name;
  return fitColumn(label, nameW) + " " + fitColumn(c.parent, kParentW) + " " +
         right(formatMbps(c.downBps), kRateW) + " " + right(formatMbps(c.upBps), kRateW) + " " +
         right(ceilText(c.maxDownMbps, c.maxUpMbps), kCeilW) + " " +
         right(formatMs(c.rttP50Ms), kMsW) + " " +
         right(fmt::format("{:.2f}", c.retransmitPct), kPctW);
}

std::string circuitHeader(size_t nameW) {
  return fitColumn("Circuit", nameW) + " " + fitColumn("Parent", kParentW) + " " +
         right("Down", kRateW) + " " + right("Up", kRateW) + " " + right("Ceil d/u", kCeilW) + " " +
         right("RTT ms", kMsW) + " " + right("Retx%", kPctW);
}

std::string nodeRow(const NodeLine& n, size_t nameW) {
  const std::string indented =
      std::string(static_cast<size_t>(std::min(n.depth, 8)) * 2, ' ') + n.name;
  return fitColumn(indented, nameW) + " " + right(formatMbps(n.downBps), kRateW) + " " +
         right(formatMbps(n.upBps), kRateW) + " " +
         right(ceilText(n.maxDownMbps, n.maxUpMbps), kCeilW) + " " +
         right(formatPercent(n.utilizationDown), kPctW) + " " +
         right(formatPercent(n.utilizationUp), kPctW) + " " +
         right(std::to_string(n.circuits), kCountW) + " " + right(formatMs(n.rttP50Ms), kMsW);
}

std::string nodeHeader(size_t nameW) {
  return fitColumn("Node", nameW) + " " + right("Down", kRateW) + " " + right("Up", kRateW) + " " +
         right("Max d/u", kCeilW) + " " + right("Use d", kPctW) + " " + right("Use u", kPctW) +
         " " + right("Circ", kCountW) + " " + right("RTT ms", kMsW);
}

/// "q0@cpu0 12%" entries packed into lines of `width`, at most `maxLines` (the last one ends in
/// "..." when some did not fit).
std::vector<std::string> cpuLines(const std::vector<CpuLine>& cpus, size_t width, size_t maxLines) {
  std::vector<std::string> lines;
  std::string line = "CPU";
  if (cpus.empty()) {
    return {line + " no shaping queues reported"};
  }
  for (size_t i = 0; i < cpus.size(); ++i) {
    const std::string entry =
        fmt::format("  q{}@cpu{} {:.0f}%", cpus[i].queue, cpus[i].cpu, cpus[i].cpuPct);
    if (line.size() + entry.size() > width) {
      if (lines.size() + 1 == maxLines) {
        line = line.substr(0, std::min(line.size(), width - std::min<size_t>(width, 4))) + " ...";
        break;
      }
      lines.push_back(line);
      line = "   ";
    }
    line += entry;
  }
  lines.push_back(line);
  return lines;
}

std::string title(const Snapshot& s, const ViewState& view) {
  std::string out = fmt::format(
      "sluice top  {}  down {}  up {} Mbit/s  RTT p50 {} ms  retx {:.2f}%", view.clock,
      formatMbps(s.downBps), formatMbps(s.upBps), formatMs(s.rttP50Ms), s.retransmitPct);
  if (!view.source.empty()) {
    out += "  " + view.source;
  }
  return out;
}

}  // namespace

std::string keyHelp() {
  return "keys: q quit | sort: t throughput, r RTT, x retransmits | p pause";
}

std::string formatMbps(double bps) {
  if (std::isnan(bps)) {
    return "-";
  }
  const double mbps = bps / 1e6;
  if (mbps < 10) {
    return fmt::format("{:.2f}", mbps);
  }
  return mbps < 100 ? fmt::format("{:.1f}", mbps) : fmt::format("{:.0f}", mbps);
}

std::string formatPercent(double ratio) {
  return std::isnan(ratio) ? "-" : fmt::format("{:.0f}%", ratio * 100);
}

std::string formatMs(double ms) {
  if (std::isnan(ms)) {
    return "-";
  }
  return ms < 100 ? fmt::format("{:.1f}", ms) : fmt::format("{:.0f}", ms);
}

std::string fitColumn(const std::string& text, size_t width) {
  size_t columns = 0;
  size_t cut = 0;  // byte offset after the last code point that fits in width - 1 columns
  for (size_t i = 0; i < text.size(); ++i) {
    if (isContinuation(static_cast<unsigned char>(text[i]))) {
      continue;
    }
    if (columns + 1 == width) {
      cut = i;
    }
    ++columns;
  }
  if (columns <= width) {
    return text + std::string(width - columns, ' ');
  }
  return width == 0 ? std::string() : text.substr(0, cut) + "~";
}

std::vector<std::string> renderFrame(const Snapshot& snapshot, const ViewState& view, int width,
                                     int height) {
  if (width < 1 || height < 1) {
    return {};
  }
  const auto w = static_cast<size_t>(width);
  const auto h = static_cast<size_t>(height);
  std::vector<std::string> lines;
  lines.push_back(title(snapshot, view));
  lines.push_back(view.paused
                      ? "paused (p resumes)" + (view.message.empty() ? "" : ": " + view.message)
                      : view.message);
  const std::vector<std::string> cpus = cpuLines(snapshot.cpus, w, h >= 30 ? 3 : 1);
  // title, message, 2 headings, 2 table headers, cpus, keys
  const size_t fixed = 7 + cpus.size();
  const bool tables = w >= 40 && h >= fixed + 2;
  if (tables) {
    const size_t rows = h - fixed;
    size_t circuitRows = std::min(snapshot.circuits.size(), std::max<size_t>(1, rows * 55 / 100));
    const size_t nodeRows = std::min(snapshot.nodes.size(), rows - circuitRows);
    circuitRows = std::min(snapshot.circuits.size(), rows - nodeRows);
    const size_t circuitNameW = std::max(kMinNameW, w > kCircuitFixed ? w - kCircuitFixed : 0);
    const size_t nodeNameW = std::max(kMinNameW, w > kNodeFixed ? w - kNodeFixed : 0);
    lines.push_back(fmt::format("Circuits by {} (rates in Mbit/s; {} shown)", metricName(view.sort),
                                snapshot.circuits.size()));
    lines.push_back(circuitHeader(circuitNameW));
    for (size_t i = 0; i < circuitRows; ++i) {
      lines.push_back(circuitRow(snapshot.circuits[i], circuitNameW));
    }
    if (snapshot.circuits.empty()) {
      lines.push_back(view.sort == SortKey::Throughput
                          ? "  (no circuit carries traffic)"
                          : fmt::format("  (no circuit has {} samples)", metricName(view.sort)));
    }
    lines.push_back(fmt::format("Node tree (utilisation of max; {} nodes)", snapshot.nodes.size()));
    lines.push_back(nodeHeader(nodeNameW));
    for (size_t i = 0; i < nodeRows && lines.size() + cpus.size() + 1 < h; ++i) {
      lines.push_back(nodeRow(snapshot.nodes[i], nodeNameW));
    }
    while (lines.size() + cpus.size() + 1 < h) {
      lines.emplace_back();
    }
    lines.resize(h - cpus.size() - 1);
    lines.insert(lines.end(), cpus.begin(), cpus.end());
  }
  lines.resize(h - 1);
  lines.push_back(keyHelp());
  for (std::string& line : lines) {
    // Names may hold UTF-8: cut by columns, not bytes; trailing spaces are not needed.
    size_t columns = 0;
    for (char c : line) {
      columns += isContinuation(static_cast<unsigned char>(c)) ? 0 : 1;
    }
    if (columns > w) {
      line = fitColumn(line, w);
    }
  }
  return lines;
}

}  // namespace sluice::top
