#include "lab/HaNetwork.h"

#include <fstream>

#include <fmt/format.h>

#include "lab/Command.h"
#include "lab/Network.h"

namespace fs = std::filesystem;

namespace sluice::lab {

namespace {

using std::chrono::seconds;

Argv ipIn(const std::string& ns, std::initializer_list<std::string> args) {
  Argv out{"ip", "-n", ns};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

}  // namespace

Result<void> writeText(const std::string& path, const std::string& text, fs::perms perms) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    return makeError(errno, "cannot write " + path);
  }
  std::error_code ec;
  fs::permissions(path, perms, ec);
  return {};
}

std::string frrConfig(const std::string& router, const std::string& routerId, bool core,
                      const std::string& logFile) {
  std::string text =
      fmt::format("frr defaults traditional\nhostname {}\nlog file {}\n!\n", router, logFile);
  for (const HaPath& p : kHaPaths) {
    text += fmt::format(
        "interface {}\n ip ospf network point-to-point\n ip ospf hello-interval 1\n"
        " ip ospf dead-interval 3\n ip ospf cost {}\n!\n",
        core ? p.coreIf : p.distIf, p.cost);
  }
  // SPF at once on a change (then at most one a second); LSAs originated and accepted back to
  // back (RFC 2328's MinLSInterval of 5 s and MinLSArrival of 1 s would hold a drain that
  // follows a restore, or a link event that follows either).
  text += fmt::format(
      "router ospf\n ospf router-id {}\n timers throttle spf 0 50 1000\n"
      " timers throttle lsa all 0\n timers lsa min-arrival 0\n redistribute connected\n"
      " redistribute kernel\n"
      " network 192.0.2.4/30 area 0\n network 192.0.2.8/30 area 0\n!\n",
      routerId);
  return text;
}

Result<void> startFrr(const std::string& ns, const std::string& dir, const std::string& conf) {
  const std::string runDir = "/run/frr/" + ns;
  std::error_code ec;
  fs::create_directories(runDir, ec);
  fs::create_directories(dir, ec);
  // The daemons run as frr: they must read the config and write their logs and pid files.
  for (const std::string& path : {runDir, dir}) {
    if (auto owned = runChecked({"chown", "frr:frr", path}); !owned) {
      return std::unexpected(owned.error());
    }
  }
  const std::string confPath = dir + "/frr.conf";
  if (auto written = writeText(confPath, conf, fs::perms(0644)); !written) {
    return written;
  }
  for (const char* daemon : {kZebra, kOspfd}) {
    const std::string name = fs::path(daemon).filename().string();
    if (auto started = runChecked(
            inNs(ns, {daemon, "-d", "-N", ns, "-f", confPath, "-i", dir + "/" + name + ".pid",
                      "--log", "file:" + dir + "/" + name + ".log"}),
            {}, seconds(30));
        !started) {
      return std::unexpected(started.error());
    }
  }
  return {};
}

Result<std::string> writeHookScript(const std::string& stateDir) {
  const std::string path = stateDir + "/ospf-cost.sh";
  const std::string text = fmt::format(
      "#!/bin/sh\n"
      "# The HA lab's routing hook (sluice lab ha): sets the OSPF cost of one path on both\n"
      "# routers through vtysh. Usage: ospf-cost.sh CORE_IF DIST_IF COST\n"
      "set -e\n"
      "ip netns exec {0} vtysh -N {0} -c 'configure terminal' -c \"interface $1\" "
      "-c \"ip ospf cost $3\"\n"
      "ip netns exec {1} vtysh -N {1} -c 'configure terminal' -c \"interface $2\" "
      "-c \"ip ospf cost $3\"\n",
      kHaCoreNs, kHaDistNs);
  if (auto written = writeText(path, text, fs::perms(0755)); !written) {
    return std::unexpected(written.error());
  }
  return path;
}

Result<void> buildRouters(const std::vector<IpNet>& hosts) {
  for (const std::string& ns : kHaNamespaces) {
    if (auto done = configureNamespace(ns, true); !done) {
      return done;
    }
  }
  for (const char* router : {kHaCoreNs, kHaDistNs}) {
    if (auto done = runChecked(
            inNs(router, {"sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                          "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"}));
        !done) {
      return std::unexpected(done.error());
    }
  }
  std::string subsBatch = "address add 192.0.2.14/30 dev subs0\n";
  std::string routeBatch;
  for (const IpNet& host : hosts) {
    subsBatch += fmt::format("address add {}/32 dev subs0\n", host.toString());
    routeBatch += fmt::format("route add {}/32 dev dist-subs\n", host.toString());
  }
  auto done = runAll({
      ipIn(kHaCoreNs, {"link", "add", "core-inet", "type", "veth", "peer", "name", "inet0", "netns",
                       kHaInetNs}),
      ipIn(kHaDistNs, {"link", "add", "dist-subs", "type", "veth", "peer", "name", "subs0", "netns",
                       kHaSubsNs}),
      ipIn(kHaCoreNs, {"address", "add", "192.0.2.1/30", "dev", "core-inet"}),
      ipIn(kHaCoreNs, {"link", "set", "core-inet", "up"}),
      ipIn(kHaInetNs, {"address", "add", "192.0.2.2/30", "dev", "inet0"}),
      ipIn(kHaInetNs, {"address", "add", std::string(kHaServerAddress) + "/32", "dev", "inet0"}),
      ipIn(kHaInetNs, {"link", "set", "inet0", "up"}),
      ipIn(kHaInetNs, {"route", "add", "default", "via", "192.0.2.1"}),
      ipIn(kHaCoreNs, {"route", "add", std::string(kHaServerAddress) + "/32", "via", "192.0.2.2"}),
      ipIn(kHaDistNs, {"address", "add", "192.0.2.13/30", "dev", "dist-subs"}),
      ipIn(kHaDistNs, {"link", "set", "dist-subs", "up"}),
      // DESIGN §5: no partial checksums leave the traffic endpoints.
      inNs(kHaInetNs, {"ethtool", "-K", "inet0", "tx", "off"}),
      inNs(kHaSubsNs, {"ethtool", "-K", "subs0", "tx", "off"}),
  });
  if (!done) {
    return done;
  }
  if (auto added = runChecked({"ip", "-n", kHaSubsNs, "-batch", "-"}, subsBatch); !added) {
    return std::unexpected(added.error());
  }
  if (auto up = runAll({ipIn(kHaSubsNs, {"link", "set", "subs0", "up"}),
                        ipIn(kHaSubsNs, {"route", "add", "default", "via", "192.0.2.13"})});
      !up) {
    return up;
  }
  if (!routeBatch.empty()) {
    if (auto added = runChecked({"ip", "-n", kHaDistNs, "-batch", "-"}, routeBatch); !added) {
      return std::unexpected(added.error());
    }
  }
  for (const HaPath& p : kHaPaths) {
    if (auto built = createHaPath(p); !built) {
      return built;
    }
  }
  return {};
}

Result<void> createHaPath(const HaPath& p) {
  const std::string n = std::to_string(kShaperQueues);
  auto done = runAll({
      ipIn(p.ns, {"link", "add", kShaperInternetIf, "numtxqueues", n, "numrxqueues", n, "type",
                  "veth", "peer", "name", p.coreIf, "netns", kHaCoreNs}),
      ipIn(p.ns, {"link", "add", kShaperNetworkIf, "numtxqueues", n, "numrxqueues", n, "type",
                  "veth", "peer", "name", p.distIf, "netns", kHaDistNs}),
      ipIn(p.ns, {"link", "add", kShaperBridge, "type", "bridge", "mcast_snooping", "0"}),
      ipIn(p.ns, {"link", "set", kShaperInternetIf, "master", kShaperBridge, "up"}),
      ipIn(p.ns, {"link", "set", kShaperNetworkIf, "master", kShaperBridge, "up"}),
      ipIn(p.ns, {"link", "set", kShaperBridge, "up"}),
      ipIn(kHaCoreNs, {"address", "add", p.coreAddress, "dev", p.coreIf}),
      ipIn(kHaDistNs, {"address", "add", p.distAddress, "dev", p.distIf}),
      inNs(kHaCoreNs, {"ethtool", "-K", p.coreIf, "tx", "off"}),
      inNs(kHaDistNs, {"ethtool", "-K", p.distIf, "tx", "off"}),
      ipIn(kHaCoreNs, {"link", "set", p.coreIf, "up"}),
      ipIn(kHaDistNs, {"link", "set", p.distIf, "up"}),
  });
  if (!done) {
    return done;
  }
  for (const char* dev : {kShaperInternetIf, kShaperNetworkIf}) {
    if (auto cleared = clearXps(p.ns, dev, kShaperQueues); !cleared) {
      return cleared;
    }
  }
  return {};
}

Result<void> deleteHaPath(const HaPath& p) {
  return runAll({ipIn(p.ns, {"link", "del", kShaperInternetIf}),
                 ipIn(p.ns, {"link", "del", kShaperNetworkIf}),
                 ipIn(p.ns, {"link", "del", kShaperBridge})});
}

std::string carryingPath(const std::string& subscriber) {
  const auto via = [](const std::string& ns, const std::string& to) -> std::string {
    auto out = run({"ip", "-n", ns, "-j", "route", "get", to}, {}, seconds(5));
    if (!out || out->exitCode != 0) {
      return "none";
    }
    const nlohmann::json routes = nlohmann::json::parse(out->out, nullptr, false);
    if (!routes.is_array() || routes.empty()) {
      return "none";
    }
    const std::string dev = routes[0].value("dev", std::string());
    for (const HaPath& p : kHaPaths) {
      if (dev == p.coreIf || dev == p.distIf) {
        return p.name;
      }
    }
    return "none";
  };
  const std::string core = via(kHaCoreNs, subscriber);
  const std::string dist = via(kHaDistNs, kHaServerAddress);
  return core == dist ? core : fmt::format("core {}, dist {}", core, dist);
}

}  // namespace sluice::lab
