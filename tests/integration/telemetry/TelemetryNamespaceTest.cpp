// The collector on a real data plane and a real queue tree, with real packets. Three namespaces
// the test creates (names carry the pid) and always deletes:
//
//   inet ns                shaper ns (bridge br0)                          sub ns
//   i0 100.64.250.1 ── sluice-test-up0 [XDP, tc] ══ br0 ══ sluice-test-dn0 [XDP, tc] ── s0
//                      mq─HTB (upload)                mq─HTB (download)       100.64.0.1  (c1)
//                                                                             100.64.0.9  (c2)
//                                                                             100.64.77.7 (none)
//
// The plan is tests/data/planner/small (its lqos.conf names these two shaper ports), with pfifo
// leaves (this kernel has no CAKE), built by the tc backend. Counts are exact: the collector is
// given its tick times, and the test sends a known number of frames between two ticks.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "dataplane/Attach.h"
#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"
#include "netlink/Socket.h"
#include "planner/Pipeline.h"
#include "tc/Applier.h"
#include "tc/Psched.h"
#include "telemetry/Collector.h"

namespace sluice::telemetry {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

bool sh(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

std::string run(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen((cmd + " 2>&1").c_str(), "r"), pclose);
  std::array<char, 4096> buf{};
  while (p && fgets(buf.data(), buf.size(), p.get()) != nullptr) {
    out += buf.data();
  }
  return out;
}

class NetnsGuard {
 public:
  NetnsGuard() {
    std::string id = std::to_string(getpid());
    inet = "sl7i-" + id;
    shaper = "sl7s-" + id;
    sub = "sl7b-" + id;
  }
  ~NetnsGuard() {
    for (const auto& ns : {inet, shaper, sub}) {
      sh("ip netns del " + ns + " 2>/dev/null");
    }
  }
  std::string inet, shaper, sub;
};

template <typename Fn>
auto inNetns(const std::string& ns, Fn fn) {
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(target, 0);
  EXPECT_EQ(setns(target, CLONE_NEWNET), 0);
  auto result = fn();
  EXPECT_EQ(setns(self, CLONE_NEWNET), 0);
  close(target);
  close(self);
  return result;
}

sockaddr_in sockAddr(const char* addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  return sa;
}

int boundSocket(const std::string& ns, int type, const char* addr, uint16_t port) {
  return inNetns(ns, [&] {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in sa = sockAddr(addr, port);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0) << addr;
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  });
}

// Sends `count` UDP datagrams of kPayload bytes from `fd` to addr:port, each received by `rx`
// before the next (lockstep: nothing queues, nothing is lost). Returns how many arrived.
constexpr size_t kPayload = 1000;
constexpr uint64_t kFrameBytes = kPayload + 8 + 20 + 14;  // UDP, IPv4, Ethernet headers
int sendLockstep(int fd, int rx, const char* addr, uint16_t port, int count) {
  std::array<char, kPayload> payload{};
  std::array<char, 2048> buf{};
  sockaddr_in sa = sockAddr(addr, port);
  int received = 0;
  for (int i = 0; i < count; ++i) {
    if (sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&sa),
               sizeof(sa)) != static_cast<ssize_t>(payload.size())) {
      return received;
    }
    if (recv(rx, buf.data(), buf.size(), 0) == static_cast<ssize_t>(kPayload)) {
      ++received;
    }
  }
  return received;
}

const Json* findNode(const Json& nodes, const std::string& name) {
  for (const Json& n : nodes) {
    if (n["name"] == name) {
      return &n;
    }
    if (const Json* inner = findNode(n["children"], name)) {
      return inner;
    }
  }
  return nullptr;
}

TEST(TelemetryNamespace, ReportsCircuitNodeAndQueueStatisticsOfRealTraffic) {
  NetnsGuard ns;
  const std::string I = ns.inet, S = ns.shaper, B = ns.sub;
  for (const auto& n : {I, S, B}) {
    ASSERT_TRUE(sh("ip netns add " + n));
  }
  auto x = [&](const std::string& n, const std::string& cmd) {
    return sh("ip netns exec " + n + " " + cmd);
  };
  const std::string up = "sluice-test-up0", down = "sluice-test-dn0";
  ASSERT_TRUE(x(S, "ip link add " + up + " numtxqueues 2 numrxqueues 2 type veth peer name i0 netns " +
                       I + " numtxqueues 2 numrxqueues 2"));
  ASSERT_TRUE(x(S, "ip link add " + down + " numtxqueues 2 numrxqueues 2 type veth peer name s0 netns " +
                       B + " numtxqueues 2 numrxqueues 2"));
  ASSERT_TRUE(x(S, "ip link add br0 type bridge"));
  ASSERT_TRUE(x(S, "ip link set " + up + " master br0"));
  ASSERT_TRUE(x(S, "ip link set " + down + " master br0"));
  for (const auto& d : {up, down, std::string("br0"), std::string("lo")}) {
    ASSERT_TRUE(x(S, "ip link set " + d + " up"));
  }
  for (const auto& d : {up, down}) {
    ASSERT_TRUE(x(S, "sh -c 'for f in /sys/class/net/" + d +
                         "/queues/tx-*/xps_cpus; do echo 0 > $f; done'"));
  }
  ASSERT_TRUE(x(I, "ip addr add 100.64.250.1/16 dev i0"));
  ASSERT_TRUE(x(I, "ip link set i0 up"));
  for (const char* a : {"100.64.0.1/16", "100.64.0.9/16", "100.64.77.7/16"}) {
    ASSERT_TRUE(x(B, std::string("ip addr add ") + a + " dev s0"));
  }
  ASSERT_TRUE(x(B, "ip link set s0 up"));
  // A frame redirected by XDP loses the veth's checksum-offload state (DESIGN §5).
  x(I, "ethtool -K i0 tx off >/dev/null");
  x(B, "ethtool -K s0 tx off >/dev/null");

  // The plan, with pfifo leaves, built in the shaper namespace by the tc backend.
  plan::PipelineOptions po;
  po.paths.config = std::string(SLUICE_TEST_DATA_DIR) + "/planner/small/lqos.conf";
  po.txQueues = 2;
  po.cpus = 2;
  auto result = plan::runPipeline(po);
  ASSERT_TRUE(result.ok());
  auto planPtr = std::make_shared<plan::QueuePlan>(std::move(*result.plan));
  tc::LeafCapabilities caps;
  caps.pfifo = caps.bfifo = caps.mq = true;
  ASSERT_TRUE(tc::applyLeafFallback(*planPtr, caps, plan::LeafKind::Pfifo));
  auto inputs = std::make_shared<model::Inputs>(std::move(result.inputs));
  const plan::QueuePlan& plan = *planPtr;
  ASSERT_EQ(plan.interfaces.size(), 2u);
  ASSERT_EQ(plan.interfaces[0].ifname, down);

  auto applySocket = netlink::Socket::open("/run/netns/" + S);
  ASSERT_TRUE(applySocket) << applySocket.error().message();
  auto clock = tc::Psched::read();
  ASSERT_TRUE(clock);
  tc::NetlinkApplier applier(std::move(*applySocket), *clock);
  auto applied = tc::applyPlan(applier, plan, tc::ApplyMode::Create);
  ASSERT_TRUE(applied) << applied.error().message();

  int upIdx = inNetns(S, [&] { return static_cast<int>(if_nametoindex(up.c_str())); });
  int downIdx = inNetns(S, [&] { return static_cast<int>(if_nametoindex(down.c_str())); });
  ASSERT_GT(upIdx, 0);
  ASSERT_GT(downIdx, 0);
  dataplane::DataplaneOptions opts;
  opts.internetIfindex = static_cast<uint32_t>(upIdx);
  opts.networkIfindex = static_cast<uint32_t>(downIdx);
  opts.lpmCapacity = 1024;
  auto dp = dataplane::Dataplane::open(opts);
  ASSERT_TRUE(dp) << dp.error().message();
  ASSERT_TRUE((*dp)->setRuntimeConfig({0, plan.queueCpu}));
  dataplane::BpfMapWriter writer((*dp)->lpmMapFd(), (*dp)->epochMapFd());
  ASSERT_TRUE(writer.publish(plan.addresses));
  auto attached = inNetns(S, [&] {
    auto xu = dataplane::XdpAttachment::attach(upIdx, (*dp)->xdpProgramFd());
    auto xd = dataplane::XdpAttachment::attach(downIdx, (*dp)->xdpProgramFd());
    auto tu = dataplane::TcAttachment::attachEgress(upIdx, (*dp)->tcProgramFd());
    auto td = dataplane::TcAttachment::attachEgress(downIdx, (*dp)->tcProgramFd());
    return std::make_tuple(std::move(xu), std::move(xd), std::move(tu), std::move(td));
  });
  auto& [xu, xd, tu, td] = attached;
  ASSERT_TRUE(xu) << xu.error().message();
  ASSERT_TRUE(xd) << xd.error().message();
  ASSERT_TRUE(tu) << tu.error().message();
  ASSERT_TRUE(td) << td.error().message();

  auto tcSocket = netlink::Socket::open("/run/netns/" + S);
  ASSERT_TRUE(tcSocket);
  Sources sources;
  sources.hostsFd = (*dp)->hostMapFd();
  sources.flowsFd = (*dp)->flowMapFd();
  sources.rttRingFd = (*dp)->rttRingFd();
  sources.statsFd = (*dp)->statsMapFd();
  sources.tcSocket = &*tcSocket;
  Options options;
  options.tcStatsMaxCpuShare = 1.0;  // every tick, however busy the machine
  auto collector = Collector::create(options);
  ASSERT_TRUE(collector);
  Collector& c = **collector;
  c.setPlan(inputs, planPtr);

  int inet = boundSocket(I, SOCK_DGRAM, "100.64.250.1", 7000);
  int c1 = boundSocket(B, SOCK_DGRAM, "100.64.0.1", 9000);
  int c2 = boundSocket(B, SOCK_DGRAM, "100.64.0.9", 9000);
  int unk = boundSocket(B, SOCK_DGRAM, "100.64.77.7", 9000);
  // Warm up ARP and the flow table outside the measured second.
  ASSERT_EQ(sendLockstep(inet, c1, "100.64.0.1", 9000, 1), 1);
  ASSERT_EQ(sendLockstep(c1, inet, "100.64.250.1", 7000, 1), 1);
  ASSERT_EQ(sendLockstep(inet, c2, "100.64.0.9", 9000, 1), 1);
  ASSERT_EQ(sendLockstep(inet, unk, "100.64.77.7", 9000, 1), 1);

  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  auto r1 = c.tick(sources, t0);
  ASSERT_TRUE(r1) << r1.error().message();
  EXPECT_TRUE(r1->warnings.empty()) << r1->warnings.front();
  constexpr int kC1Down = 300, kC1Up = 40, kC2Down = 120, kUnknown = 50;
  ASSERT_EQ(sendLockstep(inet, c1, "100.64.0.1", 9000, kC1Down), kC1Down);
  ASSERT_EQ(sendLockstep(c1, inet, "100.64.250.1", 7000, kC1Up), kC1Up);
  ASSERT_EQ(sendLockstep(inet, c2, "100.64.0.9", 9000, kC2Down), kC2Down);
  ASSERT_EQ(sendLockstep(inet, unk, "100.64.77.7", 9000, kUnknown), kUnknown);
  auto r2 = c.tick(sources, t0 + 2s);  // rates over 2 s
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_TRUE(r2->warnings.empty()) << r2->warnings.front();
  EXPECT_GE(r2->hosts, 3u);
  EXPECT_GT(r2->tcObjects, 2 * plan.circuits.size());

  const double bits = 8.0 * kFrameBytes / 2.0;  // per frame, per second over the 2 s
  Json j1 = *c.circuit("c1");
  EXPECT_DOUBLE_EQ(j1["live"]["down_bps"], kC1Down * bits) << j1.dump(1);
  EXPECT_DOUBLE_EQ(j1["live"]["up_bps"], kC1Up * bits);
  EXPECT_DOUBLE_EQ(j1["live"]["down_pps"], kC1Down / 2.0);
  Json j2 = *c.circuit("c2");
  EXPECT_DOUBLE_EQ(j2["live"]["down_bps"], kC2Down * bits);
  Json tree = c.tree();
  const Json* ap = findNode(tree["nodes"], "AP_A1");
  const Json* site = findNode(tree["nodes"], "Site_A");
  ASSERT_TRUE(ap && site);
  EXPECT_DOUBLE_EQ((*ap)["down_bps"], (kC1Down + kC2Down) * bits);
  EXPECT_DOUBLE_EQ((*site)["down_bps"], (kC1Down + kC2Down) * bits);
  EXPECT_DOUBLE_EQ((*ap)["up_bps"], kC1Up * bits);
  Json s = c.summary();
  EXPECT_DOUBLE_EQ(s["shaped"]["down_bps"], (kC1Down + kC2Down) * bits);
  EXPECT_GE(s["unknown"]["down_bps"].get<double>(), kUnknown * bits);
  EXPECT_GE(s["protocols"]["udp"]["down_pps"].get<double>(), (kC1Down + kC2Down + kUnknown) / 2.0);
  bool sawUnknown = false;
  const Json unknown = c.unknown();
  for (const Json& a : unknown["addresses"]) {
    if (a["address"] == "100.64.77.7") {
      sawUnknown = true;
      EXPECT_DOUBLE_EQ(a["down_bps"], kUnknown * bits);
    }
  }
  EXPECT_TRUE(sawUnknown) << unknown.dump(1);

  // The flow and the queue: c1's UDP flow, and its HTB class with a pfifo leaf that sent them.
  ASSERT_FALSE(j1["flows"].empty()) << j1.dump(1);
  EXPECT_EQ(j1["flows"][0]["dst"], "100.64.250.1");
  EXPECT_EQ(j1["flows"][0]["proto"], "udp");
  EXPECT_DOUBLE_EQ(j1["flows"][0]["down_bps"], kC1Down * bits);
  const Json& q = j1["queue"]["down"];
  ASSERT_FALSE(q.is_null()) << j1.dump(1);
  EXPECT_EQ(q["leaf_kind"], "pfifo");
  EXPECT_GE(q["sent_bytes"].get<uint64_t>(), kC1Down * kFrameBytes);
  ASSERT_FALSE(j1["queue"]["up"].is_null());
  EXPECT_GE(j1["queue"]["up"]["sent_bytes"].get<uint64_t>(), kC1Up * kFrameBytes);

  // TCP with timestamps through the shaper: RTT samples for c1 (one per ≥100 ms per direction).
  int listener = boundSocket(B, SOCK_STREAM, "100.64.0.1", 5001);
  ASSERT_EQ(listen(listener, 1), 0);
  int client = inNetns(I, [] { return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
  sockaddr_in sa = sockAddr("100.64.0.1", 5001);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  int server = accept(listener, nullptr, nullptr);
  ASSERT_GE(server, 0);
  std::array<char, 512> msg{};
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(send(client, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
    ASSERT_GT(recv(server, msg.data(), msg.size(), MSG_WAITALL), 0);
    ASSERT_EQ(send(server, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
    ASSERT_GT(recv(client, msg.data(), msg.size(), MSG_WAITALL), 0);
    std::this_thread::sleep_for(120ms);
  }
  auto r3 = c.tick(sources, t0 + 3s);
  ASSERT_TRUE(r3);
  EXPECT_GT(r3->rttSamples, 0u);
  Json j3 = *c.circuit("c1");
  ASSERT_FALSE(j3["live"]["rtt_p50_ms"].is_null()) << j3.dump(1);
  EXPECT_GT(j3["live"]["rtt_p50_ms"].get<double>(), 0);
  EXPECT_LT(j3["live"]["rtt_p50_ms"].get<double>(), 100);
  EXPECT_FALSE(c.summary()["rtt_ms"]["p50"].is_null());
  EXPECT_NE(c.prometheus().find("sluice_dataplane_events_total{event=\"rtt_sample\"}"),
            std::string::npos);
  // tc dumps at most every tcStatsEveryTicks (here 3), and only within their CPU share.
  {
    Options every3;
    every3.tcStatsEveryTicks = 3;
    every3.tcStatsMaxCpuShare = 1.0;
    auto c3 = Collector::create(every3);
    ASSERT_TRUE(c3);
    (*c3)->setPlan(inputs, planPtr);
    std::vector<bool> dumped;
    for (int i = 0; i < 5; ++i) {
      auto r = (*c3)->tick(sources, t0 + std::chrono::seconds(10 + i));
      ASSERT_TRUE(r);
      dumped.push_back(r->tcObjects > 0);
    }
    EXPECT_EQ(dumped, (std::vector<bool>{true, false, false, true, false}));
    Options starved;
    starved.tcStatsMaxCpuShare = 1e-9;  // any dump's cost exceeds this share for a long time
    auto c4 = Collector::create(starved);
    ASSERT_TRUE(c4);
    (*c4)->setPlan(inputs, planPtr);
    EXPECT_GT((*c4)->tick(sources, t0 + 20s)->tcObjects, 0u);
    EXPECT_EQ((*c4)->tick(sources, t0 + 21s)->tcObjects, 0u);
  }
  for (int fd : {client, server, listener, inet, c1, c2, unk}) {
    close(fd);
  }
  inNetns(S, [&] {
    EXPECT_TRUE(xu->detach());
    EXPECT_TRUE(xd->detach());
    EXPECT_TRUE(tu->detach());
    EXPECT_TRUE(td->detach());
    return 0;
  });
}

}  // namespace
}  // namespace sluice::telemetry
