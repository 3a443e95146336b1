#pragma once
// `sluice lab qoe CIRCUIT`: latency under load through the whole Sluice pipeline (XDP classifier,
// cpumap, tc classifier, HTB, the circuit's leaf), compared in the same run with the circuit's
// leaf switched to a FIFO — what a subscriber feels with and without Sluice's queue management.
//
// For each leaf (first the one sluiced put there, normally CAKE; then pfifo), four phases:
//
//   idle   ping only
//   down   `flows` TCP downloads (one iperf3 --reverse --parallel) saturating the circuit
//   up     `flows` TCP uploads
//   both   downloads and uploads at once (two iperf3 clients)
//
// The pings go from the isp namespace to the circuit's address (the request crosses the
// download class, the reply the upload class), every `pingIntervalMs`, for `seconds` seconds,
// starting after the load has run 2 s (slow start and queue build-up). Throughput is iperf3's
// receiver side (TCP payload), reported next to the plan's ceil.
//
// The FIFO swap: `tc qdisc replace ... parent CLASS handle T: pfifo` with a handle T unused on the
// device (the kernel refuses to change a qdisc's kind in place under the same handle), and back
// afterwards with the original handle and the plan's leaf options (planner/TcBatch.h
// leafTcOptions) — also when a measurement fails. pfifo's limit is the kernel default (the
// device's txqueuelen, 1000 packets on a veth), as sluiced's `leaf_fallback = "pfifo"` uses it.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "lab/Lab.h"

namespace sluice::lab {

struct QoeOptions {
  std::string circuit;  ///< Circuit ID (a Circuit Name matches when no ID does)
  int seconds = 10;     ///< ping time per phase (the load runs 3 s longer)
  int flows = 4;        ///< TCP flows per direction
  int pingIntervalMs = 100;
  bool compareFifo = true;  ///< false: only the live leaf
};

/// RTT percentiles of one ping run, over the replies received (nearest rank).
struct RttStats {
  size_t sent = 0;
  size_t received = 0;
  double p50Ms = 0;
  double p90Ms = 0;
  double p99Ms = 0;
  double maxMs = 0;
};

struct QoePhase {
  std::string load;  ///< "idle", "down", "up", "both"
  RttStats rtt;
  double downMbps = 0;  ///< TCP payload received (0 when the phase has no download)
  double upMbps = 0;
};

struct QoeLeafRun {
  std::string leaf;  ///< the live leaf's kind during this run ("cake", "fq_codel", "pfifo", ...)
  std::vector<QoePhase> phases;  ///< idle, down, up, both
};

struct QoeReport {
  std::string circuit;
  std::string target;  ///< the circuit address pinged and loaded
  double plannedDownMbps = 0;  ///< the plan's ceil (after fix-ups)
  double plannedUpMbps = 0;
  double payloadShare = 1;  ///< of the ceil that TCP payload can fill (Traffic.h payloadShare)
  int seconds = 0;
  int flows = 0;
  std::vector<QoeLeafRun> runs;  ///< the live leaf first, then pfifo
};

/// Nearest-rank percentiles of the `time=` values of ping's output and its sent count (the
/// icmp_seq values seen plus those never answered: `transmitted` from the summary line). Errors:
/// EPROTO when the output has no summary line.
Result<RttStats> parsePing(const std::string& pingOutput);

/// Nearest-rank percentile `p` (0 < p <= 100) of `sorted` (ascending, non-empty).
double percentile(const std::vector<double>& sorted, double p);

/// Runs the measurement on the lab in `state`. Progress lines go to `log` (may be null).
/// Errors: unknown circuit, a circuit leaf that cannot be found live, tool failures (naming the
/// command and its stderr); the original leaf is restored before returning in every case, and an
/// error restoring it is reported as such.
Result<QoeReport> measureQoe(const LabState& state, const QoeOptions& options, std::FILE* log);

/// A table: leaf, load, RTT p50/p90/p99 (ms), ping loss, down/up Mbit/s and share of the ceil.
std::string renderQoe(const QoeReport& report);

/// {"circuit", "target", "planned_down_mbps", "planned_up_mbps", "payload_share", "seconds",
///  "flows", "runs": [{"leaf", "phases": [{"load", "rtt_ms": {"p50", "p90", "p99", "max"},
///  "pings_sent", "pings_received", "down_mbps", "up_mbps"}]}]}
nlohmann::json toJson(const QoeReport& report);

}  // namespace sluice::lab
