#pragma once
// A small packet builder for the BPF fixtures: describe the layers, get the frame bytes.
// Lengths and the IPv4 header checksum are filled in; nothing else is validated, so tests can
// also build broken packets (truncate(), rawEtherType()).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::bpftest {

class PacketBuilder {
 public:
  /// 802.1Q (0x8100) or 802.1ad (0x88a8) tag, outermost first.
  PacketBuilder& vlan(uint16_t id, uint16_t tpid = 0x8100);
  /// PPPoE session header (session 0x1234) + PPP protocol for the IP version in use.
  PacketBuilder& pppoe(uint16_t pppProtocol = 0);
  /// `labels` MPLS label stack entries (last one bottom-of-stack).
  PacketBuilder& mpls(int labels);
  /// IPv4 or IPv6 addresses, picked by the text ("10.0.0.1", "2001:db8::1").
  PacketBuilder& ip(const std::string& src, const std::string& dst);
  /// IPv4 only: `words` 32-bit words of options (NOPs + EOL).
  PacketBuilder& ipv4Options(int words);
  /// IPv4: fragment offset in 8-byte units and the more-fragments flag. IPv6: adds a fragment
  /// extension header with that offset.
  PacketBuilder& fragment(uint16_t offset8, bool more);
  /// IPv6 extension header (0 hop-by-hop, 60 destination options, 43 routing), in order.
  PacketBuilder& ext(uint8_t type);
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint32_t seq = 1000, uint8_t flags = 0x10);
  /// TCP timestamps option (NOP, NOP, TS); `plainLayout` = false puts an MSS option first so
  /// the dissector has to walk the options.
  PacketBuilder& timestamps(uint32_t tsval, uint32_t tsecr, bool plainLayout = true);
  PacketBuilder& udp(uint16_t sport, uint16_t dport);
  PacketBuilder& icmp();
  PacketBuilder& payload(size_t bytes);
  /// Ethertype after the tags when no IP layer is wanted (ARP 0x0806 ...).
  PacketBuilder& rawEtherType(uint16_t type);
  /// Cuts the finished frame to `bytes`.
  PacketBuilder& truncate(size_t bytes);

  std::vector<uint8_t> build() const;

 private:
  struct Tag {
    uint16_t tpid;
    uint16_t id;
  };
  std::vector<Tag> tags_;
  std::optional<uint16_t> ppp_;
  int mplsLabels_ = 0;
  std::vector<uint8_t> src_, dst_;
  bool v6_ = false;
  int optionWords_ = 0;
  std::optional<std::pair<uint16_t, bool>> frag_;
  std::vector<uint8_t> ext_;
  uint8_t proto_ = 0;
  uint16_t sport_ = 0, dport_ = 0;
  uint32_t seq_ = 0;
  uint8_t tcpFlags_ = 0;
  std::optional<std::pair<uint32_t, uint32_t>> ts_;
  bool tsPlain_ = true;
  size_t payload_ = 0;
  std::optional<uint16_t> rawType_;
  std::optional<size_t> truncate_;
};

/// "0000  45 00 ...", 16 bytes a line: how a failing fixture shows its packet.
std::string hexDump(const std::vector<uint8_t>& bytes);

}  // namespace sluice::bpftest
