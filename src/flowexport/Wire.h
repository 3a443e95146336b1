#pragma once
// Appending integers to a packet buffer in network byte order (big-endian), the only order
// NetFlow v5 (Cisco), v9 (RFC 3954 §5) and IPFIX (RFC 7011 §3: "network byte order") use.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::flowexport {

class WireWriter {
 public:
  explicit WireWriter(std::vector<uint8_t>& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void bytes(const uint8_t* data, size_t n) { out_.insert(out_.end(), data, data + n); }
  /// Zero bytes up to the next multiple of `align` (from the start of the buffer).
  void padTo(size_t align) {
    while (out_.size() % align != 0) {
      out_.push_back(0);
    }
  }
  /// Overwrites a 16-bit field written earlier (lengths and counts known only at the end).
  void patch16(size_t offset, uint16_t v) {
    out_[offset] = static_cast<uint8_t>(v >> 8);
    out_[offset + 1] = static_cast<uint8_t>(v);
  }
  void patch32(size_t offset, uint32_t v) {
    patch16(offset, static_cast<uint16_t>(v >> 16));
    patch16(offset + 2, static_cast<uint16_t>(v));
  }
  size_t size() const { return out_.size(); }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace sluice::flowexport
