#include "netlink/Socket.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace sluice::netlink {
namespace {

// One receive buffer holds the largest datagram the kernel sends us: dump datagrams are at most
// max(PAGE_SIZE, 32 KiB) unless the buffer is larger, in which case they grow to it.
constexpr size_t kRecvBufferBytes = 256 * 1024;
constexpr int kSocketBufferBytes = 8 * 1024 * 1024;

class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

void setBuffer(mnl_socket* nl, int forceOpt, int plainOpt) {
  const int fd = mnl_socket_get_fd(nl);
  int bytes = kSocketBufferBytes;
  if (::setsockopt(fd, SOL_SOCKET, forceOpt, &bytes, sizeof(bytes)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, plainOpt, &bytes, sizeof(bytes));
  }
}

Result<mnl_socket*> openHere() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl == nullptr) {
    return makeError(errno, "netlink socket open");
  }
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(nl);
    return makeError(err, "netlink socket bind");
  }
  int one = 1;
  // Both are best effort: old kernels lack them and still work, with less detail in errors.
  mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
  setBuffer(nl, SO_SNDBUFFORCE, SO_SNDBUF);
  setBuffer(nl, SO_RCVBUFFORCE, SO_RCVBUF);
  return nl;
}

}  // namespace

std::string extendedAckText(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0) {
    return {};
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  // The TLVs follow the nlmsgerr and the echoed request: only its header when capped.
  size_t offset = sizeof(nlmsgerr);
  if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) {
    offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  }
  std::string text;
  const auto* tlvStart = reinterpret_cast<const uint8_t*>(err) + offset;
  const auto* tlvEnd = reinterpret_cast<const uint8_t*>(nlh) + nlh->nlmsg_len;
  for (const auto* p = tlvStart; p + sizeof(nlattr) <= tlvEnd;) {
    const auto* attr = reinterpret_cast<const nlattr*>(p);
    if (attr->nla_len < sizeof(nlattr) || p + attr->nla_len > tlvEnd) {
      break;
    }
    if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
      text.assign(s, strnlen(s, mnl_attr_get_payload_len(attr)));
    }
    p += NLA_ALIGN(attr->nla_len);
  }
  return text;
}

Result<Socket> Socket::open(const std::string& netnsPath) {
  Socket s;
  if (netnsPath.empty()) {
    auto nl = openHere();
    if (!nl) {
      return std::unexpected(nl.error());
    }
    s.nl_ = *nl;
  } else {
    FdGuard self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    FdGuard target(::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (self.get() < 0) {
      return makeError(errno, "open /proc/thread-self/ns/net");
    }
    if (target.get() < 0) {
      return makeError(errno, fmt::format("open network namespace {}", netnsPath));
    }
    if (::setns(target.get(), CLONE_NEWNET) != 0) {
      return makeError(errno, fmt::format("setns {}", netnsPath));
    }
    auto nl = openHere();
    if (::setns(self.get(), CLONE_NEWNET) != 0) {
      // Staying in the wrong namespace would silently misdirect everything after this.
      std::abort();
    }
    if (!nl) {
      return std::unexpected(nl.error());
    }
    s.nl_ = *nl;
  }
  s.portId_ = mnl_socket_get_portid(s.nl_);
  s.recvBuffer_ = std::make_unique<uint8_t[]>(kRecvBufferBytes);
  return s;
}

Socket::Socket(Socket&& other) noexcept { *this = std::move(other); }

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    if (nl_ != nullptr) {
      mnl_socket_close(nl_);
    }
    nl_ = std::exchange(other.nl_, nullptr);
    portId_ = other.portId_;
    nextSeq_ = other.nextSeq_;
    limits_ = other.limits_;
    stats_ = other.stats_;
    recvBuffer_ = std::move(other.recvBuffer_);
  }
  return *this;
}

Socket::~Socket() {
  if (nl_ != nullptr) {
    mnl_socket_close(nl_);
  }
}

Result<void> Socket::execute(const Batch& batch) {
  size_t first = 0;
  while (first < batch.size()) {
    size_t last = first;
    const size_t start = batch.offset(first);
    while (last + 1 < batch.size() && last + 1 - first < limits_.maxMessages &&
           batch.end(last + 1) - start <= limits_.maxBytes) {
      ++last;
    }
    if (auto r = executeChunk(batch, first, last); !r) {
      return r;
    }
    first = last + 1;
  }
  return {};
}

Result<void> Socket::executeChunk(const Batch& batch, size_t first, size_t last) {
  // Sequence numbers are written into the (logically const) batch buffer: they are transport
  // state, not content, and assigning them here keeps encoders free of socket state.
  auto& mutableBatch = const_cast<Batch&>(batch);
  const uint32_t firstSeq = nextSeq_;
  for (size_t i = first; i <= last; ++i) {
    nlmsghdr* nlh = mutableBatch.message(i);
    nlh->nlmsg_seq = nextSeq_++;
    nlh->nlmsg_pid = 0;
  }
  const size_t start = batch.offset(first);
  const size_t length = batch.end(last) - start;
  const auto* data = reinterpret_cast<const uint8_t*>(batch.message(first));
  stats_.sendCalls++;
  stats_.messages += last - first + 1;
  if (mnl_socket_sendto(nl_, data, length) < 0) {
    return makeError(errno, fmt::format("netlink send of {} messages starting with {}",
                                        last - first + 1, batch.operation(first)));
  }
  const size_t expected = last - first + 1;
  std::vector<bool> acked(expected, false);
  size_t remaining = expected;
  std::optional<Error> failure;
  size_t otherFailures = 0;
  while (remaining > 0) {
    const ssize_t n = mnl_socket_recvfrom(nl_, recvBuffer_.get(), kRecvBufferBytes);
    stats_.recvCalls++;
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return makeError(errno, fmt::format("netlink receive of acks for {} messages starting "
                                          "with {}", expected, batch.operation(first)));
    }
    auto len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(recvBuffer_.get()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      const uint32_t idx = nlh->nlmsg_seq - firstSeq;
      if (nlh->nlmsg_type != NLMSG_ERROR || idx >= expected || acked[idx]) {
        continue;  // not an ack of this chunk (a stale reply or a notification)
      }
      acked[idx] = true;
      --remaining;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (err->error == 0) {
        continue;
      }
      if (failure) {
        ++otherFailures;
        continue;
      }
      failure = Error{-err->error, batch.operation(first + idx), extendedAckText(nlh)};
    }
  }
  if (failure) {
    if (otherFailures > 0) {
      failure->detail += fmt::format("{}{} later operations in the same batch failed too",
                                     failure->detail.empty() ? "" : "; ", otherFailures);
    }
    return std::unexpected(*failure);
  }
  return {};
}

Result<void> Socket::dump(nlmsghdr* request, const std::string& operation,
                          const std::function<bool(const nlmsghdr*)>& onMessage) {
  request->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
  request->nlmsg_seq = nextSeq_++;
  request->nlmsg_pid = 0;
  if (mnl_socket_sendto(nl_, request, request->nlmsg_len) < 0) {
    return makeError(errno, operation);
  }
  stats_.sendCalls++;
  struct Context {
    const std::function<bool(const nlmsghdr*)>* onMessage;
    bool rejected = false;
  } ctx{&onMessage};
  auto callback = [](const nlmsghdr* nlh, void* data) -> int {
    auto* c = static_cast<Context*>(data);
    if (!(*c->onMessage)(nlh)) {
      c->rejected = true;
    }
    return MNL_CB_OK;
  };
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(nl_, recvBuffer_.get(), kRecvBufferBytes);
    stats_.recvCalls++;
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return makeError(errno, operation);
    }
    const int rc = mnl_cb_run(recvBuffer_.get(), static_cast<size_t>(n), request->nlmsg_seq,
                              portId_, callback, &ctx);
    if (rc == MNL_CB_STOP) {
      break;
    }
    if (rc < 0) {
      return makeError(errno, operation);
    }
  }
  if (ctx.rejected) {
    return makeError(EBADMSG, operation, "a reply message could not be parsed");
  }
  return {};
}

Result<Socket::LinkInfo> Socket::linkInfo(std::string_view name) {
  Batch batch;
  nlmsghdr* nlh = batch.begin(RTM_GETLINK, 0, fmt::format("link show dev {}", name));
  nlh->nlmsg_flags = NLM_F_REQUEST;  // a plain request: the reply is the link or an error
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, std::string(name).c_str());
  nlh->nlmsg_seq = nextSeq_++;
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
    return makeError(errno, batch.operation(0));
  }
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(nl_, recvBuffer_.get(), kRecvBufferBytes);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return makeError(errno, batch.operation(0));
    }
    auto len = static_cast<int>(n);
    for (auto* reply = reinterpret_cast<const nlmsghdr*>(recvBuffer_.get());
         mnl_nlmsg_ok(reply, len); reply = mnl_nlmsg_next(reply, &len)) {
      if (reply->nlmsg_seq != nlh->nlmsg_seq) {
        continue;
      }
      if (reply->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(reply));
        return makeError(-err->error, batch.operation(0), extendedAckText(reply));
      }
      if (reply->nlmsg_type != RTM_NEWLINK) {
        continue;
      }
      LinkInfo info;
      const auto* reIfm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(reply));
      info.index = reIfm->ifi_index;
      info.name = std::string(name);
      mnl_attr_parse(
          reply, sizeof(ifinfomsg),
          [](const nlattr* attr, void* data) -> int {
            if (mnl_attr_get_type(attr) == IFLA_NUM_TX_QUEUES &&
                mnl_attr_get_payload_len(attr) >= sizeof(uint32_t)) {
              static_cast<LinkInfo*>(data)->txQueues = mnl_attr_get_u32(attr);
            }
            return MNL_CB_OK;
          },
          &info);
      return info;
    }
  }
}

Result<int> Socket::linkIndex(std::string_view name) {
  auto info = linkInfo(name);
  if (!info) {
    return std::unexpected(info.error());
  }
  return info->index;
}

}  // namespace sluice::netlink
