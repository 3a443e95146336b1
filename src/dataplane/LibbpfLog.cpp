#include "dataplane/LibbpfLog.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace sluice::dataplane {
namespace {

int printToSpdlog(enum libbpf_print_level level, const char* format, va_list args) {
  char buffer[2048];
  int n = std::vsnprintf(buffer, sizeof(buffer), format, args);
  if (n <= 0) {
    return n;
  }
  std::string line(buffer);
  while (!line.empty() && line.back() == '\n') {
    line.pop_back();
  }
  if (line.rfind("libbpf: ", 0) == 0) {  // most libbpf messages carry their own prefix
    line.erase(0, 8);
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
