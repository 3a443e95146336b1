#include "daemon/StateStore.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "common/AtomicFile.h"

namespace sluice::daemon {

namespace fs = std::filesystem;

namespace {

/// Copies `from` to `to` atomically (common/AtomicFile.h) through a 1 MiB buffer: a 100k-circuit
/// ShapedDevices.csv is ~30 MB, which reading it whole held twice at start-up.
Result<void> copyAtomically(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    return makeError(errno, "read " + from);
  }
  std::vector<char> buffer(1 << 20);
  int readErr = 0;
  auto copied = writeFileAtomically(
      to,
      [&](int out) {
        for (;;) {
          const ssize_t n = ::read(in, buffer.data(), buffer.size());
          if (n < 0 && errno == EINTR) {
            continue;
          }
          if (n < 0) {
            readErr = errno;
            return readErr;
          }
          if (n == 0) {
            return 0;
          }
          if (const int err = writeAll(out, buffer.data(), static_cast<size_t>(n)); err != 0) {
            return err;
          }
        }
      },
      {.mode = 0640});
  ::close(in);
  if (!copied && readErr != 0) {
    return makeError(readErr, "read " + from);
  }
  return copied;
}

}  // namespace

Result<void> StateStore::saveLastGood(const model::InputPaths& resolved) const {
  const auto paths = lastGoodPaths();
  std::error_code ec;
  fs::create_directories(fs::path(paths.config).parent_path(), ec);
  if (ec) {
    return makeError(ec.value(), "create state directory " + dir_);
  }
  const std::pair<const std::string*, const std::string*> copies[] = {
      {&resolved.network, &paths.network}, {&resolved.devices, &paths.devices}};
  for (const auto& [from, to] : copies) {
    if (auto ok = copyAtomically(*from, *to); !ok) {
      return ok;
    }
  }
  // The overrides are merged over the devices when loaded, so the copy must be the one that was
  // merged: copied when it exists, removed when it does not (a missing overrides file is empty).
  if (!resolved.overrides.empty() && fs::exists(resolved.overrides)) {
    if (auto ok = copyAtomically(resolved.overrides, paths.overrides); !ok) {
      return ok;
    }
  } else {
    fs::remove(paths.overrides, ec);
  }
  // The config is kept as written; lastGoodPaths() names the copied network/devices files
  // explicitly, so the config's own [sluice] paths are not used when loading the copies.
  return copyAtomically(resolved.config, paths.config);
}

bool StateStore::hasLastGood() const {
  const auto paths = lastGoodPaths();
  return fs::exists(paths.config) && fs::exists(paths.network) && fs::exists(paths.devices);
}

model::InputPaths StateStore::lastGoodPaths() const {
  const fs::path base = fs::path(dir_) / "last-good";
  return model::InputPaths{(base / "lqos.conf").string(), (base / "network.json").string(),
                           (base / "ShapedDevices.csv").string(),
                           (base / "devices-overrides.csv").string()};
}

}  // namespace sluice::daemon
