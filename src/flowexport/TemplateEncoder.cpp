#include "flowexport/TemplateEncoder.h"

#include <algorithm>
#include <array>

#include "flowexport/Wire.h"

namespace sluice::flowexport {

namespace {

struct Field {
  uint16_t id;
  uint16_t length;
};

// IANA IPFIX information element ids (RFC 7012 / the IANA registry); RFC 3954 §8 gives the
// same numbers to the v9 field types used here.
constexpr uint16_t kOctetDeltaCount = 1;
constexpr uint16_t kPacketDeltaCount = 2;
constexpr uint16_t kProtocolIdentifier = 4;
constexpr uint16_t kTcpControlBits = 6;
constexpr uint16_t kSourceTransportPort = 7;
constexpr uint16_t kSourceIPv4Address = 8;
constexpr uint16_t kIngressInterface = 10;
constexpr uint16_t kDestinationTransportPort = 11;
constexpr uint16_t kDestinationIPv4Address = 12;
constexpr uint16_t kEgressInterface = 14;
constexpr uint16_t kV9LastSwitched = 21;
constexpr uint16_t kV9FirstSwitched = 22;
constexpr uint16_t kSourceIPv6Address = 27;
constexpr uint16_t kDestinationIPv6Address = 28;
constexpr uint16_t kFlowDirection = 61;
constexpr uint16_t kFlowStartMilliseconds = 152;
constexpr uint16_t kFlowEndMilliseconds = 153;

constexpr size_t kSetHeaderBytes = 4;

std::vector<Field> fieldsOf(WireFormat format, bool ipv6) {
  const uint16_t addrLen = ipv6 ? 16 : 4;
  std::vector<Field> f{
      {ipv6 ? kSourceIPv6Address : kSourceIPv4Address, addrLen},
      {ipv6 ? kDestinationIPv6Address : kDestinationIPv4Address, addrLen},
      {kSourceTransportPort, 2},
      {kDestinationTransportPort, 2},
      {kProtocolIdentifier, 1},
      {kTcpControlBits, 1},
      {kOctetDeltaCount, 8},
      {kPacketDeltaCount, 8},
      {kIngressInterface, 4},
      {kEgressInterface, 4},
      {kFlowDirection, 1},
  };
  if (format == WireFormat::kIpfix) {
    f.push_back({kFlowStartMilliseconds, 8});
    f.push_back({kFlowEndMilliseconds, 8});
  } else {
    f.push_back({kV9FirstSwitched, 4});
    f.push_back({kV9LastSwitched, 4});
  }
  return f;
}

}  // namespace

TemplateEncoder::TemplateEncoder(WireFormat format, uint32_t domainId, size_t maxPacketBytes)
    : format_(format),
      domainId_(domainId),
      maxPacketBytes_(std::max<size_t>(200, maxPacketBytes)) {}

size_t TemplateEncoder::recordBytes(bool ipv6) const {
  size_t n = 0;
  for (const Field& f : fieldsOf(format_, ipv6)) {
    n += f.length;
  }
  return n;
}

void TemplateEncoder::startPacket(std::vector<uint8_t>& packet, const ExportClock& clock) const {
  WireWriter w(packet);
  if (format_ == WireFormat::kIpfix) {
    w.u16(10);
    w.u16(0);  // length: patched by finishPacket
    w.u32(clock.unixSeconds());
    w.u32(0);  // sequence: patched
    w.u32(domainId_);
  } else {
    w.u16(9);
    w.u16(0);  // count: patched
    w.u32(clock.uptimeMs());
    w.u32(clock.unixSeconds());
    w.u32(0);  // sequence: patched
    w.u32(domainId_);
  }
}

void TemplateEncoder::finishPacket(std::vector<uint8_t>& packet, uint16_t v9Count) const {
  WireWriter w(packet);
  if (format_ == WireFormat::kIpfix) {
    w.patch16(2, static_cast<uint16_t>(packet.size()));
    w.patch32(8, sequence_);
  } else {
    w.patch16(2, v9Count);
    w.patch32(12, sequence_);
  }
}

void TemplateEncoder::writeTemplates(std::vector<uint8_t>& packet) const {
  WireWriter w(packet);
  const size_t start = packet.size();
  w.u16(format_ == WireFormat::kIpfix ? 2 : 0);
  w.u16(0);
  for (const uint16_t id : {kTemplateIpv4, kTemplateIpv6}) {
    const std::vector<Field> fields = fieldsOf(format_, id == kTemplateIpv6);
    w.u16(id);
    w.u16(static_cast<uint16_t>(fields.size()));
    for (const Field& f : fields) {
      w.u16(f.id);
      w.u16(f.length);
    }
  }
  w.padTo(4);
  w.patch16(start + 2, static_cast<uint16_t>(packet.size() - start));
}

void TemplateEncoder::writeRecord(std::vector<uint8_t>& packet, const ExportRecord& r,
                                  const ExportClock& clock) const {
  WireWriter w(packet);
  const size_t offset = r.ipv6 ? 0 : 12;
  const size_t len = r.ipv6 ? 16 : 4;
  w.bytes(r.src.data() + offset, len);
  w.bytes(r.dst.data() + offset, len);
  w.u16(r.srcPort);
  w.u16(r.dstPort);
  w.u8(r.protocol);
  w.u8(r.tcpFlags);
  w.u64(r.bytes);
  w.u64(r.packets);
  w.u32(r.inputInterface);
  w.u32(r.outputInterface);
  w.u8(static_cast<uint8_t>(r.direction));
  if (format_ == WireFormat::kIpfix) {
    w.u64(clock.wallMs(r.firstNs));
    w.u64(clock.wallMs(r.lastNs));
  } else {
    w.u32(ExportClock::uptimeMs(r.firstNs));
    w.u32(ExportClock::uptimeMs(r.lastNs));
  }
}

std::vector<EncodedPacket> TemplateEncoder::encode(std::span<const ExportRecord> records,
                                                   const ExportClock& clock, bool withTemplates) {
  std::vector<EncodedPacket> out;
  EncodedPacket current;
  uint16_t v9Count = 0;
  int openSet = -1;  // template id of the open data set, -1 = none
  size_t setStart = 0;

  auto closeSet = [&] {
    if (openSet < 0) {
      return;
    }
    WireWriter w(current.bytes);
    w.padTo(4);
    w.patch16(setStart + 2, static_cast<uint16_t>(current.bytes.size() - setStart));
    openSet = -1;
  };
  auto finish = [&] {
    closeSet();
    finishPacket(current.bytes, v9Count);
    sequence_ += format_ == WireFormat::kIpfix ? current.dataRecords : 1;
    out.push_back(std::move(current));
    current = EncodedPacket{};
    v9Count = 0;
  };
  auto start = [&] {
    startPacket(current.bytes, clock);
    if (withTemplates && out.empty()) {
      writeTemplates(current.bytes);
      v9Count = 2;
    }
  };

  start();
  for (const ExportRecord& r : records) {
    const int id = r.ipv6 ? kTemplateIpv6 : kTemplateIpv4;
    const size_t setOverhead = id == openSet ? 0 : kSetHeaderBytes + 3;  // + worst padding
    if (current.dataRecords > 0 &&
        current.bytes.size() + setOverhead + recordBytes(r.ipv6) + 3 > maxPacketBytes_) {
      finish();
      start();
    }
    if (id != openSet) {
      closeSet();
      setStart = current.bytes.size();
      WireWriter w(current.bytes);
      w.u16(static_cast<uint16_t>(id));
      w.u16(0);  // length: patched by closeSet
      openSet = id;
    }
    writeRecord(current.bytes, r, clock);
    ++current.dataRecords;
    ++v9Count;
  }
  if (current.dataRecords > 0 || (withTemplates && out.empty())) {
    finish();
  }
  return out;
}

}  // namespace sluice::flowexport
