#pragma once
// Building rtnetlink messages into a batch buffer (libmnl does the header and attribute layout).
//
// A Batch is a flat buffer of complete netlink messages laid out back to back, exactly as they go
// into one sendmsg() (the kernel walks them in order, see net/netlink/af_netlink.c
// netlink_rcv_skb):
//
//   +----------------------+----------------------+-----+
//   | nlmsghdr | payload…  | nlmsghdr | payload…  | ... |   each message NLMSG_ALIGNed (4 bytes)
//   +----------------------+----------------------+-----+
//
// Every message remembers a human-readable description of the operation ("class add dev eth1
// classid 1:3 parent 1:1 kind htb") so that an error acked for it can name what failed.

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sluice::netlink {

/// Upper bound of one encoded tc message (an HTB class with both 1 KiB rate tables is 2,176
/// bytes); Batch::begin() always leaves this much room.
inline constexpr size_t kMaxMessageBytes = 8192;

/// A buffer of netlink requests to send together. Not thread-safe.
class Batch {
 public:
  /// Starts a new message: a zeroed nlmsghdr with `type` and `flags` (NLM_F_REQUEST and
  /// NLM_F_ACK are added) at the end of the buffer, with at least kMaxMessageBytes of room. The
  /// pointer stays valid until the next begin(). Sequence numbers are assigned when sending.
  nlmsghdr* begin(uint16_t type, uint16_t flags, std::string operation);

  /// Number of messages.
  size_t size() const { return offsets_.size(); }
  bool empty() const { return offsets_.empty(); }
  /// Total bytes of all complete messages.
  size_t bytes() const { return offsets_.empty() ? 0 : end(offsets_.size() - 1); }
  /// The message at `index` (its nlmsg_len must already be final).
  nlmsghdr* message(size_t index);
  const nlmsghdr* message(size_t index) const;
  /// Byte offset of message `index` and the offset just past it.
  size_t offset(size_t index) const { return offsets_[index]; }
  size_t end(size_t index) const;
  const std::string& operation(size_t index) const { return operations_[index]; }
  /// The raw bytes of message `index` (for tests).
  std::span<const uint8_t> bytesOf(size_t index) const;
  void clear();

 private:
  std::vector<uint8_t> buffer_;
  std::vector<size_t> offsets_;
  std::vector<std::string> operations_;
};

/// Attribute helpers on top of libmnl for what tc needs beyond it.
///
/// Nests: iproute2 opens TCA_OPTIONS with a plain attribute header (no NLA_F_NESTED bit, unlike
/// libmnl's mnl_attr_nest_start) and patches its length at the end; the kernel's tc option
/// parsers accept both. We do the same to stay byte-identical with `tc`.
struct Nest {
  nlattr* attr = nullptr;
};
/// Opens a TCA_OPTIONS-style nest of `type` without NLA_F_NESTED.
Nest nestStart(nlmsghdr* nlh, uint16_t type);
/// Sets the nest's length to cover everything appended since nestStart().
void nestEnd(nlmsghdr* nlh, Nest nest);

}  // namespace sluice::netlink
