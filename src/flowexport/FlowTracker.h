#pragma once
// Turns successive readings of the data plane's flow table (sluice_flows: one entry per
// connection, both directions, cumulative counters) into export records with delta counts, so
// that a collector's sum over a flow's records equals the bytes the flow carried.
//
// A flow is reported (its counters since its previous report, one record per direction that
// carried packets) when:
//  - it ended: no packet for `idleTimeoutNs` ([flows] flow_timeout_seconds), or TCP FIN seen in
//    both directions or RST, and no packet for `closeGraceNs` since (the last ACKs);
//  - it is long: `activeTimeoutNs` passed since its previous report (or its start);
//  - it left the table (LRU eviction), with the counters of the last reading.
// An entry whose counters went backwards or whose start changed was re-created by the data
// plane: it starts again from zero. A reported flow that carries packets again is reported again
// under the same rules. Not thread-safe: one caller (the exporter's tick).

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "abi/sluice_abi.h"
#include "flowexport/Record.h"

namespace sluice::flowexport {

struct TrackerOptions {
  uint64_t idleTimeoutNs = 30'000'000'000ull;    ///< LibreQoS's flow_timeout_seconds default
  uint64_t activeTimeoutNs = 60'000'000'000ull;  ///< [flows] active_timeout_seconds
  uint64_t closeGraceNs = 1'000'000'000ull;
  /// Bytes of link-layer header per packet in the data plane's counts (it counts whole
  /// Ethernet frames without FCS): 14 (Ethernet II), 18 with one VLAN tag. Subtracted so that
  /// records carry layer-3 octets, as NetFlow/IPFIX define them.
  uint32_t linkHeaderBytes = 14;
};

class FlowTracker {
 public:
  explicit FlowTracker(TrackerOptions options) : options_(options) {}

  /// One complete reading of the flow table taken at CLOCK_MONOTONIC `nowNs` (`keys` and
  /// `flows` parallel). Appends the records due to `out`.
  void observe(std::span<const sluice_flow_key> keys, std::span<const sluice_flow> flows,
               uint64_t nowNs, std::vector<ExportRecord>& out);

  /// Appends every flow's unreported counters (shutdown), as of the last reading.
  void flushAll(std::vector<ExportRecord>& out);

  /// Flows with state (in the table at the last reading).
  size_t tracked() const { return states_.size(); }

 private:
  struct KeyHash {
    size_t operator()(const sluice_flow_key& k) const noexcept;
  };
  struct KeyEq {
    bool operator()(const sluice_flow_key& a, const sluice_flow_key& b) const noexcept;
  };
  struct State {
    uint64_t startNs = 0;        ///< the entry's start_ns (changes when re-created)
    uint64_t reportStartNs = 0;  ///< first packet the next report covers
    uint64_t lastReportNs = 0;   ///< when the previous report was made (or the flow started)
    uint64_t reportedBytes[SLUICE_DIR_COUNT]{};
    uint64_t reportedPackets[SLUICE_DIR_COUNT]{};
    // The latest reading of the entry: only what a report needs (a whole sluice_flow per state
    // doubled the memory a 262,144-flow table walks every second).
    uint64_t lastBytes[SLUICE_DIR_COUNT]{};
    uint64_t lastPackets[SLUICE_DIR_COUNT]{};
    uint64_t lastNs = 0;
    uint32_t flags = 0;  ///< SLUICE_FLOW_*
    uint32_t seen = 0;   ///< reading number it was last present in (wraps harmlessly)
  };

  void report(const sluice_flow_key& key, State& state, uint64_t nowNs,
              std::vector<ExportRecord>& out);

  TrackerOptions options_;
  std::unordered_map<sluice_flow_key, State, KeyHash, KeyEq> states_;
  uint32_t reading_ = 0;
};

}  // namespace sluice::flowexport
