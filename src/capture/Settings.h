#pragma once
// `[capture]` in lqos.conf (Sluice's own section; docs/capture.md) and the top-level
// `packet_capture_time` LibreQoS uses for the length of its captures.
//
//   [capture]
//   max_concurrent = 4         # captures running at once; more are refused (1..64)
//   retention_seconds = 600    # a finished capture's file is removed this long after it ended
//   max_seconds = 300          # longest capture a request may ask for
//   default_snaplen = 262144   # bytes kept per packet unless the request says (64..262144)
//   max_file_mbytes = 60       # a capture stops when its file reaches this (1..60 MiB: the API
//                              # returns the file in one response; the CLI reads up to 64 MiB)

#include <cstdint>
#include <string>

#include "common/Error.h"

namespace sluice::config {
struct Config;
}

namespace sluice::capture {

struct Settings {
  std::string directory;  ///< where the files go (the daemon: <state_directory>/captures)
  uint32_t maxConcurrent = 4;
  uint32_t retentionSeconds = 600;
  uint32_t maxSeconds = 300;
  uint32_t defaultSeconds = 10;      ///< packet_capture_time (LibreQoS's default is 10 s too)
  uint32_t defaultSnaplen = 262144;  ///< tcpdump's default: whole packets
  uint64_t maxFileBytes = 60ull << 20;
  uint32_t bufferBytes = 4u << 20;  ///< the capture socket's ring buffer (libpcap's --buffer)
};

inline constexpr uint32_t kMinSnaplen = 64;
inline constexpr uint32_t kMaxSnaplen = 262144;  ///< libpcap's MAXIMUM_SNAPLEN

/// The settings of `config` with `directory` = <state_directory>/captures. Errors: EINVAL naming
/// "lqos.conf: capture.<key> = <value>" and the allowed range when a value is out of range.
Result<Settings> settingsFromConfig(const config::Config& config);

}  // namespace sluice::capture
