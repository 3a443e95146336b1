#include "telemetry/MapRead.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>

#include <algorithm>
#include <cstring>

#include "dataplane/BatchLookup.h"
#include "dataplane/Readers.h"

namespace sluice::telemetry {

Addr Addr::fromBytes(const uint8_t (&bytes)[16]) {
  Addr a;
  std::memcpy(&a.hi, bytes, 8);
  std::memcpy(&a.lo, bytes + 8, 8);
  return a;
}

namespace {

void toBytes(const Addr& a, uint8_t (&out)[16]) {
  std::memcpy(out, &a.hi, 8);
  std::memcpy(out + 8, &a.lo, 8);
}

}  // namespace

Result<void> readHosts(int hostsFd, std::vector<HostSample>& out) {
  out.clear();
  return dataplane::forEachHost(hostsFd, [&](const dataplane::HostCounters& hc) {
    HostSample h;
    uint8_t bytes[16];
    std::memcpy(bytes, hc.address.addr.data(), 16);
    h.addr = Addr::fromBytes(bytes);
    h.bytes = hc.bytes;
    h.packets = hc.packets;
    h.protoPackets = hc.protoPackets;
    h.lastSeenNs = hc.lastSeenNs;
    out.push_back(h);
  });
}

Result<void> readFlowTable(int flowsFd, std::vector<sluice_flow_key>& keys,
                           std::vector<sluice_flow>& flows) {
  keys.clear();
  flows.clear();
  auto r = dataplane::lookupBatchWalk<sluice_flow_key>(
      flowsFd, sizeof(sluice_flow), "the flow table",
      [&](const sluice_flow_key* k, const uint8_t* values, uint32_t count) {
        keys.insert(keys.end(), k, k + count);
        const size_t at = flows.size();
        flows.resize(at + count);
        std::memcpy(flows.data() + at, values, count * sizeof(sluice_flow));
      });
  if (r || r.error().errnum != EOPNOTSUPP) {
    return r;
  }
  auto all = dataplane::readFlows(flowsFd);
  if (!all) {
    return std::unexpected(all.error());
  }
  for (const auto& rec : *all) {
    keys.push_back(rec.key);
    flows.push_back(rec.flow);
  }
  return {};
}

std::string addrToString(const Addr& addr) {
  uint8_t bytes[16];
  toBytes(addr, bytes);
  return dataplane::addressFromBytes(bytes).toString();
}

}  // namespace sluice::telemetry
