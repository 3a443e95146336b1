#include "capture/Filter.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

namespace sluice::capture {

namespace {

using DeadHandle = std::unique_ptr<pcap_t, decltype(&pcap_close)>;

/// A compiled program on a dead Ethernet handle; freed with pcap_freecode.
struct Compiled {
  DeadHandle handle{nullptr, &pcap_close};
  bpf_program program{};
  ~Compiled() {
    if (program.bf_insns != nullptr) {
      pcap_freecode(&program);
    }
  }
};

Result<void> compile(const std::string& expression, int snaplen, Compiled& out) {
  out.handle.reset(pcap_open_dead(DLT_EN10MB, snaplen));
  if (!out.handle) {
    return makeError(ENOMEM, "pcap_open_dead");
  }
  if (pcap_compile(out.handle.get(), &out.program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) !=
      0) {
    return makeError(EINVAL, fmt::format("packet filter \"{}\"", expression),
                     pcap_geterr(out.handle.get()));
  }
  return {};
}

}  // namespace

Result<std::string> filterExpression(const std::vector<IpNet>& prefixes, bool vlanTagged) {
  if (prefixes.empty()) {
    return makeError(EINVAL, "a capture needs at least one address or prefix");
  }
  std::vector<IpNet> kept;
  for (const IpNet& p : prefixes) {
    const bool covered = std::any_of(prefixes.begin(), prefixes.end(), [&](const IpNet& other) {
      return other != p && other.contains(p);
    });
    if (!covered && std::find(kept.begin(), kept.end(), p) == kept.end()) {
      kept.push_back(p);
    }
  }
  std::sort(kept.begin(), kept.end());
  std::string test;
  for (const IpNet& p : kept) {
    if (!test.empty()) {
      test += " or ";
    }
    const bool host = p.prefixLen == 128;  // /32 and /128 alike in the 128-bit form
    test += host ? "host " + p.toString() : "net " + p.toString();
  }
  if (!vlanTagged) {
    return test;
  }
  return fmt::format("({}) or (vlan and ({}))", test, test);
}

Result<void> validateFilter(const std::string& expression, int snaplen) {
  Compiled compiled;
  return compile(expression, snaplen, compiled);
}

Result<bool> filterAccepts(const std::string& expression, const std::vector<uint8_t>& frame) {
  Compiled compiled;
  if (auto ok = compile(expression, 65535, compiled); !ok) {
    return std::unexpected(ok.error());
  }
  pcap_pkthdr header{};
  header.caplen = static_cast<bpf_u_int32>(frame.size());
  header.len = header.caplen;
  return pcap_offline_filter(&compiled.program, &header, frame.data()) != 0;
}

}  // namespace sluice::capture
