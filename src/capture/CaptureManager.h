#pragma once
// Packet captures of one subscriber (a host or every address of a circuit's devices), written
// to pcap files in the daemon's state directory (docs/capture.md). Owns: the capture sessions
// (one libpcap handle and one thread each), their limit, their files and the files' expiry.
// Knows nothing of HTTP or the model: the daemon resolves a circuit to its prefixes and maps
// errors to status codes (daemon/CaptureService.h).
//
// Each capture opens the shaping interface with libpcap (Linux: an AF_PACKET socket), attaches
// the subscriber's filter (Filter.h) in the kernel, and writes classic pcap (microsecond
// timestamps, LINKTYPE_ETHERNET) with the kernel's receive/transmit time in wall-clock (Unix)
// time. Where it listens (CapturePoint) is chosen so that each packet is written once: on a
// bridge the subscriber-facing port in both directions (download after shaping, as it leaves;
// upload before shaping, as it arrives); on a stick the one port, outbound only (download and
// upload both after shaping, each once on its VLAN).
//
// Files are created with mode 0600 by the daemon's user (O_EXCL: never an existing file) in
// `directory` (mode 0700), and removed `retentionSeconds` after the capture ended, when the
// manager stops, and at start (leftovers of an earlier run). Drops are libpcap's pcap_stats:
// ps_drop (the capture socket's ring buffer was full: the kernel's tp_drops) and ps_ifdrop.
//
// Thread-safe: every method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/Settings.h"
#include "common/Error.h"
#include "common/IpNet.h"

namespace sluice::capture {

/// Where captures listen.
struct CapturePoint {
  std::string interface;      ///< bridge: to_network; stick: the single interface
  bool outboundOnly = false;  ///< stick: PCAP_D_OUT (each packet once)
  bool vlanTagged = false;    ///< stick: match behind an 802.1Q tag too
};

/// What to capture.
struct CaptureRequest {
  std::string target;     ///< for people: "circuit 1001" or "address 100.64.0.5"
  std::string circuitId;  ///< "" for an address
  std::vector<IpNet> prefixes;
  uint32_t seconds = 0;  ///< 0 = Settings::defaultSeconds
  uint32_t snaplen = 0;  ///< bytes per packet kept; 0 = Settings::defaultSnaplen
};

enum class CaptureState : uint8_t { Running, Done, Failed };

/// "running" / "done" / "failed".
const char* stateName(CaptureState state);

/// One capture as the API shows it.
struct CaptureStatus {
  std::string id;  ///< 16 lowercase hex digits (64 random bits)
  CaptureState state = CaptureState::Running;
  std::string target;
  std::string circuitId;
  std::string filter;  ///< the pcap-filter expression in the kernel
  std::string interface;
  uint32_t seconds = 0;
  uint32_t snaplen = 0;
  int64_t startedUnixMs = 0;
  int64_t endedUnixMs = 0;      ///< 0 while running
  int64_t expiresUnixMs = 0;    ///< when the file is removed; 0 while running
  uint64_t packets = 0;         ///< written to the file
  uint64_t bytes = 0;           ///< of the file, headers included
  uint64_t kernelDrops = 0;     ///< pcap_stats ps_drop: ring buffer full
  uint64_t interfaceDrops = 0;  ///< pcap_stats ps_ifdrop
  bool truncated = false;       ///< stopped early at Settings::maxFileBytes
  std::string error;            ///< why it failed
  std::string file;             ///< the pcap file's path

  nlohmann::json toJson() const;
};

class CaptureManager {
 public:
  CaptureManager(Settings settings, CapturePoint point);
  ~CaptureManager();  ///< stop()
  CaptureManager(const CaptureManager&) = delete;
  CaptureManager& operator=(const CaptureManager&) = delete;

  /// Creates `settings.directory` (0700; an existing one is chmod'ed to 0700), removes *.pcap
  /// files left in it, and starts the expiry thread. Errors: mkdir/chmod's errno with the path.
  Result<void> start();
  /// Ends running captures (their files are kept until stop removes all), joins every thread and
  /// removes every capture file. Idempotent.
  void stop();

  /// Starts a capture and returns its status (state running). The interface is opened and the
  /// filter attached before this returns, so their problems are this call's errors:
  ///  - EINVAL: no prefixes, seconds outside 1..maxSeconds, snaplen outside 64..262144 (the
  ///    message names the value and the range), or a filter libpcap refuses;
  ///  - EBUSY: maxConcurrent captures are running (the message says how many);
  ///  - ENODEV / EPERM and others: libpcap could not open the interface (its message).
  Result<CaptureStatus> begin(const CaptureRequest& request);

  /// The capture `id`, or nullopt when unknown or expired.
  std::optional<CaptureStatus> status(const std::string& id) const;
  /// Every capture the manager still holds, newest first.
  std::vector<CaptureStatus> list() const;
  /// Number of running captures.
  size_t running() const;

  /// Removes finished captures whose expiry is at or before `nowUnixMs` (the expiry thread calls
  /// it every second; tests call it with a chosen time).
  void expire(int64_t nowUnixMs);

 private:
  struct Session;
  void runSession(const std::shared_ptr<Session>& session);
  void janitor();

  Settings settings_;
  CapturePoint point_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::thread janitor_;
  bool stopping_ = false;
  bool started_ = false;
};

/// Milliseconds since the Unix epoch now.
int64_t unixNowMs();

}  // namespace sluice::capture
