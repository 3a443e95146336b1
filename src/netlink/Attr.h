#pragma once
// Walking netlink attributes held in a byte span (a dumped TCA_OPTIONS or xstats payload).
//
//   +---------+---------+-------------------+---------+---------+-----
//   | len u16 | type u16| payload (len - 4) | pad to 4| len u16 | ...
//   +---------+---------+-------------------+---------+---------+-----

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace sluice::netlink {

/// Calls `fn(type, payload)` for every attribute in `bytes` (type without the NLA_F_NESTED /
/// NLA_F_NET_BYTEORDER bits). Returns false when an attribute header is malformed or overruns.
template <typename Fn>
bool forEachAttr(std::span<const uint8_t> bytes, Fn&& fn) {
  size_t pos = 0;
  while (pos + sizeof(nlattr) <= bytes.size()) {
    nlattr header;
    std::memcpy(&header, bytes.data() + pos, sizeof(header));
    if (header.nla_len < sizeof(nlattr) || pos + header.nla_len > bytes.size()) {
      return false;
    }
    fn(static_cast<uint16_t>(header.nla_type & NLA_TYPE_MASK),
       bytes.subspan(pos + sizeof(nlattr), header.nla_len - sizeof(nlattr)));
    pos += NLA_ALIGN(header.nla_len);
  }
  return true;
}

/// Reads a T from the start of `payload` when it is large enough.
template <typename T>
std::optional<T> readAs(std::span<const uint8_t> payload) {
  if (payload.size() < sizeof(T)) {
    return std::nullopt;
  }
  T value;
  std::memcpy(&value, payload.data(), sizeof(T));
  return value;
}

}  // namespace sluice::netlink
