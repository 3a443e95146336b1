#pragma once
// NetFlow version 5 export packets (Cisco, "NetFlow Export Datagram Format", version 5; the
// format has no RFC). IPv4 only; every field in network byte order.
//
//  header, 24 bytes                          record, 48 bytes (count of them follow the header)
//  0       2       4               8         0               4               8
//  +-------+-------+---------------+         +---------------+---------------+
//  |version| count |  sys_uptime   |         |    srcaddr    |    dstaddr    |
//  |  = 5  | 1..30 |  ms           |         +---------------+-------+-------+
//  +-------+-------+---------------+ 8       |    nexthop=0  | input |output |
//  |  unix_secs    |  unix_nsecs   |         +---------------+---------------+ 16
//  +---------------+---+---+-------+ 16      |    dPkts      |   dOctets     |
//  | flow_sequence |e_t|e_i|sampl. |         +---------------+---------------+ 24
//  +---------------+---+---+-------+ 24      | First (uptime)| Last (uptime) |
//  e_t/e_i = engine type/id                  +-------+-------+-+-+-+-+-------+ 32
//                                            |srcport|dstport|p|f|p|t| src_as|  p=pad1, f=tcp_flags
//                                            +-------+-+-+---+-+-+-+-+-------+ 40 p=prot, t=tos
//                                            |dst_as |m|m| pad2  |              m = src/dst mask
//                                            +-------+-+-+-------+ 48
//
// flow_sequence is the number of records exported before this packet (Cisco: "sequence counter
// of total flows seen"), so a collector detects a lost packet by the gap.

#include <cstdint>
#include <span>
#include <vector>

#include "flowexport/Record.h"

namespace sluice::flowexport {

inline constexpr size_t kV5HeaderBytes = 24;
inline constexpr size_t kV5RecordBytes = 48;
/// Cisco's limit: at most 30 records in one v5 packet (24 + 30 × 48 = 1464 bytes).
inline constexpr size_t kV5MaxRecords = 30;

class NetflowV5Encoder {
 public:
  /// `engineType`/`engineId` identify this exporter to collectors (header bytes 20, 21).
  explicit NetflowV5Encoder(uint8_t engineType = 0, uint8_t engineId = 0)
      : engineType_(engineType), engineId_(engineId) {}

  /// Packets holding `records` (IPv4 only: the caller drops IPv6 ones and counts them), at
  /// most kV5MaxRecords each, stamped with `clock`. dPkts and dOctets are 32 bits: a record
  /// above 2^32 - 1 of either is split into several whose sums are the original's (never
  /// saturated, so a collector's totals stay right). Advances the flow sequence by the records
  /// written. No records: no packets.
  std::vector<std::vector<uint8_t>> encode(std::span<const ExportRecord> records,
                                           const ExportClock& clock);

  /// The flow_sequence the next packet will carry.
  uint32_t sequence() const { return sequence_; }

 private:
  uint8_t engineType_;
  uint8_t engineId_;
  uint32_t sequence_ = 0;
};

/// `record` split so that no part has more than 2^32 - 1 bytes or packets (one part when it
/// fits). Bytes and packets are spread in proportion; the parts' sums equal the original's.
std::vector<ExportRecord> splitFor32BitCounters(const ExportRecord& record);

}  // namespace sluice::flowexport
