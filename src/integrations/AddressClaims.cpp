#include "integrations/AddressClaims.h"

namespace sluice::integrations {
namespace {

IpNet truncate(const IpNet& net, uint8_t prefixLen) {
  IpNet out = net;
  out.prefixLen = prefixLen;
  for (int bit = prefixLen; bit < 128; ++bit) {
    out.addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return out;
}

}  // namespace

std::string AddressClaims::claim(const IpNet& net, const std::string& owner) {
  // A claimed prefix that contains `net` (or equals it): `net` truncated to each used length.
  for (int len = 0; len <= net.prefixLen; ++len) {
    if (usedLengths_[len] == 0) {
      continue;
    }
    IpNet wider = truncate(net, static_cast<uint8_t>(len));
    for (bool v4 : {false, true}) {
      wider.isV4 = v4;
      if (auto it = owners_.find(wider); it != owners_.end()) {
        return it->second == owner ? std::string() : it->second;
      }
    }
  }
  // A claimed prefix inside `net`: they sort right after `net`'s network address.
  IpNet from = net;
  from.isV4 = false;
  for (auto it = owners_.lower_bound(from); it != owners_.end() && net.contains(it->first); ++it) {
    if (it->second != owner) {
      return it->second;
    }
  }
  owners_.emplace(net, owner);
  usedLengths_[net.prefixLen] = 1;
  return {};
}

}  // namespace sluice::integrations
