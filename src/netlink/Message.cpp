#include "netlink/Message.h"

#include <libmnl/libmnl.h>

#include <cstring>

namespace sluice::netlink {

nlmsghdr* Batch::begin(uint16_t type, uint16_t flags, std::string operation) {
  const size_t start = bytes();
  if (buffer_.size() < start + kMaxMessageBytes) {
    buffer_.resize(std::max(buffer_.size() * 2, start + kMaxMessageBytes));
  }
  std::memset(buffer_.data() + start, 0, kMaxMessageBytes);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer_.data() + start);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
  offsets_.push_back(start);
  operations_.push_back(std::move(operation));
  return nlh;
}

nlmsghdr* Batch::message(size_t index) {
  return reinterpret_cast<nlmsghdr*>(buffer_.data() + offsets_[index]);
}

const nlmsghdr* Batch::message(size_t index) const {
  return reinterpret_cast<const nlmsghdr*>(buffer_.data() + offsets_[index]);
}

size_t Batch::end(size_t index) const {
  return offsets_[index] + NLMSG_ALIGN(message(index)->nlmsg_len);
}

std::span<const uint8_t> Batch::bytesOf(size_t index) const {
  return {buffer_.data() + offsets_[index], message(index)->nlmsg_len};
}

void Batch::clear() {
  offsets_.clear();
  operations_.clear();
}

Nest nestStart(nlmsghdr* nlh, uint16_t type) {
  auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(nlh));
  mnl_attr_put(nlh, type, 0, nullptr);
  return Nest{attr};
}

void nestEnd(nlmsghdr* nlh, Nest nest) {
  nest.attr->nla_len = static_cast<uint16_t>(
      static_cast<uint8_t*>(mnl_nlmsg_get_payload_tail(nlh)) -
      reinterpret_cast<uint8_t*>(nest.attr));
}

}  // namespace sluice::netlink
