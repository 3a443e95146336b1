#include "telemetry/CpuStat.h"

#include <errno.h>

#include <fstream>
#include <sstream>

namespace sluice::telemetry {

CpuTimes parseCpuTimes(const std::string& text) {
  CpuTimes out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || line[3] < '0' || line[3] > '9') {
      continue;
    }
    std::istringstream fields(line.substr(3));
    uint32_t cpu = 0;
    uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
             steal = 0;
    if (!(fields >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq)) {
      continue;
    }
    fields >> steal;  // absent before Linux 2.6.11
    if (cpu >= 4096) {
      continue;
    }
    if (out.cpus.size() <= cpu) {
      out.cpus.resize(cpu + 1);
    }
    CpuTime& t = out.cpus[cpu];
    t.busy = user + nice + system + irq + softirq + steal;
    t.total = t.busy + idle + iowait;
    t.steal = steal;
    t.present = true;
  }
  return out;
}

Result<CpuTimes> readCpuTimes(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    return makeError(errno, "read " + path);
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parseCpuTimes(ss.str());
}

namespace {

/// 100 × (part(after) − part(before)) / (total(after) − total(before)), or nullopt.
template <typename Part>
std::optional<double> sharePct(const CpuTimes& before, const CpuTimes& after, uint32_t cpu,
                               Part part) {
  if (cpu >= before.cpus.size() || cpu >= after.cpus.size() || !before.cpus[cpu].present ||
      !after.cpus[cpu].present) {
    return std::nullopt;
  }
  const CpuTime& a = before.cpus[cpu];
  const CpuTime& b = after.cpus[cpu];
  if (b.total <= a.total || part(b) < part(a)) {
    return std::nullopt;
  }
  return 100.0 * static_cast<double>(part(b) - part(a)) / static_cast<double>(b.total - a.total);
}

}  // namespace

std::optional<double> cpuBusyPct(const CpuTimes& before, const CpuTimes& after, uint32_t cpu) {
  return sharePct(before, after, cpu, [](const CpuTime& t) { return t.busy; });
}

std::optional<double> cpuStealPct(const CpuTimes& before, const CpuTimes& after, uint32_t cpu) {
  return sharePct(before, after, cpu, [](const CpuTime& t) { return t.steal; });
}

}  // namespace sluice::telemetry
