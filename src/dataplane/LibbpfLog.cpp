#include "dataplane/LibbpfLog.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace sluice::dataplane {
namespace {

// A verifier log runs to megabytes and names the refused instruction at its end: a longer message
// keeps its head and its last kLogTailBytes, with a marker between them.
constexpr size_t kLogHeadBytes = 2048;
constexpr size_t kLogTailBytes = 30'000;

int printToSpdlog(enum libbpf_print_level level, const char* format, va_list args) {
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  if (n <= 0) {
    va_end(again);
    return n;
  }
  std::string line(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(line.data(), line.size(), format, again);
  va_end(again);
  line.resize(static_cast<size_t>(n));
  while (!line.empty() && line.back() == '\n') {
    line.pop_back();
  }
  if (line.rfind("libbpf: ", 0) == 0) {  // most libbpf messages carry their own prefix
    line.erase(0, 8);
  }
  if (line.size() > kLogHeadBytes + kLogTailBytes) {
    const size_t cut = line.size() - kLogHeadBytes - kLogTailBytes;
    line = fmt::format("{}\n[... {} bytes of the log left out ...]\n{}",
                       line.substr(0, kLogHeadBytes), cut, line.substr(line.size() - kLogTailBytes));
  }
  switch (level) {
    case LIBBPF_WARN:
      spdlog::warn("libbpf: {}", line);
      break;
    case LIBBPF_INFO:
      spdlog::info("libbpf: {}", line);
      break;
    default:
      spdlog::debug("libbpf: {}", line);
      break;
  }
  return n;
}

}  // namespace

void routeLibbpfLogToSpdlog() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(printToSpdlog); });
}

}  // namespace sluice::dataplane
