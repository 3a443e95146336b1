#include "lab/Network.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "lab/Command.h"

namespace sluice::lab {

using std::chrono::milliseconds;

Result<void> runAll(const std::vector<Argv>& commands) {
  for (const Argv& argv : commands) {
    if (auto done = runChecked(argv); !done) {
      return std::unexpected(done.error());
    }
  }
  return {};
}

Argv inNs(const std::string& ns, Argv argv) {
  Argv out{"ip", "netns", "exec", ns};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

namespace {

Argv ipIn(const std::string& ns, std::initializer_list<std::string> args) {
  Argv out{"ip", "-n", ns};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

}  // namespace

Result<void> configureNamespace(const std::string& ns, bool switchOnly) {
  Argv sysctl{"sysctl", "-q", "-w"};
  if (switchOnly) {
    sysctl.insert(sysctl.end(),
                  {"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"});
  } else {
    sysctl.insert(sysctl.end(),
                  {"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"});
  }
  return runAll({{"ip", "netns", "add", ns}, inNs(ns, sysctl), ipIn(ns, {"link", "set", "lo", "up"})});
}

Result<void> clearXps(const std::string& ns, const std::string& dev, uint32_t txQueues) {
  Argv tee{"tee"};
  for (uint32_t q = 0; q < txQueues; ++q) {
    for (const char* file : {"xps_cpus", "xps_rxqs"}) {
      tee.push_back(fmt::format("/sys/class/net/{}/queues/tx-{}/{}", dev, q, file));
    }
  }
  if (auto done = runChecked(inNs(ns, tee), "0\n"); !done) {
    return std::unexpected(done.error());
  }
  return {};
}

namespace {

std::string queues(uint32_t n) { return std::to_string(n); }

/// Addresses and onlink default routes of one endpoint namespace.
Result<void> configureEndpoint(const std::string& ns, const std::string& dev,
                               const std::vector<IpNet>& hosts) {
  // One `ip -batch` for all addresses: a lab with thousands of circuits stays fast.
  std::string batch;
  for (const IpNet& host : hosts) {
    batch += fmt::format("address add {}/{} dev {}{}\n", host.toString(), host.userPrefixLen(),
                         dev, host.isV4 ? "" : " nodad");
  }
  if (!batch.empty()) {
    if (auto done = runChecked({"ip", "-n", ns, "-batch", "-"}, batch); !done) {
      return std::unexpected(done.error());
    }
  }
  return runAll({
      ipIn(ns, {"link", "set", dev, "up"}),
      ipIn(ns, {"-4", "route", "add", "default", "dev", dev}),
      ipIn(ns, {"-6", "route", "add", "default", "dev", dev}),
      // DESIGN §5: no partial checksums leave the endpoints.
      inNs(ns, {"ethtool", "-K", dev, "tx", "off"}),
  });
}

Result<void> createBridgeMode() {
  const std::string n = queues(kShaperQueues);
  return runAll({
      ipIn(kShaperNs, {"link", "add", kShaperInternetIf, "numtxqueues", n, "numrxqueues", n,
                       "type", "veth", "peer", "name", kIspIf, "numtxqueues", n, "numrxqueues",
                       n, "netns", kIspNs}),
      ipIn(kShaperNs, {"link", "add", kShaperNetworkIf, "numtxqueues", n, "numrxqueues", n,
                       "type", "veth", "peer", "name", kSubsIf, "numtxqueues", n, "numrxqueues",
                       n, "netns", kSubsNs}),
      ipIn(kShaperNs, {"link", "add", kShaperBridge, "type", "bridge", "mcast_snooping", "0"}),
      ipIn(kShaperNs, {"link", "set", kShaperInternetIf, "master", kShaperBridge, "up"}),
      ipIn(kShaperNs, {"link", "set", kShaperNetworkIf, "master", kShaperBridge, "up"}),
      ipIn(kShaperNs, {"link", "set", kShaperBridge, "up"}),
  });
}

Result<void> createStickMode(uint16_t internetVlan, uint16_t networkVlan) {
  const std::string n = queues(2 * kShaperQueues);
  const std::string inet = std::to_string(internetVlan);
  const std::string net = std::to_string(networkVlan);
  const auto sub = [](const char* dev, uint16_t vlan) { return fmt::format("{}.{}", dev, vlan); };
  if (auto done = configureNamespace(kSwitchNs, true); !done) {
    return done;
  }
  // The switch: the trunk's two VLAN subinterfaces, each bridged with one access port. (802.1Q
  // subinterfaces rather than a vlan_filtering bridge: the one kernel feature the shaper side
  // needs anyway.)
  return runAll({
      ipIn(kShaperNs, {"link", "add", kShaperStickIf, "numtxqueues", n, "numrxqueues", n, "type",
                       "veth", "peer", "name", kSwitchTrunkPort, "numtxqueues", n,
                       "numrxqueues", n, "netns", kSwitchNs}),
      ipIn(kSwitchNs, {"link", "add", kSwitchIspPort, "type", "veth", "peer", "name", kIspIf,
                       "netns", kIspNs}),
      ipIn(kSwitchNs, {"link", "add", kSwitchSubsPort, "type", "veth", "peer", "name", kSubsIf,
                       "netns", kSubsNs}),
      ipIn(kSwitchNs, {"link", "add", "link", kSwitchTrunkPort, "name",
                       sub(kSwitchTrunkPort, internetVlan), "type", "vlan", "id", inet}),
      ipIn(kSwitchNs, {"link", "add", "link", kSwitchTrunkPort, "name",
                       sub(kSwitchTrunkPort, networkVlan), "type", "vlan", "id", net}),
      ipIn(kSwitchNs, {"link", "add", kSwitchInternetBridge, "type", "bridge", "mcast_snooping",
                       "0"}),
      ipIn(kSwitchNs, {"link", "add", kSwitchNetworkBridge, "type", "bridge", "mcast_snooping",
                       "0"}),
      // A VLAN device cannot come up while its lower device is down (ENETDOWN).
      inNs(kSwitchNs, {"ethtool", "-K", kSwitchTrunkPort, "txvlan", "off"}),
      ipIn(kSwitchNs, {"link", "set", kSwitchTrunkPort, "up"}),
      ipIn(kSwitchNs, {"link", "set", kSwitchIspPort, "master", kSwitchInternetBridge, "up"}),
      ipIn(kSwitchNs, {"link", "set", sub(kSwitchTrunkPort, internetVlan), "master",
                       kSwitchInternetBridge, "up"}),
      ipIn(kSwitchNs, {"link", "set", kSwitchSubsPort, "master", kSwitchNetworkBridge, "up"}),
      ipIn(kSwitchNs, {"link", "set", sub(kSwitchTrunkPort, networkVlan), "master",
                       kSwitchNetworkBridge, "up"}),
      ipIn(kSwitchNs, {"link", "set", kSwitchInternetBridge, "up"}),
      ipIn(kSwitchNs, {"link", "set", kSwitchNetworkBridge, "up"}),
      // The shaper: one port, one VLAN subinterface per side, bridged.
      ipIn(kShaperNs, {"link", "add", "link", kShaperStickIf, "name",
                       sub(kShaperStickIf, internetVlan), "type", "vlan", "id", inet}),
      ipIn(kShaperNs, {"link", "add", "link", kShaperStickIf, "name",
                       sub(kShaperStickIf, networkVlan), "type", "vlan", "id", net}),
      ipIn(kShaperNs, {"link", "add", kShaperBridge, "type", "bridge", "mcast_snooping", "0"}),
      ipIn(kShaperNs, {"link", "set", kShaperStickIf, "up"}),
      ipIn(kShaperNs, {"link", "set", sub(kShaperStickIf, internetVlan), "master", kShaperBridge,
                       "up"}),
      ipIn(kShaperNs, {"link", "set", sub(kShaperStickIf, networkVlan), "master", kShaperBridge,
                       "up"}),
      ipIn(kShaperNs, {"link", "set", kShaperBridge, "up"}),
  });
}

}  // namespace

std::vector<std::string> shaperInterfaces(LabMode mode) {
  if (mode == LabMode::Stick) {
    return {kShaperStickIf};
  }
  return {kShaperInternetIf, kShaperNetworkIf};
}

std::string kernelLacksVlans() {
  const std::string ns = fmt::format("sluice-probe-{}", getpid());
  std::string reason;
  if (auto added = runChecked({"ip", "netns", "add", ns}); !added) {
    return added.error().message();
  }
  auto veth = runChecked(ipIn(ns, {"link", "add", "probe0", "type", "veth", "peer", "name",
                                   "probe1"}));
  auto vlan = veth ? runChecked(ipIn(ns, {"link", "add", "link", "probe0", "name", "probe0.2",
                                          "type", "vlan", "id", "2"}))
                   : veth;
  if (!vlan) {
    reason = fmt::format("this kernel cannot create 802.1Q VLAN devices (CONFIG_VLAN_8021Q): {}",
                         vlan.error().detail);
  }
  (void)run({"ip", "netns", "del", ns});
  return reason;
}

Result<void> createNetwork(const NetworkSpec& spec) {
  if (spec.mode == LabMode::Stick &&
      (spec.internetVlan == spec.networkVlan || spec.internetVlan == 0 ||
       spec.internetVlan > 4094 || spec.networkVlan == 0 || spec.networkVlan > 4094)) {
    return makeError(EINVAL, fmt::format("on a stick the two VLANs must differ and be 1..4094 "
                                         "(internet_vlan {}, network_vlan {})",
                                         spec.internetVlan, spec.networkVlan));
  }
  for (const auto& [ns, switchOnly] :
       {std::pair{kIspNs, false}, {kShaperNs, true}, {kSubsNs, false}}) {
    if (auto done = configureNamespace(ns, switchOnly); !done) {
      return done;
    }
  }
  auto built = spec.mode == LabMode::Bridge
                   ? createBridgeMode()
                   : createStickMode(spec.internetVlan, spec.networkVlan);
  if (!built) {
    return built;
  }
  const uint32_t txQueues = spec.mode == LabMode::Bridge ? kShaperQueues : 2 * kShaperQueues;
  for (const std::string& dev : shaperInterfaces(spec.mode)) {
    if (auto done = clearXps(kShaperNs, dev, txQueues); !done) {
      return done;
    }
  }
  const std::vector<IpNet> servers{*IpNet::parse(kServerV4), *IpNet::parse(kServerV6)};
  if (auto done = configureEndpoint(kIspNs, kIspIf, servers); !done) {
    return done;
  }
  return configureEndpoint(kSubsNs, kSubsIf, spec.subscriberHosts);
}

std::vector<std::string> existingNamespaces() {
  std::vector<std::string> out;
  for (const std::string& ns : kLabNamespaces) {
    if (std::filesystem::exists("/run/netns/" + ns)) {
      out.push_back(ns);
    }
  }
  return out;
}

std::vector<int> namespacePids(const std::string& ns) {
  std::vector<int> pids;
  auto output = run({"ip", "netns", "pids", ns});
  if (!output || output->exitCode != 0) {
    return pids;
  }
  size_t pos = 0;
  while (pos < output->out.size()) {
    size_t end = output->out.find('\n', pos);
    if (end == std::string::npos) {
      end = output->out.size();
    }
    const std::string line = output->out.substr(pos, end - pos);
    if (!line.empty()) {
      pids.push_back(std::stoi(line));
    }
    pos = end + 1;
  }
  return pids;
}

std::vector<std::string> destroyNetwork(std::chrono::milliseconds grace) {
  std::vector<std::string> problems;
  for (const std::string& ns : existingNamespaces()) {
    for (int pid : namespacePids(ns)) {
      if (!stopProcess(pid, SIGTERM, grace) && !stopProcess(pid, SIGKILL, milliseconds(2000))) {
        problems.push_back(fmt::format("process {} in namespace {} did not stop", pid, ns));
      }
    }
    if (auto done = runChecked({"ip", "netns", "del", ns}); !done) {
      problems.push_back(done.error().message());
    }
  }
  return problems;
}

bool kernelHasQdisc(const std::string& kind, const std::string& dev) {
  auto added =
      run({"tc", "-n", kShaperNs, "qdisc", "add", "dev", dev, "root", "handle", "1:", kind});
  if (!added || added->exitCode != 0) {
    return false;
  }
  (void)run({"tc", "-n", kShaperNs, "qdisc", "del", "dev", dev, "root"});
  return true;
}

Result<void> startIperfServers(const std::string& logDir, const std::string& ns,
                               uint16_t ports) {
  for (uint16_t i = 0; i < ports; ++i) {
    const std::string port = std::to_string(kFirstPort + i);
    auto pid = startDetached(inNs(ns, {"iperf3", "--server", "--port", port}),
                             fmt::format("{}/iperf3-{}.log", logDir, port));
    if (!pid) {
      return std::unexpected(pid.error());
    }
  }
  // Wait until every port listens. iperf3 binds within milliseconds, but in the guest kernel under
  // qemu's emulation on a loaded machine 16 servers took more than 10 s: allow 60 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto listening = runChecked(inNs(ns, {"ss", "-H", "-l", "-t", "-n"}));
    if (!listening) {
      return std::unexpected(listening.error());
    }
    uint16_t up = 0;
    std::string missing;
    for (uint16_t i = 0; i < ports; ++i) {
      if (listening->find(fmt::format(":{} ", kFirstPort + i)) != std::string::npos) {
        ++up;
      } else {
        missing += fmt::format(" {}", kFirstPort + i);
      }
    }
    if (up == ports) {
      return {};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return makeError(ETIMEDOUT,
                       fmt::format("only {} of {} iperf3 servers listen in namespace {} (not:{}; "
                                   "logs: {}/iperf3-*.log)",
                                   up, ports, ns, missing, logDir),
                       *listening);
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
}

}  // namespace sluice::lab
