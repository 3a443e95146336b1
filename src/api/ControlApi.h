#pragma once
// The local control API of sluiced: JSON over HTTP/1.1 on a Unix socket
// (default /run/sluice/sluiced.sock, mode 0660). The API module knows nothing of business rules:
// the daemon implements ControlHandler; ControlServer routes requests to it; ControlClient is
// what the `sluice` CLI (status, reload, check) and the lab use.
//
// Routes (all bodies application/json):
//   GET  /api/status  -> 200 status object (below)
//   POST /api/reload  -> 200 {"outcome":"applied"|"unchanged", ...} after the reload finished,
//                        422 {"outcome":"refused","errors":[...]} when the inputs are invalid
//                        (the running shaper is unchanged), 500 {"outcome":"failed",...}
//   POST /api/check   -> 200 {"valid":true,...} / 422 {"valid":false,"errors":[...]}: validates
//                        the files the running config names, applies nothing
//   anything else     -> 404 {"error":"..."}; wrong method -> 405
//
// Status object:
//   { "state": "starting"|"ready"|"stopping",
//     "pid": 123, "version": "0.1.0", "config": "/etc/lqos.conf",
//     "mode": "bridge"|"on-a-stick", "queue_mode": "shape"|"observe",
//     "interfaces": [{"name":"eth1","role":"to_network"|"to_internet"|"single",
//                     "tx_queues":8,"xdp_mode":"native"|"generic"}],
//     "queues": 8, "nodes": 12, "circuits": 50, "devices": 70, "addresses": 120,
//     "leaf": {"configured":"cake","active":"pfifo","fallback":true,"reason":"..."},
//     "adopted": false,                       // this start took over a tree left by a kill
//     "notices": ["..."],                     // problems that do not stop shaping
//     "last_reload": {"time":"2026-11-21T14:00:00Z","trigger":"startup"|"sighup"|"api"|
//                     "inotify","outcome":"applied"|"unchanged"|"refused"|"failed",
//                     "duration_ms":12.5,"message":"..."},
//     "refused": null | {"time":"...","errors":["file:line:col: error: ... [category]"],
//                        "diagnostics":[{"file":..,"line":..,"column":..,"category":..,
//                                        "message":..,"value":..,"severity":"error"}]} }

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/Error.h"

namespace sluice::api {

struct Response {
  int status = 200;  ///< HTTP status code
  nlohmann::json body;
};

/// What the daemon offers the API. Called from the API's thread; implementations synchronize.
class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  virtual Response status() = 0;
  virtual Response reload() = 0;
  virtual Response check() = 0;
};

}  // namespace sluice::api
