#include "flowexport/NetflowV5.h"

#include <algorithm>

#include "flowexport/Wire.h"

namespace sluice::flowexport {

namespace {

constexpr uint64_t kMax32 = 0xffffffffull;

void writeV4(WireWriter& w, const std::array<uint8_t, 16>& addr) {
  w.bytes(addr.data() + 12, 4);
}

void writeRecord(WireWriter& w, const ExportRecord& r) {
  writeV4(w, r.src);
  writeV4(w, r.dst);
  w.u32(0);  // nexthop: the shaper is a bridge, it routes nothing
  w.u16(static_cast<uint16_t>(r.inputInterface));
  w.u16(static_cast<uint16_t>(r.outputInterface));
  w.u32(static_cast<uint32_t>(r.packets));
  w.u32(static_cast<uint32_t>(r.bytes));
  w.u32(ExportClock::uptimeMs(r.firstNs));
  w.u32(ExportClock::uptimeMs(r.lastNs));
  w.u16(r.srcPort);
  w.u16(r.dstPort);
  w.u8(0);  // pad1
  w.u8(r.tcpFlags);
  w.u8(r.protocol);
  w.u8(0);   // tos: not kept by the data plane
  w.u16(0);  // src_as
  w.u16(0);  // dst_as
  w.u8(0);   // src_mask
  w.u8(0);   // dst_mask
  w.u16(0);  // pad2
}

}  // namespace

std::vector<ExportRecord> splitFor32BitCounters(const ExportRecord& record) {
  const uint64_t parts = std::max<uint64_t>(
      {1, (record.bytes + kMax32 - 1) / kMax32, (record.packets + kMax32 - 1) / kMax32});
  std::vector<ExportRecord> out;
  out.reserve(parts);
  uint64_t bytesLeft = record.bytes;
  uint64_t packetsLeft = record.packets;
  for (uint64_t i = 0; i < parts; ++i) {
    ExportRecord part = record;
    const uint64_t remainingParts = parts - i;
    part.bytes = bytesLeft / remainingParts + (bytesLeft % remainingParts != 0 ? 1 : 0);
    part.packets = packetsLeft / remainingParts + (packetsLeft % remainingParts != 0 ? 1 : 0);
    bytesLeft -= part.bytes;
    packetsLeft -= part.packets;
    out.push_back(part);
  }
  return out;
}

std::vector<std::vector<uint8_t>> NetflowV5Encoder::encode(std::span<const ExportRecord> records,
                                                           const ExportClock& clock) {
  std::vector<ExportRecord> parts;
  parts.reserve(records.size());
  for (const ExportRecord& r : records) {
    for (ExportRecord& p : splitFor32BitCounters(r)) {
      parts.push_back(p);
    }
  }
  std::vector<std::vector<uint8_t>> packets;
  for (size_t begin = 0; begin < parts.size(); begin += kV5MaxRecords) {
    const size_t count = std::min(kV5MaxRecords, parts.size() - begin);
    std::vector<uint8_t>& packet = packets.emplace_back();
    packet.reserve(kV5HeaderBytes + count * kV5RecordBytes);
    WireWriter w(packet);
    w.u16(5);
    w.u16(static_cast<uint16_t>(count));
    w.u32(clock.uptimeMs());
    w.u32(clock.unixSeconds());
    w.u32(clock.unixNanos());
    w.u32(sequence_);
    w.u8(engineType_);
    w.u8(engineId_);
    w.u16(0);  // sampling: mode 0, interval 0 = every packet counted
    for (size_t i = begin; i < begin + count; ++i) {
      writeRecord(w, parts[i]);
    }
    sequence_ += static_cast<uint32_t>(count);
  }
  return packets;
}

}  // namespace sluice::flowexport
