#pragma once
// Filesystem chores around the control socket, kept apart from the HTTP server: creating its
// directory, telling a stale socket from a live one, and removing only the file a server bound.

#include <sys/types.h>

#include <string>

#include "common/Error.h"

namespace sluice::api {

/// Creates every missing directory above `socketPath` with mode 0755 (regardless of umask);
/// existing ones are left as they are. Errors: ENOTDIR when a component is not a directory, else
/// mkdir's errno; the context names the directory.
Result<void> createParentDirectories(const std::string& socketPath);

/// Makes `socketPath` free to bind. Nothing there: nothing to do. A socket that refuses
/// connections (ECONNREFUSED: its server died): removed. Errors: EADDRINUSE when a server
/// accepts the connection ("another sluiced is listening on <path>"), EEXIST when the file is not
/// a socket, ENAMETOOLONG when the path does not fit sun_path, else the probe's errno.
Result<void> clearStaleSocket(const std::string& socketPath);

/// Identifies one file (device and inode), to tell our socket from a successor's at the same path.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

/// The identity of the file at `path` (not following a symlink). Errors: lstat's errno.
Result<FileIdentity> fileIdentity(const std::string& path);

/// Removes `path` if it is still the file `identity` names; otherwise (gone, or replaced by
/// another server's socket) leaves it. Never fails: a stale leftover is removed by the next start.
void removeIfSame(const std::string& path, const FileIdentity& identity);

/// Largest path length (bytes) a Unix socket address holds.
std::size_t maxSocketPathLength();

}  // namespace sluice::api
