#pragma once
// The daemon's side of per-subscriber packet captures (capture/CaptureManager.h): settings from
// lqos.conf ([capture], packet_capture_time), where to listen (the shaping interfaces), a circuit
// resolved to all its devices' addresses, and the routes (docs/api.md, docs/capture.md):
//   POST /api/capture {"circuit": ID | "address": A, "seconds"?, "snaplen"?}
//        → 202 status (+ "download"); 404 unknown circuit, 422 bad input, 429 limit reached,
//          503 captures unavailable
//   GET  /api/capture            → {"captures": [status...], "max_concurrent": n}
//   GET  /api/capture/ID         → running: 202 status; done: 200 the pcap file
//                                  (application/vnd.tcpdump.pcap, X-Sluice-Capture-* headers);
//                                  failed: 500 status; unknown or expired: 404
//   GET  /api/capture/ID/status  → 200 status (also when done)
// OperatorServices owns it; every route is admin-only (captures hold subscribers' payload).

#include <memory>
#include <string>

#include "api/Http.h"
#include "daemon/Shaper.h"

namespace sluice::capture {
class CaptureManager;
}

namespace sluice::daemon {

class CaptureService {
 public:
  /// `shaper` must be started and outlive this object.
  explicit CaptureService(Shaper& shaper);
  ~CaptureService();

  /// Reads the settings of the config in force and starts the manager. Errors (bad [capture]
  /// values, an unusable state directory) leave captures off: the routes answer 503 with them.
  void start();
  /// Ends running captures and removes every capture file. Idempotent.
  void stop();

  api::HttpResponse begin(const api::HttpRequest& req);
  api::HttpResponse list(const api::HttpRequest& req);
  /// `param` is "ID" or "ID/status".
  api::HttpResponse get(const api::HttpRequest& req, const std::string& param);

 private:
  Shaper& shaper_;
  std::unique_ptr<capture::CaptureManager> manager_;
  std::string unavailable_;  ///< why captures are off ("" = on)
  uint32_t maxConcurrent_ = 0;
};

}  // namespace sluice::daemon
