#pragma once
// The `delay_probe_active` strategy's probe loop: a thread that sends one ICMP echo to
// `active_ping_target` every `active_ping_interval_seconds` (at least 1 s), waits
// `active_ping_timeout_seconds` (at least 0.1 s) for the reply, and keeps the newest RTT; the
// 1 s StormGuard tick blends it into every watched node's passive RTT (blendActive()). The
// intervals, floors and validity window are LibreQoS's (shared/reference §2). A probe that cannot
// open its socket or send reports the error in status() and the strategy runs on the passive RTT
// alone until the settings change.
// Thread-safe.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "stormguard/Engine.h"
#include "stormguard/IcmpProbe.h"
#include "stormguard/Settings.h"

namespace sluice::stormguard {

class ActivePinger {
 public:
  ActivePinger() = default;
  ~ActivePinger();
  ActivePinger(const ActivePinger&) = delete;
  ActivePinger& operator=(const ActivePinger&) = delete;

  /// Follows `settings`: runs the probe loop when StormGuard is enabled with strategy
  /// delay_probe_active, stops it otherwise. A change of target, interval or timeout restarts
  /// the loop (and forgets the last sample); unchanged settings change nothing.
  void configure(const Settings& settings);
  /// Stops the loop (idempotent).
  void stop();

  /// The newest RTT in ms if it is younger than activeSampleValiditySeconds(interval); nullopt
  /// when the loop is off, no reply came yet, or the last reply is too old.
  std::optional<double> latestMs() const;
  /// {"target", "socket": "datagram"|"raw"|null, "interval_s", "sent", "answered", "timeouts",
  ///  "last_rtt_ms"|null, "age_s"|null, "error"} for GET /api/stormguard; null when off.
  nlohmann::json status() const;

 private:
  void loop(std::string target, double intervalSeconds, double timeoutSeconds);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  bool stopping_ = false;
  bool running_ = false;
  std::string target_;
  double intervalSeconds_ = 0;
  double timeoutSeconds_ = 0;
  std::optional<IcmpProbe::Kind> kind_;
  uint64_t sent_ = 0;
  uint64_t answered_ = 0;
  uint64_t timeouts_ = 0;
  std::optional<double> lastMs_;
  double lastAt_ = 0;  ///< steady-clock seconds of the last reply
  std::string error_;
};

/// Blends `activeMs` into the RTT of every node of `signals` (blendRtt with `weight`); a node
/// without a passive RTT takes the active one. Nothing changes when `activeMs` is nullopt.
void blendActive(std::map<std::string, NodeSignals>& signals, std::optional<double> activeMs,
                 double weight);

}  // namespace sluice::stormguard
