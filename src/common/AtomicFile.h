#pragma once
// Replacing a file so that a reader (or a crash) sees the old contents or the new, never a part:
// a temporary file in the same directory, written, synced, renamed over the target (rename(2) is
// atomic within a filesystem), then the directory synced so the rename itself survives a power
// loss. The state directory, the users file and the devices overrides file are written this way.

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "common/Error.h"

namespace sluice {

struct AtomicWriteOptions {
  mode_t mode = 0644;          ///< permissions of the new file (applied with fchmod, not umask)
  bool keepExistingMode = false;  ///< if the target exists, take its permissions instead
  bool sync = true;            ///< fsync the file and its directory (false: rename only)
};

/// Replaces `path` with what `fill(fd)` writes to a fresh temporary file ".NAME.XXXXXX" next to
/// it (mkstemp). `fill` returns 0 or an errno. On any failure the temporary file is removed and
/// `path` is as it was. Errors: the errno of the failing step, naming the file and the step
/// ("create a temporary file next to P", "write T", "fsync T", "rename T to P"); the directory
/// must exist.
Result<void> writeFileAtomically(const std::string& path, const std::function<int(int fd)>& fill,
                                 const AtomicWriteOptions& options = {});

/// As above with `text` as the contents.
Result<void> writeFileAtomically(const std::string& path, std::string_view text,
                                 const AtomicWriteOptions& options = {});

/// Writes all of `data` to `fd`, retrying on EINTR and short writes. Returns 0 or the errno.
int writeAll(int fd, const void* data, size_t bytes);

}  // namespace sluice
