#pragma once
// What the real-frame benchmark sends and where Sluice must classify it: the frame kinds
// (built with tests/bpf's PacketBuilder), the subscriber mappings published before the run, and
// trafgen(8) configuration files holding the frames byte by byte.

#include <cstdint>
#include <string>
#include <vector>

#include "planner/QueuePlan.h"

namespace sluice::realframe {

/// One row of the benchmark: frames sent round robin and the HTB classes on the
/// subscriber-facing port that must receive them when sluice_xdp/sluice_tc classify.
struct FrameKind {
  std::string name;                          ///< "IPv4 TCP", ...
  std::vector<std::vector<uint8_t>> frames;  ///< Ethernet frames without FCS
  std::vector<std::string> expectedClasses;  ///< e.g. {"1:30"}; unknown: {"1:2", "2:2"}
};

/// Flows per kind: frames differ in the TCP source port, so after the first round every frame
/// is a flow-table hit (the common case of a real link; bench_dataplane's "flow hit" rows).
inline constexpr int kFlowsPerKind = 16;
/// Segments per flow. Segment j carries sequence number 1000 + j * 2^32 / kSeqSteps: in TCP's
/// serial-number arithmetic (RFC 1982, as bpf/telemetry.h compares) every segment, also after
/// the wrap back to j = 0, ends after the previous one, so the flow telemetry takes its in-order
/// path and counts no retransmission (one repeated segment would count as one every time).
inline constexpr int kSeqSteps = 16;
/// TCP payload of every measured segment.
inline constexpr size_t kPayloadBytes = 6;
/// Subscribers of the reload-penalty run (round robin, one flow each).
inline constexpr int kReloadSubscribers = 256;
/// Mappings republished during the reload-penalty run (as bench_dataplane's reload rows).
inline constexpr int kReloadMappings = 100'000;

/// IPv4 TCP (203.0.113.5 -> 10.1.2.3, circuit 3, class 1:30), IPv6 TCP (-> 2001:db8:1::9 in
/// 2001:db8:1::/48, class 2:40), QinQ (802.1ad 10 + 802.1Q 20) + PPPoE IPv4 (-> 10.1.2.4,
/// class 2:34), unknown address (-> 10.1.7.7, no mapping: default class M:2 of its hashed
/// queue), and "mix" (the four interleaved). Every frame goes from kSourceMac to kSinkMac.
std::vector<FrameKind> frameKinds();

/// The reload run's frames: IPv4 TCP ACKs without data (no retransmission counting) to
/// kReloadSubscribers addresses spread over the reload mappings (classes 1:30 or 2:30; M:2
/// means misclassified).
FrameKind reloadFrames();

/// The three subscriber mappings of frameKinds() plus kReloadMappings IPv4 host mappings
/// 100.64.0.0 + i (class (1 + i % 2):30), all on CPU `cpu`.
std::vector<plan::AddressMapping> benchMappings(uint32_t cpu);

/// Writes `frames` as a trafgen configuration (one `{ 0x.., ... }` block per frame, sent round
/// robin). Throws std::runtime_error when the file cannot be written.
void writeTrafgenConfig(const std::vector<std::vector<uint8_t>>& frames, const std::string& path);

}  // namespace sluice::realframe
