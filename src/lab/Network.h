#pragma once
// Building and removing the lab's namespaces, links and addresses (the diagram is in Layout.h).
// Every change goes through `ip`, `bridge`, `ethtool`, `sysctl` and `tee` run with argv vectors
// (lab/Command.h) and happens inside namespaces the lab creates; the host's own namespace is
// never touched.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"
#include "lab/Command.h"
#include "lab/Layout.h"

namespace sluice::lab {

struct NetworkSpec {
  LabMode mode = LabMode::Bridge;
  uint16_t internetVlan = 2;  ///< on a stick
  uint16_t networkVlan = 3;   ///< on a stick
  std::vector<IpNet> subscriberHosts;  ///< every host address the subs namespace gets
};

/// Runs each command in order; stops at the first failure (its error names the command).
Result<void> runAll(const std::vector<Argv>& commands);

/// `ip netns exec NS argv...`.
Argv inNs(const std::string& ns, Argv argv);

/// Creates namespace `ns` with lo up. Quiet and deterministic: no IPv6 DAD delay on endpoints;
/// with `switchOnly` no IPv6 at all (a namespace that only switches frames sends nothing of its
/// own). Errors name the failing command.
Result<void> configureNamespace(const std::string& ns, bool switchOnly);

/// Clears xps_cpus and xps_rxqs on every tx queue of `dev` in namespace `ns` (DESIGN §1: with
/// XPS off a forwarded packet's queue_mapping picks its tx queue).
Result<void> clearXps(const std::string& ns, const std::string& dev, uint32_t txQueues);

/// Creates the namespaces, links, bridge(s), addresses and onlink routes of `spec`. Turns tx
/// checksum offload off on the traffic endpoints (isp0, subs0: DESIGN §5, frames redirected by
/// XDP lose the "checksum to be finished" state and TCP would stall) and VLAN tx offload off on
/// the switch's trunk port (so the shaper's XDP sees the 802.1Q tag in the frame, as from a NIC),
/// and clears xps_cpus/xps_rxqs on every tx queue of the shaper ports (DESIGN §1: with XPS off a
/// forwarded packet's queue_mapping picks its tx queue). Errors name the failing command and its
/// stderr; the caller tears down whatever was built (destroyNetwork).
Result<void> createNetwork(const NetworkSpec& spec);

/// Why an on-a-stick lab cannot be built on this kernel ("" when it can): it needs 802.1Q VLAN
/// devices. Probes in a temporary namespace of its own.
std::string kernelLacksVlans();

/// The shaper ports sluiced is configured with: bridge {to_internet, to_network}; stick {the one}.
std::vector<std::string> shaperInterfaces(LabMode mode);

/// Lab namespaces that exist now (of kLabNamespaces).
std::vector<std::string> existingNamespaces();

/// Stops every process in the lab's namespaces (SIGTERM, then SIGKILL after `grace`) and deletes
/// the namespaces, which removes their links, bridges, XDP programs and qdiscs. Idempotent;
/// collects problems instead of stopping at the first (returned as text, empty = clean).
std::vector<std::string> destroyNetwork(std::chrono::milliseconds grace);

/// Pids of the processes in namespace `ns` (`ip netns pids`); empty when it does not exist.
std::vector<int> namespacePids(const std::string& ns);

/// Whether the running kernel accepts a root qdisc of `kind` (e.g. "cake") on `dev` in the
/// shaper namespace: adds it and removes it again. False on any failure.
bool kernelHasQdisc(const std::string& kind, const std::string& dev);

/// Starts one iperf3 server per port (kFirstPort.., `ports` of them) in namespace `ns` (the isp
/// namespace), logging to `logDir`/iperf3-<port>.log, and waits until each one listens.
Result<void> startIperfServers(const std::string& logDir, const std::string& ns = kIspNs,
                               uint16_t ports = kServerPorts);

}  // namespace sluice::lab
