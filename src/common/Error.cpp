#include "common/Error.h"

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace sluice {

std::string Error::message() const {
  std::string out = context;
  if (errnum != 0) {
    out += fmt::format("{}{}", out.empty() ? "" : ": ", std::strerror(errnum));
  }
  if (!detail.empty()) {
    out += fmt::format(" ({})", detail);
  }
  const auto file = std::filesystem::path(where.file_name()).filename().string();
  out += fmt::format(" [{}:{}]", file, where.line());
  return out;
}

}  // namespace sluice
