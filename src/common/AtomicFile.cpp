#include "common/AtomicFile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace sluice {

int writeAll(int fd, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return 0;
}

Result<void> writeFileAtomically(const std::string& path, const std::function<int(int fd)>& fill,
                                 const AtomicWriteOptions& options) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    return makeError(errno, "create a temporary file next to " + path);
  }
  const auto fail = [&](int err, const std::string& step) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return makeError(err, step + " " + tmp);
  };
  mode_t mode = options.mode;
  struct stat st {};
  if (options.keepExistingMode && ::stat(path.c_str(), &st) == 0) {
    mode = st.st_mode & 07777;
  }
  if (::fchmod(fd, mode) != 0) {
    return fail(errno, "chmod");
  }
  if (const int err = fill(fd); err != 0) {
    return fail(err, "write");
  }
  if (options.sync && ::fsync(fd) != 0) {
    return fail(errno, "fsync");
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return makeError(err, "close " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return makeError(err, "rename " + tmp + " to " + path);
  }
  if (options.sync) {
    const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
      ::fsync(dirFd);
      ::close(dirFd);
    }
  }
  return {};
}

Result<void> writeFileAtomically(const std::string& path, std::string_view text,
                                 const AtomicWriteOptions& options) {
  return writeFileAtomically(
      path, [&](int fd) { return writeAll(fd, text.data(), text.size()); }, options);
}

}  // namespace sluice
