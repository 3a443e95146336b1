#include "Topology.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <array>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <stdexcept>

namespace sluice::realframe {

bool shell(const std::string& cmd, std::string* out) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen((cmd + " 2>&1").c_str(), "r"), pclose);
  if (!p) {
    return false;
  }
  std::array<char, 4096> buf{};
  std::string text;
  while (fgets(buf.data(), buf.size(), p.get()) != nullptr) {
    text += buf.data();
  }
  int status = pclose(p.release());
  if (out != nullptr) {
    *out = std::move(text);
  }
  return status == 0;
}

namespace {

std::string mac(const uint8_t (&m)[6]) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

nlohmann::json jsonOf(const std::string& cmd) {
  std::string out;
  if (!shell(cmd, &out)) {
    throw std::runtime_error(cmd + ": " + out);
  }
  return nlohmann::json::parse(out);
}

}  // namespace

void Topology::exec(const std::string& ns, const std::string& cmd) {
  std::string full = ns.empty() ? cmd : "ip netns exec " + ns + " " + cmd;
  std::string out;
  if (!shell(full, &out)) {
    throw std::runtime_error(full + ": " + out);
  }
}

Topology::Topology(bool holder) {
  std::string id = std::to_string(getpid());
  inet_ = "rfi-" + id;
  shaper_ = "rfs-" + id;
  subs_ = "rfb-" + id;
  for (const auto& ns : {inet_, shaper_, subs_}) {
    exec("", "ip netns add " + ns);
    // No IPv6 on any end: no router or neighbour solicitation mixes with the measured frames.
    exec(ns, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
  }
  const std::string S = shaper_;
  exec(S, "ip link add i1 numtxqueues 2 numrxqueues 2 type veth peer name i0 netns " + inet_ +
              " numtxqueues 2 numrxqueues 2");
  exec(S, "ip link add s1 numtxqueues 2 numrxqueues 2 type veth peer name s0 netns " + subs_ +
              " numtxqueues 2 numrxqueues 2");
  exec(S, "ip link add br0 type bridge");
  exec(S, "ip link set i1 master br0");
  exec(S, "ip link set s1 master br0");
  for (const char* d : {"lo", "i1", "s1", "br0"}) {
    exec(S, std::string("ip link set ") + d + " up");
  }
  exec(inet_, "ip link set i0 up");
  exec(subs_, "ip link set s0 up");
  exec(S, "bridge fdb add " + mac(kSinkMac) + " dev s1 master static");
  // HTB per tx queue of s1, as the bakery builds it: mq 7fff:, major = queue, default M:2.
  const std::string tc = "tc ";
  exec(S, tc + "qdisc add dev s1 root handle 7fff: mq");
  for (int q = 1; q <= 2; ++q) {
    std::string parent = fmt::format("7fff:{}", q);
    if (holder) {  // the line planner/TcBatch.cpp writes for a holder
      exec(S, fmt::format("tc qdisc add dev s1 parent {} handle {:x}: tbf rate 400000000000bit "
                          "burst 4194304 limit 1514000",
                          parent, 0x7FFF - q));
      parent = fmt::format("{:x}:1", 0x7FFF - q);
    }
    exec(S, fmt::format("tc qdisc add dev s1 parent {} handle {}: htb default 2", parent, q));
    exec(S, fmt::format("tc class add dev s1 parent {0}: classid {0}:1 htb rate 10gbit "
                        "quantum 1514",
                        q));
    exec(S, fmt::format("tc class add dev s1 parent {0}:1 classid {0}:2 htb rate 1gbit "
                        "ceil 10gbit prio 5 quantum 1514",
                        q));
  }
  for (const char* leaf : {"1:30", "2:30", "2:34", "2:40"}) {
    std::string parent = std::string(1, leaf[0]) + ":1";
    exec(S, fmt::format("tc class add dev s1 parent {} classid {} htb rate 1gbit ceil 10gbit "
                        "prio 3 quantum 1514",
                        parent, leaf));
  }
  exec(S,
       "sh -c 'for f in /sys/class/net/s1/queues/tx-*/xps_cpus "
       "/sys/class/net/i1/queues/tx-*/xps_cpus; do echo 0 > $f; done'");
  i1_ = inShaper([] { return static_cast<int>(if_nametoindex("i1")); });
  s1_ = inShaper([] { return static_cast<int>(if_nametoindex("s1")); });
  if (i1_ <= 0 || s1_ <= 0) {
    throw std::runtime_error("if_nametoindex(i1/s1) in " + shaper_ + " failed");
  }
}

Topology::~Topology() {
  for (const auto& ns : {inet_, shaper_, subs_}) {
    shell("ip netns del " + ns);
  }
}

int Topology::enter(const std::string& ns) const {
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = self >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
  if (target >= 0) {
    close(target);
  }
  if (!ok) {
    if (self >= 0) {
      close(self);
    }
    throw std::runtime_error("cannot enter network namespace " + ns);
  }
  return self;
}

void Topology::leave(int self) const {
  int rc = setns(self, CLONE_NEWNET);
  close(self);
  if (rc != 0) {
    throw std::runtime_error("cannot return to the original network namespace");
  }
}

uint32_t Topology::linkCounter(const std::string& ns, const std::string& dev, bool rx) const {
  return inNamespace(ns, [&] {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) {
      throw std::runtime_error("getifaddrs in " + ns + " failed");
    }
    std::optional<uint32_t> packets;
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr != nullptr && a->ifa_addr->sa_family == AF_PACKET && a->ifa_data &&
          dev == a->ifa_name) {
        const auto* st = static_cast<const rtnl_link_stats*>(a->ifa_data);
        packets = rx ? st->rx_packets : st->tx_packets;
      }
    }
    freeifaddrs(list);
    if (!packets) {
      throw std::runtime_error("no link statistics for " + dev + " in " + ns);
    }
    return *packets;
  });
}

uint32_t Topology::sinkRxPackets() const {
  return linkCounter(subs_, "s0", true);
}
uint32_t Topology::sourceTxPackets() const {
  return linkCounter(inet_, "i0", false);
}

std::map<std::string, uint64_t> Topology::htbClassPackets() const {
  // iproute2 6.1's `tc -j class show` prints text, so the text form is parsed:
  // "class htb 1:30 parent 1:1 leaf ...\n Sent 123 bytes 4 pkt (dropped ...".
  std::string cmd = "ip netns exec " + shaper_ + " tc -s class show dev s1", text;
  if (!shell(cmd, &text)) {
    throw std::runtime_error(cmd + ": " + text);
  }
  static const std::regex re(
      "class htb ([0-9a-f]+:[0-9a-f]+) [^\\n]*\\n Sent [0-9]+ bytes ([0-9]+) pkt");
  std::map<std::string, uint64_t> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    out[(*it)[1]] = std::stoull((*it)[2]);
  }
  return out;
}

uint64_t Topology::qdiscDrops() const {
  uint64_t drops = 0;
  for (const auto& q : jsonOf("ip netns exec " + shaper_ + " tc -s -j qdisc show dev s1")) {
    const std::string kind = q.value("kind", "");
    if (kind != "mq" && kind != "tbf") {  // mq sums its children, a holder its child
      drops += q.at("drops").get<uint64_t>();
    }
  }
  return drops;
}

}  // namespace sluice::realframe
