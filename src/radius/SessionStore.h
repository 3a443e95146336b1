#pragma once
// Sessions saved across a daemon restart: one JSON file (written atomically, common/AtomicFile.h)
//
//   {"version": 1, "saved_unix": 1765000000,
//    "sessions": [{"circuit_id", "nas", "acct_session_id", "nas_identifier"?, "nas_ip"?,
//                  "nas_ipv6"?, "user_name"?, "calling_station_id"?, "nas_port_id"?,
//                  "addresses": ["100.64.0.5/32", ...], "rates"?: {"download_bps",
//                  "upload_bps", "download_burst_bps"?, "upload_burst_bps"?, "source"},
//                  "pending", "pending_detail", "stale", "started_unix", "last_update_unix",
//                  "stale_since_unix"}]}
//
// The session table runs on a monotonic clock, which does not survive a reboot; the file holds
// wall-clock times, converted with the (monotonic, unix) pair of "now" given to each call. A
// session whose TTL ran out while sluiced was down is dropped by the table's next expiry.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "radius/Sessions.h"

namespace sluice::radius {

/// The clocks at one instant: the table's monotonic seconds and Unix seconds.
struct ClockPair {
  int64_t monoSec = 0;
  int64_t unixSec = 0;
};

nlohmann::json sessionsToJson(const std::vector<Session>& sessions, ClockPair now);

/// Errors: EINVAL naming the entry (index and circuit_id) and the field that is missing or
/// unreadable; a bad address or version.
Result<std::vector<Session>> sessionsFromJson(const nlohmann::json& json, ClockPair now);

/// Writes `sessions` to `path` atomically (creating the directory). Errors: the errno of the
/// write, naming the path.
Result<void> saveSessions(const std::string& path, const std::vector<Session>& sessions,
                          ClockPair now);

/// Reads `path`; an absent file is no sessions. Errors: EINVAL with the path for unparsable JSON
/// or a bad entry (sessionsFromJson); the errno of reading.
Result<std::vector<Session>> loadSessions(const std::string& path, ClockPair now);

}  // namespace sluice::radius
