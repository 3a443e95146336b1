#pragma once
// `sluice lab traffic`: real TCP through the shaper, one iperf3 client per circuit and direction
// in the subs namespace (bound to one of the circuit's addresses) against the servers in the isp
// namespace, compared with the plan's ceilings.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "lab/Lab.h"
#include "planner/Pipeline.h"

namespace sluice::lab {

enum class AddressFamily : uint8_t { Auto, V4, V6 };

struct TrafficOptions {
  std::vector<std::string> circuits;  ///< Circuit IDs (a Circuit Name matches when no ID does)
  int seconds = 10;                   ///< per direction; the first second is omitted (slow start)
  /// Within tolerance: |measured - target| <= target * tolerance / 100, where target is the ceil
  /// times payloadShare() (iperf3 measures TCP payload, HTB counts whole frames).
  double tolerancePercent = 10;
  AddressFamily family = AddressFamily::Auto;  ///< Auto: IPv4 when the circuit has one
};

struct CircuitMeasurement {
  std::string circuit;        ///< Circuit ID
  std::string source;         ///< the subscriber address the test ran from
  double plannedDownMbps = 0;  ///< the plan's ceil (after fix-ups such as the parent cap)
  double plannedUpMbps = 0;
  double measuredDownMbps = 0;  ///< iperf3 receiver side, TCP payload
  double measuredUpMbps = 0;
  bool withinTolerance = false;
};

/// Where one circuit's test runs from and what the plan says about it.
struct TrafficTarget {
  std::string circuit;
  IpNet source;
  double plannedDownMbps = 0;
  double plannedUpMbps = 0;
};

/// The share of a full-size frame (1514 bytes on a 1500-byte MTU, TCP with timestamps) that is
/// TCP payload: 0.956 for IPv4, 0.943 for IPv6. A TCP download through a class with ceil C
/// Mbit/s can deliver at most C * payloadShare() Mbit/s of payload.
double payloadShare(bool v4);

/// The planner pipeline on the lab's config (its copies of the inputs), with the shaper ports'
/// tx queue count fixed (no sysfs probe in the host namespace). Errors: EINVAL with every input
/// diagnostic when the lab's files were edited into an invalid state.
Result<plan::PipelineResult> planLab(const LabState& state);

/// Resolves the circuits against the lab's inputs and plan (planner pipeline on the lab config).
/// Errors: EINVAL naming unknown circuits, circuits without an address of the family, or input
/// errors (the lab's files were edited into an invalid state).
Result<std::vector<TrafficTarget>> resolveTargets(const LabState& state,
                                                  const TrafficOptions& options);

/// The iperf3 argv for one test: the client in namespace `ns` (the subs namespace), bound to
/// `source`, against the server of the same family on `port`; `download` adds --reverse (the
/// server sends). The load is CUBIC (`--congestion cubic`, which iperf3 also sets on the server's
/// socket) when the kernel has it: a loss-based sender keeps the shaper's leaf backlogged, so the
/// rate read is the shaper's. BBR, this machine's default, paces at its own estimate and cannot
/// make up time its CPU was away: with both CPUs taken 5 ms of every 20, BBR loads read 49-97 %
/// of ceil over four runs, CUBIC loads 92-96 % (2026-12-07, the four e2e circuits).
std::vector<std::string> iperfArgv(const IpNet& source, uint16_t port, bool download,
                                   int seconds, const std::string& ns = kSubsNs);

/// Receiver-side throughput of an iperf3 --json report, in Mbit/s. Errors: EPROTO when the text
/// is not an iperf3 report or reports an error (iperf3's message is the detail).
Result<double> receiverMbps(const std::string& iperfJson);

/// Runs every download at once, then every upload at once (a circuit's download ACKs would
/// otherwise share its upload class), at most kServerPorts tests at a time.
Result<std::vector<CircuitMeasurement>> measure(const LabState& state,
                                                const TrafficOptions& options);

/// A fixed-width table: circuit, ceil down/up, measured down/up (Mbit/s), within tolerance.
std::string renderTable(const std::vector<CircuitMeasurement>& rows, double tolerancePercent);

/// [{"circuit", "planned_down_mbps", "planned_up_mbps", "measured_down_mbps",
///   "measured_up_mbps", "within_tolerance", "source"}]
nlohmann::json toJson(const std::vector<CircuitMeasurement>& rows);

}  // namespace sluice::lab
