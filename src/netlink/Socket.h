#pragma once
// A NETLINK_ROUTE socket on libmnl: batched requests with per-message acks matched by sequence
// number, extended-ack text in errors, dumps, and interface lookup by name.
//
// Batching: the messages of a Batch go out in chunks, many messages per sendmsg(). The kernel
// handles a chunk synchronously inside sendmsg() and queues one ack (nlmsgerr, error 0 on
// success) per message, so a chunk is bounded both in bytes and in messages so that all of its
// acks fit in the receive buffer (every ack is its own skb, about 1 KiB of truesize).
//
// The socket can be opened inside another network namespace (a path under /var/run/netns or
// /proc/PID/ns/net); it stays bound to that namespace for its whole life.

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

#include "common/Error.h"
#include "netlink/Message.h"

struct mnl_socket;

namespace sluice::netlink {

/// Limits of one sendmsg() chunk.
struct ChunkLimits {
  size_t maxBytes = 192 * 1024;  ///< stays below the socket send buffer (set to 1 MiB)
  size_t maxMessages = 256;      ///< acks of one chunk must fit the receive buffer
};

/// Counters of what a Socket did (for benchmarks and logs).
struct SocketStats {
  uint64_t messages = 0;
  uint64_t sendCalls = 0;
  uint64_t recvCalls = 0;
};

class Socket {
 public:
  /// Opens and binds a NETLINK_ROUTE socket, enables NETLINK_EXT_ACK and NETLINK_CAP_ACK, and
  /// raises the send/receive buffers (SO_*BUFFORCE when privileged, else the plain options).
  /// `netnsPath` (optional): the socket is created inside that network namespace (the calling
  /// thread enters it with setns() and returns to its own namespace before this returns).
  /// Errors: socket/bind/setns failures with errno.
  static Result<Socket> open(const std::string& netnsPath = {});

  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) noexcept;
  ~Socket();

  /// Sends every message of `batch` (chunked, see ChunkLimits), assigning consecutive sequence
  /// numbers, and waits for every ack. Returns the first failure: Error.context is the failing
  /// message's operation, errnum the kernel's errno, detail the extended-ack text (when the kernel
  /// gave one). Messages after a failing one in the same chunk have already been processed by the
  /// kernel; later chunks are not sent. Error.detail also counts further failures in the chunk.
  Result<void> execute(const Batch& batch);

  /// Sends one dump request (NLM_F_DUMP is added) and calls `onMessage` for every message of the
  /// reply until NLMSG_DONE. `onMessage` returns false to report a parse failure (the dump is
  /// still drained). Errors: the kernel's error for the dump, EBADMSG when onMessage rejected.
  Result<void> dump(nlmsghdr* request, const std::string& operation,
                    const std::function<bool(const nlmsghdr*)>& onMessage);

  /// The interface index of `name` in the socket's namespace (RTM_GETLINK with IFLA_IFNAME).
  /// Errors: ENODEV naming the device.
  Result<int> linkIndex(std::string_view name);

  /// The name and tx-queue count of interface `ifindex` (RTM_GETLINK, IFLA_NUM_TX_QUEUES).
  struct LinkInfo {
    int index = 0;
    std::string name;
    uint32_t txQueues = 0;
  };
  Result<LinkInfo> linkInfo(std::string_view name);

  void setChunkLimits(ChunkLimits limits) { limits_ = limits; }
  const SocketStats& stats() const { return stats_; }

 private:
  Socket() = default;
  Result<void> executeChunk(const Batch& batch, size_t first, size_t last);

  mnl_socket* nl_ = nullptr;
  uint32_t portId_ = 0;
  uint32_t nextSeq_ = 1;
  ChunkLimits limits_;
  SocketStats stats_;
  std::unique_ptr<uint8_t[]> recvBuffer_;
};

/// Parses the extended-ack TLVs (NLMSGERR_ATTR_MSG) that follow an nlmsgerr in an error message
/// (include/uapi/linux/netlink.h); "" when there are none.
std::string extendedAckText(const nlmsghdr* errorMessage);

}  // namespace sluice::netlink
