#pragma once
// The plan as JSON (`sluice plan --format json`). Field names are stable (version 1); tools and
// tests may rely on them. Handles are tc strings in hex ("7fff:", "1:a"), rates whole bits per
// second, Mbps values as JSON numbers, indices 0-based.
//
// {
//   "format": "sluice-queue-plan", "version": 1,
//   "queueCount": Q, "onAStick": false, "queueCpu": [0, 1, ...],         // queue -> CPU
//   "interfaces": [{                                     // bridge: [to_network, to_internet]
//     "ifname": "eth1",
//     "queues": [{
//       "direction": "download"|"upload", "txQueue": 0, "handle": "1:", "parent": "7fff:1",
//       "r2q": 10, "defaultMinor": 2,
//       "classes": [{                                    // parents before children
//         "classid": "1:3", "parent": "1:1", "role": "link"|"default"|"node"|"circuit",
//         "node": 0 | "circuit": 0,                      // index into "nodes"/"circuits" (if any)
//         "rateBitsPerSecond": N, "ceilBitsPerSecond": N, "quantumBytes": N, "prio": 3,
//         "leaf": null | {"kind": "cake"|"fq_codel"|"pfifo"|"bfifo", "handle": "a:",
//           cake:     "bandwidthBitsPerSecond", "diffserv", "rttUs", "ackFilter", "nat", "wash",
//                     "splitGso", "overheadBytes"?, "mpuBytes"?, "memlimitBytes"?
//           fq_codel: "limitPackets", "flows", "targetUs", "intervalUs", "quantumBytes", "ecn",
//                     "memoryLimitBytes"
//           fifo:     "limit"}
//       }]
//     }]
//   }],
//   "nodes": [{"name", "generated", "virtual", "queue", "downClass": "1:3"|null,
//              "upClass", "downloadMaxMbps", "uploadMaxMbps"}],
//   "circuits": [{"id", "parent": node index, "queue", "downClass", "upClass",
//                 "downloadMinMbps", "uploadMinMbps", "downloadMaxMbps", "uploadMaxMbps"}],
//   "addresses": [{"prefix": "100.64.0.1" | "10.0.0.0/29" | "2001:db8::/64", "circuit", "queue",
//                  "cpu", "downClass", "upClass"}]               // sorted by prefix
// }

#include <string>

#include "planner/QueuePlan.h"

namespace sluice::plan {

/// The plan as JSON text (format above), indented by one space per level, ending in '\n'.
/// Same plan → byte-identical text.
std::string renderPlanJson(const QueuePlan& plan);

}  // namespace sluice::plan
