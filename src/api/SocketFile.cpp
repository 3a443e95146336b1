#include "api/SocketFile.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace sluice::api {

std::size_t maxSocketPathLength() { return sizeof(sockaddr_un::sun_path) - 1; }

Result<void> createParentDirectories(const std::string& socketPath) {
  const std::filesystem::path parent = std::filesystem::path(socketPath).parent_path();
  std::filesystem::path prefix;
  for (const std::filesystem::path& part : parent) {
    prefix /= part;
    const std::string dir = prefix.string();
    if (::mkdir(dir.c_str(), 0755) == 0) {
      // mkdir's mode is filtered by the umask; the documented mode is 0755.
      if (::chmod(dir.c_str(), 0755) != 0) {
        return makeError(errno, fmt::format("chmod 0755 {}", dir));
      }
      continue;
    }
    if (errno != EEXIST) {
      return makeError(errno, fmt::format("create directory {} for the control socket", dir));
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      return makeError(errno, fmt::format("stat {}", dir));
    }
    if (!S_ISDIR(st.st_mode)) {
      return makeError(ENOTDIR, fmt::format("create directory {} for the control socket", dir));
    }
  }
  return {};
}

Result<void> clearStaleSocket(const std::string& socketPath) {
  if (socketPath.size() > maxSocketPathLength()) {
    return makeError(ENAMETOOLONG, fmt::format("control socket path {}", socketPath),
                     fmt::format("at most {} bytes", maxSocketPathLength()));
  }
  struct stat st {};
  if (::lstat(socketPath.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return {};
    }
    return makeError(errno, fmt::format("stat {}", socketPath));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return makeError(EEXIST, fmt::format("control socket path {}", socketPath),
                     "a file that is not a socket is in the way");
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return makeError(errno, "socket(AF_UNIX)");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int connectErrno = errno;
  ::close(fd);
  if (rc == 0) {
    return makeError(EADDRINUSE, fmt::format("another sluiced is listening on {}", socketPath));
  }
  if (connectErrno != ECONNREFUSED) {
    return makeError(connectErrno, fmt::format("probe existing control socket {}", socketPath));
  }
  if (::unlink(socketPath.c_str()) != 0 && errno != ENOENT) {
    return makeError(errno, fmt::format("remove stale control socket {}", socketPath));
  }
  return {};
}

Result<FileIdentity> fileIdentity(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return makeError(errno, fmt::format("stat {}", path));
  }
  return FileIdentity{st.st_dev, st.st_ino};
}

void removeIfSame(const std::string& path, const FileIdentity& identity) {
  const Result<FileIdentity> now = fileIdentity(path);
  if (now && *now == identity) {
    ::unlink(path.c_str());
  }
}

}  // namespace sluice::api
