#include "model/FileText.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace sluice::model {

std::optional<std::string> readInputFile(const std::string& path, const char* what,
                                         Diagnostics& diags) {
  const std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    diags.error(SourceLocation{path}, "unreadable-file",
                fmt::format("cannot open {}: {}", what, std::strerror(errno)));
    return std::nullopt;
  }
  std::string bytes;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) {
    bytes.append(buf, n);
  }
  if (std::ferror(file.get())) {
    diags.error(SourceLocation{path}, "unreadable-file",
                fmt::format("cannot read {}: {}", what, std::strerror(errno)));
    return std::nullopt;
  }
  return bytes;
}

}  // namespace sluice::model
