#pragma once
// What the flow exporter sends: one unidirectional flow record, and the clock that turns the
// data plane's boot-relative times into the wall-clock times NetFlow and IPFIX carry.
//
// Direction semantics (docs/flows.md): every record is unidirectional and its source is the
// sender of the packets it counts.
//   download record: src = the remote end (Internet), dst = the subscriber,
//                    input interface kInterfaceInternet, output kInterfaceSubscriber,
//                    flowDirection 0 (ingress: into the ISP's access network);
//   upload record:   src = the subscriber, dst = the remote end,
//                    input kInterfaceSubscriber, output kInterfaceInternet, flowDirection 1.
// Knows nothing of sockets, the config or the data plane's maps.

#include <array>
#include <cstdint>

namespace sluice::flowexport {

/// Interface indices the records carry (v5 input/output, v9/IPFIX INPUT_SNMP/OUTPUT_SNMP): the
/// shaper's two sides, fixed so that a collector's per-interface views are stable across hosts.
inline constexpr uint32_t kInterfaceInternet = 1;
inline constexpr uint32_t kInterfaceSubscriber = 2;

/// flowDirection (IANA IE 61, NetFlow v9 DIRECTION): 0 ingress, 1 egress, seen from the ISP's
/// access network: a download enters it, an upload leaves it.
enum class Direction : uint8_t { kDownload = 0, kUpload = 1 };

struct ExportRecord {
  /// Addresses in the data plane's 16-byte form: IPv4 is v4-mapped (::ffff:a.b.c.d).
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  bool ipv6 = false;
  uint16_t srcPort = 0;  ///< host byte order; 0 for ICMP
  uint16_t dstPort = 0;
  uint8_t protocol = 0;  ///< IPPROTO_*
  uint8_t tcpFlags = 0;  ///< FIN 0x01, RST 0x04 as the data plane saw them (no others are kept)
  /// Layer-3 octets (IP header and payload, as RFC 7012 octetDeltaCount counts them) and
  /// packets since this flow's previous record in this direction.
  uint64_t bytes = 0;
  uint64_t packets = 0;
  /// CLOCK_MONOTONIC ns (the data plane's clock) of the first and last packet this record
  /// covers.
  uint64_t firstNs = 0;
  uint64_t lastNs = 0;
  Direction direction = Direction::kDownload;
  uint32_t inputInterface = 0;
  uint32_t outputInterface = 0;
};

/// A reading of CLOCK_MONOTONIC and CLOCK_REALTIME taken together at export time. The data
/// plane stamps packets with bpf_ktime_get_coarse_ns(), i.e. CLOCK_MONOTONIC (time since boot,
/// not counting suspend); wall time of a monotonic stamp t is realtimeNs - (monotonicNs - t).
struct ExportClock {
  uint64_t monotonicNs = 0;
  uint64_t realtimeNs = 0;  ///< Unix epoch ns

  /// Reads both clocks now (monotonic read between two realtime reads is not needed: the
  /// error of back-to-back reads is < 1 µs, far below the millisecond the formats carry).
  static ExportClock now();

  /// Unix epoch milliseconds of a CLOCK_MONOTONIC stamp (stamps after monotonicNs are allowed).
  uint64_t wallMs(uint64_t monoNs) const {
    const int64_t ageNs = static_cast<int64_t>(monotonicNs - monoNs);
    return static_cast<uint64_t>(static_cast<int64_t>(realtimeNs) - ageNs) / 1'000'000u;
  }
  /// sysUptime of the NetFlow v5/v9 headers (RFC 3954 §5.1: ms since the device booted),
  /// modulo 2^32 as the field is 32 bits (wraps after 49.7 days, as routers' do).
  uint32_t uptimeMs() const { return static_cast<uint32_t>(monotonicNs / 1'000'000u); }
  /// A stamp on the same scale as uptimeMs() (v5 First/Last, v9 FIRST/LAST_SWITCHED).
  static uint32_t uptimeMs(uint64_t monoNs) { return static_cast<uint32_t>(monoNs / 1'000'000u); }
  uint32_t unixSeconds() const { return static_cast<uint32_t>(realtimeNs / 1'000'000'000u); }
  uint32_t unixNanos() const { return static_cast<uint32_t>(realtimeNs % 1'000'000'000u); }
};

}  // namespace sluice::flowexport
