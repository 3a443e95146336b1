#include "lab/Layout.h"

namespace sluice::lab {

namespace {

/// Adds `value` to the 128-bit big-endian address.
void addToAddress(std::array<uint8_t, 16>& addr, uint32_t value) {
  uint64_t carry = value;
  for (int i = 15; i >= 0 && carry != 0; --i) {
    const uint64_t sum = addr[static_cast<size_t>(i)] + (carry & 0xFF);
    addr[static_cast<size_t>(i)] = static_cast<uint8_t>(sum & 0xFF);
    carry = (carry >> 8) + (sum >> 8);
  }
}

bool inAnyCircuit(const model::ShapedDevices& shaped, const IpNet& host) {
  for (const model::Circuit& circuit : shaped.circuits) {
    for (const model::Device& device : circuit.devices) {
      for (const auto* list : {&device.ipv4, &device.ipv6}) {
        for (const IpNet& net : *list) {
          if (net.contains(host)) {
            return true;
          }
        }
      }
    }
  }
  return false;
}

}  // namespace

IpNet hostFor(const IpNet& entry) {
  IpNet host = entry;
  host.prefixLen = 128;
  // A /31 (IPv4 point-to-point, RFC 3021) has no network address to skip.
  if (entry.prefixLen < 127) {
    addToAddress(host.addr, 1);
  }
  return host;
}

std::vector<CircuitHosts> circuitHosts(const model::ShapedDevices& shaped) {
  std::vector<CircuitHosts> out;
  out.reserve(shaped.circuits.size());
  for (const model::Circuit& circuit : shaped.circuits) {
    CircuitHosts hosts{circuit.id, circuit.name, {}, {}};
    for (const model::Device& device : circuit.devices) {
      for (const IpNet& net : device.ipv4) {
        hosts.ipv4.push_back(hostFor(net));
      }
      for (const IpNet& net : device.ipv6) {
        hosts.ipv6.push_back(hostFor(net));
      }
    }
    out.push_back(std::move(hosts));
  }
  return out;
}

std::optional<IpNet> unknownAddress(const model::ShapedDevices& shaped, bool v4) {
  IpNet candidate = *IpNet::parse(v4 ? "100.127.255.254" : "2001:db8:fffe::1");
  for (int attempt = 0; attempt < 4096; ++attempt) {
    if (!inAnyCircuit(shaped, candidate)) {
      return candidate;
    }
    if (v4) {
      // Walk down through the CGNAT range one /24 at a time: 100.127.254.254, 100.127.253.254...
      const int next = attempt + 1;
      candidate.addr[13] = static_cast<uint8_t>(127 - next / 256);
      candidate.addr[14] = static_cast<uint8_t>(255 - next % 256);
    } else {
      // 2001:db8:fffd::1, 2001:db8:fffc::1, ...: one /48 down each time.
      const int group = 0xfffe - (attempt + 1);
      candidate.addr[4] = static_cast<uint8_t>(group >> 8);
      candidate.addr[5] = static_cast<uint8_t>(group & 0xFF);
    }
  }
  return std::nullopt;
}

}  // namespace sluice::lab
