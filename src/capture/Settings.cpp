#include "capture/Settings.h"

#include <algorithm>

#include "config/Config.h"
#include "config/OtherSection.h"

namespace sluice::capture {

Result<Settings> settingsFromConfig(const config::Config& config) {
  Settings out;
  out.directory = config.sluice.stateDirectory + "/captures";
  if (config.packetCaptureTimeSeconds > 0) {
    out.defaultSeconds = config.packetCaptureTimeSeconds;
  }
  config::OtherSection section(config, "capture");
  section.read("max_concurrent", out.maxConcurrent);
  section.read("retention_seconds", out.retentionSeconds);
  section.read("max_seconds", out.maxSeconds);
  section.read("default_snaplen", out.defaultSnaplen);
  uint32_t maxFileMbytes = static_cast<uint32_t>(out.maxFileBytes >> 20);
  section.read("max_file_mbytes", maxFileMbytes);
  if (out.maxConcurrent < 1 || out.maxConcurrent > 64) {
    return section.invalid("max_concurrent", "1..64");
  }
  if (out.maxSeconds < 1 || out.maxSeconds > 86400) {
    return section.invalid("max_seconds", "1..86400");
  }
  if (out.defaultSnaplen < kMinSnaplen || out.defaultSnaplen > kMaxSnaplen) {
    return section.invalid("default_snaplen", "64..262144");
  }
  if (maxFileMbytes < 1 || maxFileMbytes > 60) {
    return section.invalid("max_file_mbytes", "1..60");
  }
  out.maxFileBytes = uint64_t{maxFileMbytes} << 20;
  out.defaultSeconds = std::min(out.defaultSeconds, out.maxSeconds);
  return out;
}

}  // namespace sluice::capture
