#include "daemon/StateStore.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::daemon {

namespace fs = std::filesystem;

namespace {

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return makeError(errno, "read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename.
Result<void> writeAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return makeError(errno, "create " + tmp);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return makeError(err, "write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return makeError(errno, "fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return makeError(errno, "rename " + tmp + " to " + path);
  }
  return {};
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
    auto bytes = readFile(*from);
    if (!bytes) {
      return std::unexpected(bytes.error());
    }
    if (auto ok = writeAtomically(*to, *bytes); !ok) {
      return ok;
    }
  }
  // The overrides are merged over the devices when loaded, so the copy must be the one that was
  // merged: copied when it exists, removed when it does not (a missing overrides file is empty).
  if (!resolved.overrides.empty() && fs::exists(resolved.overrides)) {
    auto bytes = readFile(resolved.overrides);
    if (!bytes) {
      return std::unexpected(bytes.error());
    }
    if (auto ok = writeAtomically(paths.overrides, *bytes); !ok) {
      return ok;
    }
  } else {
    fs::remove(paths.overrides, ec);
  }
  // The config is kept as written; lastGoodPaths() names the copied network/devices files
  // explicitly, so the config's own [sluice] paths are not used when loading the copies.
  auto config = readFile(resolved.config);
  if (!config) {
    return std::unexpected(config.error());
  }
  return writeAtomically(paths.config, *config);
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
