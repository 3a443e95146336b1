#pragma once
// NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets: one encoder, since both are a
// header followed by sets (flowsets) of templates and of data records, every field in network
// byte order.
//
//  NetFlow v9 header, 20 bytes             IPFIX message header, 16 bytes
//  0       2       4               8       0       2       4               8
//  +-------+-------+---------------+       +-------+-------+---------------+
//  |  = 9  | count |  sysUptime ms |       | = 10  |length |  export time  |
//  +-------+-------+---------------+ 8     +-------+-------+---------------+ 8
//  |  unix_secs    |  sequence     |       |  sequence     | observation   |
//  +---------------+---------------+ 16    +---------------+ domain id     | 16
//  |  source id    | 20                                    +---------------+
//  +---------------+
//  count  = records of every kind in the packet        length = bytes of the message
//  sequence = packets sent before (RFC 3954 §5.1)      sequence = data records sent before
//                                                       (RFC 7011 §3.1; templates not counted)
//
//  set: +-------+-------+----------------------------+---------+
//       |set id |length | templates or data records  | padding |  length counts all of it
//       +-------+-------+----------------------------+---------+  padding: zeros to 4 bytes
//  set id: v9 0 / IPFIX 2 = templates; >= 256 = data records of that template
//  template: template id (2) | field count (2) | field count × (element id (2) | length (2))
//
// Templates (ids 256 IPv4, 257 IPv6): sourceIPv4Address(8)/sourceIPv6Address(27) and the
// destinations (12/28), sourceTransportPort(7), destinationTransportPort(11),
// protocolIdentifier(4), tcpControlBits(6, 1 byte), octetDeltaCount(1, 8), packetDeltaCount(2,
// 8), ingressInterface(10, 4), egressInterface(14, 4), flowDirection(61, 1), and the times:
// v9 FIRST_SWITCHED(22)/LAST_SWITCHED(21) (4 bytes, sysUptime ms), IPFIX
// flowStartMilliseconds(152)/flowEndMilliseconds(153) (8 bytes, Unix epoch ms). Element ids
// are IANA's IPFIX registry, which RFC 3954's field types share for these.

#include <cstdint>
#include <span>
#include <vector>

#include "flowexport/Record.h"

namespace sluice::flowexport {

enum class WireFormat : uint8_t { kNetflowV5 = 5, kNetflowV9 = 9, kIpfix = 10 };

inline constexpr uint16_t kTemplateIpv4 = 256;
inline constexpr uint16_t kTemplateIpv6 = 257;
/// Largest packet the encoders build: fits a 1500-byte MTU under IPv6 + UDP headers (48 B).
inline constexpr size_t kMaxPacketBytes = 1400;

struct EncodedPacket {
  std::vector<uint8_t> bytes;
  uint32_t dataRecords = 0;  ///< flow records in it (templates not counted)
};

class TemplateEncoder {
 public:
  /// `format` kNetflowV9 or kIpfix. `domainId`: v9 source id / IPFIX observation domain id.
  /// `maxPacketBytes` (>= 200) bounds every packet built.
  TemplateEncoder(WireFormat format, uint32_t domainId, size_t maxPacketBytes = kMaxPacketBytes);

  /// Packets holding `records` (IPv4 and IPv6, in the given order within each template's
  /// sets), stamped with `clock`. With `withTemplates`, the first packet starts with a template
  /// set defining both templates (also when `records` is empty: a template-only packet).
  /// Records never straddle packets. Advances the sequence as the format defines it.
  std::vector<EncodedPacket> encode(std::span<const ExportRecord> records, const ExportClock& clock,
                                    bool withTemplates);

  /// The sequence number the next packet carries.
  uint32_t sequence() const { return sequence_; }
  WireFormat format() const { return format_; }
  /// Bytes of one data record of template 256 (IPv4) or 257 (IPv6) in this format.
  size_t recordBytes(bool ipv6) const;

 private:
  void writeTemplates(std::vector<uint8_t>& packet) const;
  void writeRecord(std::vector<uint8_t>& packet, const ExportRecord& r,
                   const ExportClock& clock) const;
  void startPacket(std::vector<uint8_t>& packet, const ExportClock& clock) const;
  void finishPacket(std::vector<uint8_t>& packet, uint16_t v9Count) const;

  WireFormat format_;
  uint32_t domainId_;
  size_t maxPacketBytes_;
  uint32_t sequence_ = 0;
};

}  // namespace sluice::flowexport
