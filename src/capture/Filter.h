#pragma once
// The kernel packet filter of one capture: only the requested subscriber's packets, selected in
// the kernel (libpcap compiles the expression to classic BPF and attaches it to the capture
// socket with SO_ATTACH_FILTER, so other subscribers' packets are never copied to user space).
// Knows nothing of the daemon or the model: callers pass the prefixes.

#include <cstdint>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"

namespace sluice::capture {

/// The pcap-filter(7) expression matching packets to or from any of `prefixes` (IPv4 and IPv6;
/// hosts as "host A", prefixes as "net P/N"), e.g.
///   "host 100.64.0.5 or net 2001:db8:1::/56"
/// With `vlanTagged` (a shaper on a stick sees 802.1Q frames) the same test is also applied
/// behind one VLAN tag: "(F) or (vlan and (F))". Duplicates and prefixes inside another of the
/// list are dropped. Errors: EINVAL when `prefixes` is empty (a capture of everything is never
/// what a per-subscriber capture means).
Result<std::string> filterExpression(const std::vector<IpNet>& prefixes, bool vlanTagged);

/// Compiles `expression` for Ethernet frames (DLT_EN10MB) with `snaplen`, the way a live capture
/// will, without opening a device. Errors: EINVAL with libpcap's message.
Result<void> validateFilter(const std::string& expression, int snaplen);

/// True when the compiled `expression` accepts `frame` (an Ethernet frame) — the same classic
/// BPF program the kernel runs, interpreted by libpcap (pcap_offline_filter). For tests and
/// for checking a filter against a sample packet. Errors: as validateFilter.
Result<bool> filterAccepts(const std::string& expression, const std::vector<uint8_t>& frame);

}  // namespace sluice::capture
