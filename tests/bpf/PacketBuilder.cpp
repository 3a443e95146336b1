#include "PacketBuilder.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <stdexcept>

namespace sluice::bpftest {
namespace {

void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, static_cast<uint16_t>(x >> 16));
  put16(v, static_cast<uint16_t>(x));
}

uint16_t ipv4Checksum(const uint8_t* h, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += (h[i] << 8) | h[i + 1];
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

}  // namespace

PacketBuilder& PacketBuilder::vlan(uint16_t id, uint16_t tpid) {
  tags_.push_back({tpid, id});
  return *this;
}
PacketBuilder& PacketBuilder::pppoe(uint16_t pppProtocol) {
  ppp_ = pppProtocol;
  return *this;
}
PacketBuilder& PacketBuilder::mpls(int labels) {
  mplsLabels_ = labels;
  return *this;
}
PacketBuilder& PacketBuilder::ip(const std::string& src, const std::string& dst) {
  v6_ = src.find(':') != std::string::npos;
  src_.assign(v6_ ? 16 : 4, 0);
  dst_.assign(v6_ ? 16 : 4, 0);
  int af = v6_ ? AF_INET6 : AF_INET;
  if (inet_pton(af, src.c_str(), src_.data()) != 1 ||
      inet_pton(af, dst.c_str(), dst_.data()) != 1) {
    throw std::invalid_argument("bad address " + src + " / " + dst);
  }
  return *this;
}
PacketBuilder& PacketBuilder::ipv4Options(int words) {
  optionWords_ = words;
  return *this;
}
PacketBuilder& PacketBuilder::fragment(uint16_t offset8, bool more) {
  frag_ = {offset8, more};
  return *this;
}
PacketBuilder& PacketBuilder::ext(uint8_t type) {
  ext_.push_back(type);
  return *this;
}
PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags) {
  proto_ = 6;
  sport_ = sport;
  dport_ = dport;
  seq_ = seq;
  tcpFlags_ = flags;
  return *this;
}
PacketBuilder& PacketBuilder::timestamps(uint32_t tsval, uint32_t tsecr, bool plainLayout) {
  ts_ = {tsval, tsecr};
  tsPlain_ = plainLayout;
  return *this;
}
PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport) {
  proto_ = 17;
  sport_ = sport;
  dport_ = dport;
  return *this;
}
PacketBuilder& PacketBuilder::icmp() {
  proto_ = v6_ ? 58 : 1;
  return *this;
}
PacketBuilder& PacketBuilder::payload(size_t bytes) {
  payload_ = bytes;
  return *this;
}
PacketBuilder& PacketBuilder::rawEtherType(uint16_t type) {
  rawType_ = type;
  return *this;
}
PacketBuilder& PacketBuilder::truncate(size_t bytes) {
  truncate_ = bytes;
  return *this;
}

std::vector<uint8_t> PacketBuilder::build() const {
  // L4 header + payload.
  std::vector<uint8_t> l4;
  if (proto_ == 6) {
    std::vector<uint8_t> opts;
    if (ts_) {
      if (!tsPlain_) {
        opts = {2, 4, 0x05, 0xb4, 4, 2};  // MSS 1460, SACK permitted
      } else {
        opts = {1, 1};
      }
      opts.push_back(8);
      opts.push_back(10);
      put32(opts, ts_->first);
      put32(opts, ts_->second);
      while (opts.size() % 4) {
        opts.push_back(1);
      }
    }
    put16(l4, sport_);
    put16(l4, dport_);
    put32(l4, seq_);
    put32(l4, 0);  // ack
    l4.push_back(static_cast<uint8_t>(((20 + opts.size()) / 4) << 4));
    l4.push_back(tcpFlags_);
    put16(l4, 65535);
    put16(l4, 0);
    put16(l4, 0);
    l4.insert(l4.end(), opts.begin(), opts.end());
  } else if (proto_ == 17) {
    put16(l4, sport_);
    put16(l4, dport_);
    put16(l4, static_cast<uint16_t>(8 + payload_));
    put16(l4, 0);
  } else if (proto_ == 1 || proto_ == 58) {
    l4 = {8, 0, 0, 0, 0x12, 0x34, 0, 1};  // echo request id 0x1234 seq 1
  }
  l4.insert(l4.end(), payload_, 0xab);

  std::vector<uint8_t> l3;
  uint16_t etherType = v6_ ? 0x86dd : 0x0800;
  if (!src_.empty() && !v6_) {
    size_t hlen = 20 + 4 * optionWords_;
    l3.push_back(static_cast<uint8_t>(0x40 | (hlen / 4)));
    l3.push_back(0);
    put16(l3, static_cast<uint16_t>(hlen + l4.size()));
    put16(l3, 0x4242);
    uint16_t frag = 0;
    if (frag_) {
      frag = static_cast<uint16_t>((frag_->first & 0x1fff) | (frag_->second ? 0x2000 : 0));
    }
    put16(l3, frag);
    l3.push_back(64);
    l3.push_back(proto_);
    put16(l3, 0);
    l3.insert(l3.end(), src_.begin(), src_.end());
    l3.insert(l3.end(), dst_.begin(), dst_.end());
    for (int i = 0; i < optionWords_; ++i) {
      put32(l3, i + 1 == optionWords_ ? 0x01010100u : 0x01010101u);  // NOPs, then EOL
    }
    uint16_t sum = ipv4Checksum(l3.data(), hlen);
    l3[10] = static_cast<uint8_t>(sum >> 8);
    l3[11] = static_cast<uint8_t>(sum);
    l3.insert(l3.end(), l4.begin(), l4.end());
  } else if (v6_) {
    std::vector<uint8_t> exts;
    std::vector<uint8_t> chain = ext_;
    if (frag_) {
      chain.push_back(44);
    }
    for (size_t i = 0; i < chain.size(); ++i) {
      uint8_t next = i + 1 < chain.size() ? chain[i + 1] : proto_;
      exts.push_back(next);
      if (chain[i] == 44) {
        exts.push_back(0);
        put16(exts, static_cast<uint16_t>((frag_->first << 3) | (frag_->second ? 1 : 0)));
        put32(exts, 0xdeadbeef);
      } else {
        exts.push_back(1);  // 16 bytes: PadN option filling the rest
        exts.push_back(1);
        exts.push_back(12);
        exts.insert(exts.end(), 12, 0);
      }
    }
    put32(l3, 0x60000000u);
    put16(l3, static_cast<uint16_t>(exts.size() + l4.size()));
    l3.push_back(chain.empty() ? proto_ : chain[0]);
    l3.push_back(64);
    l3.insert(l3.end(), src_.begin(), src_.end());
    l3.insert(l3.end(), dst_.begin(), dst_.end());
    l3.insert(l3.end(), exts.begin(), exts.end());
    l3.insert(l3.end(), l4.begin(), l4.end());
  }
  if (rawType_) {
    etherType = *rawType_;
    if (l3.empty()) {
      l3.assign(28, 0x11);  // something ARP-sized
    }
  }

  std::vector<uint8_t> frame = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (const Tag& t : tags_) {
    put16(frame, t.tpid);
    put16(frame, t.id);
  }
  if (ppp_) {
    put16(frame, 0x8864);
    frame.push_back(0x11);  // version 1, type 1
    frame.push_back(0x00);  // session data
    put16(frame, 0x1234);
    put16(frame, static_cast<uint16_t>(l3.size() + 2));
    put16(frame, *ppp_ ? *ppp_ : (v6_ ? 0x0057 : 0x0021));
  } else if (mplsLabels_ > 0) {
    put16(frame, 0x8847);
    for (int i = 0; i < mplsLabels_; ++i) {
      uint32_t label = 100 + i;
      put32(frame, (label << 12) | (i + 1 == mplsLabels_ ? 0x100u : 0u) | 64u);
    }
  } else {
    put16(frame, etherType);
  }
  frame.insert(frame.end(), l3.begin(), l3.end());
  while (frame.size() < 60 && !truncate_) {
    frame.push_back(0);  // Ethernet minimum
  }
  if (truncate_ && *truncate_ < frame.size()) {
    frame.resize(*truncate_);
  }
  return frame;
}

std::string hexDump(const std::vector<uint8_t>& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 16) {
    out += fmt::format("{:04x} ", i);
    for (size_t j = i; j < i + 16 && j < bytes.size(); ++j) {
      out += fmt::format(" {:02x}", bytes[j]);
    }
    out += '\n';
  }
  return out;
}

}  // namespace sluice::bpftest
