// Bakery benchmark (root): apply latency and kernel messages per change class in 1k/10k/30k-
// circuit trees, compared with a full build of the same tree in the same run; hitless rebuild
// time; and the kernel memory of HTB classes, HTB qdiscs and pfifo leaves (--measure-memory).
//
//   bench_bakery [--circuits 1000,10000,30000] [--queues 16] [--tx-queues 17] [--repeat 5]
//                [--rebuild] [--model]
//   bench_bakery --measure-memory [--objects 10000]
//
// Per size: a synthetic ISP (synth::generate, seed 1, sites = circuits/500), planned by the real
// planner for Q queues, leaves pfifo (this kernel has no CAKE/fq_codel), on a veth pair eth0/eth1
// with --tx-queues tx queues (default Q+1: one spare for the rebuild) in namespace
// sl-bakery-bench-<pid>. "full build" is Bakery::apply from nothing
// (the whole tree, batched netlink, then one full map publish). Then, repeated --repeat times each,
// one change of each class (the link rate: lqos.conf's bandwidths -10 % and back, in turn) is made
// to the model, planned (not timed) and applied (timed: stabilize
// + preflight + diff + kernel ops + map update + persisting active.json; the map writer records,
// it does not write BPF maps). Reported: median and worst apply time, the apply's share spent in
// the kernel runner, and kernel messages per apply.
// --model: the op runner is ModelOpRunner (a kernel model, no namespace, no root): the user-space
// part of every apply only ("kernel ms" is then the model's time), for trees the kernel would take
// minutes to build (100k circuits).

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bakery/Bakery.h"
#include "bakery/ModelOpRunner.h"
#include "bakery/NetlinkOpRunner.h"
#include "dataplane/RecordingMapWriter.h"
#include "model/Inputs.h"
#include "planner/Planner.h"
#include "synth/Synth.h"

namespace {

using namespace sluice;
using Clock = std::chrono::steady_clock;

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// A network namespace with veth eth0/eth1 (Q queues each), removed in the destructor.
class Lab {
 public:
  explicit Lab(uint32_t txQueues) : ns_(fmt::format("sl-bakery-bench-{}", ::getpid())) {
    sh("ip netns del " + ns_);
    if (sh("ip netns add " + ns_) != 0 ||
        sh(fmt::format("ip -n {0} link add eth0 numtxqueues {1} numrxqueues {1} type veth peer "
                       "name eth1 numtxqueues {1} numrxqueues {1}",
                       ns_, txQueues)) != 0 ||
        sh(fmt::format("ip -n {0} link set eth0 up && ip -n {0} link set eth1 up", ns_)) != 0) {
      throw std::runtime_error("cannot create namespace " + ns_ + " (root needed)");
    }
  }
  ~Lab() { sh("ip netns del " + ns_); }
  std::string path() const { return "/var/run/netns/" + ns_; }
  const std::string& name() const { return ns_; }

 private:
  std::string ns_;
};

/// Times the runner's share of an apply.
class TimedRunner final : public bakery::OpRunner {
 public:
  explicit TimedRunner(bakery::OpRunner& inner) : inner_(inner) {}
  Result<void> run(const std::vector<bakery::TcOp>& ops) override {
    const auto t0 = Clock::now();
    auto r = inner_.run(ops);
    kernelMs += msSince(t0);
    return r;
  }
  Result<std::vector<std::string>> liveDifferences(const plan::QueuePlan& p) override {
    return inner_.liveDifferences(p);
  }
  Result<void> reconcile(const plan::QueuePlan& p) override { return inner_.reconcile(p); }
  Result<uint64_t> backlogPackets(const std::string& ifname,
                                  const std::vector<plan::TcHandle>& classids) override {
    return inner_.backlogPackets(ifname, classids);
  }
  Result<uint32_t> txQueueCount(const std::string& ifname) override {
    return inner_.txQueueCount(ifname);
  }
  Result<uint64_t> htbBacklogPackets(const std::string& ifname, uint16_t major,
                                     uint16_t skipMinor) override {
    return inner_.htbBacklogPackets(ifname, major, skipMinor);
  }
  uint64_t messagesSent() const override { return inner_.messagesSent(); }
  double kernelMs = 0;

 private:
  bakery::OpRunner& inner_;
};

constexpr size_t kLeafCircuits = 30'000;

struct Isp {
  model::Inputs inputs;
  std::string dir;
};

Isp makeIsp(uint32_t circuits, const std::string& dir) {
  synth::SynthOptions so;
  so.circuits = circuits;
  so.sites = std::max<uint32_t>(4, circuits / 500);
  so.sqmOverrideShare = 0;
  const synth::SynthFiles files = synth::generate(so);
  synth::LqosConfOptions co;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/network.json") << files.networkJson;
  std::ofstream(dir + "/ShapedDevices.csv") << files.shapedDevicesCsv;
  std::ofstream(dir + "/lqos.conf") << synth::renderLqosConf(co);
  Isp isp{model::loadInputs({dir + "/lqos.conf", dir + "/network.json",
                             dir + "/ShapedDevices.csv"}),
          dir};
  if (!isp.inputs.ok()) {
    throw std::runtime_error("synthetic inputs do not load");
  }
  // A device holds at most 65,534 qdiscs: beyond 30k circuits only the first 30k get a leaf
  // (the others sqm 'none', as lazy queues would leave idle circuits).
  auto& cs = isp.inputs.model.shaped.circuits;
  for (size_t i = kLeafCircuits; i < cs.size(); ++i) {
    cs[i].sqm.down = model::SqmKind::None;
    cs[i].sqm.up = model::SqmKind::None;
  }
  return isp;
}

plan::QueuePlan planOf(const Isp& isp, uint32_t queues) {
  Diagnostics diags;
  auto p = plan::buildPlan(plan::PlannerInput{isp.inputs.config, isp.inputs.model, queues, queues},
                           diags);
  if (!p) {
    for (const auto& d : diags.errors()) fmt::print(stderr, "{}\n", d.toString());
    throw std::runtime_error("planner failed");
  }
  // Kinds this kernel has: CAKE -> pfifo, fq_codel -> bfifo (an SQM change stays a kind change).
  for (auto& iface : p->interfaces)
    for (auto& q : iface.queues)
      for (auto& c : q.classes)
        if (c.leaf && c.leaf->kind == plan::LeafKind::Cake) {
          c.leaf->kind = plan::LeafKind::Pfifo;
          c.leaf->fifoLimit = 1000;
          c.leaf->cake = {};
        } else if (c.leaf && c.leaf->kind == plan::LeafKind::FqCodel) {
          c.leaf->kind = plan::LeafKind::Bfifo;
          c.leaf->fifoLimit = 200'000;
          c.leaf->fqCodel = {};
        }
  return *p;
}

struct Sample {
  std::vector<double> ms;
  std::vector<double> kernelMs;
  std::vector<double> planMs;
  std::vector<double> persistMs;
  std::vector<uint64_t> ops;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string row(const std::string& what, const Sample& s) {
  auto ms = s.ms;
  std::sort(ms.begin(), ms.end());
  auto k = s.kernelMs;
  std::sort(k.begin(), k.end());
  auto ops = s.ops;
  std::sort(ops.begin(), ops.end());
  return fmt::format("  {:<16} {:>10.2f} {:>10.2f} {:>10.3f} {:>10.2f} {:>10.2f} {:>8} {:>8}\n",
                     what, ms[ms.size() / 2], ms.back(), k[k.size() / 2], median(s.planMs),
                     median(s.persistMs), ops.front(), ops.back());
}

int runSize(uint32_t circuits, uint32_t queues, uint32_t txQueues, uint32_t repeat, bool rebuild,
            bool useModel) {
  const std::string dir = fmt::format("/var/tmp/sl-bakery-bench-{}-{}", ::getpid(), circuits);
  Isp isp = makeIsp(circuits, dir);
  auto& model = isp.inputs.model;
  std::unique_ptr<Lab> lab;
  std::unique_ptr<bakery::OpRunner> inner;
  if (useModel) {
    auto model = std::make_unique<bakery::ModelOpRunner>();
    model->setTxQueues(txQueues);
    inner = std::move(model);
  } else {
    lab = std::make_unique<Lab>(txQueues);
    auto socket = netlink::Socket::open(lab->path());
    auto clock = tc::Psched::read();
    if (!socket || !clock) {
      fmt::print(stderr, "netlink socket or psched failed\n");
      return 1;
    }
    inner = std::make_unique<bakery::NetlinkOpRunner>(std::move(*socket), *clock);
  }
  TimedRunner runner(*inner);
  dataplane::RecordingMapWriter writer;
  bakery::Limits limits;
  limits.memoryReserveBytes = 64ull << 20;
  bakery::Bakery bakery(runner, writer, dir + "/state", limits);

  const auto apply = [&](Sample& s) {
    auto p = planOf(isp, queues);
    runner.kernelMs = 0;
    const auto t0 = Clock::now();
    auto r = bakery.apply(std::move(p));
    const double ms = msSince(t0);
    if (!r) {
      throw std::runtime_error("apply failed: " + r.error().message());
    }
    s.ms.push_back(ms);
    s.kernelMs.push_back(runner.kernelMs);
    s.planMs.push_back(r->planMs);
    s.persistMs.push_back(r->persistMs);
    s.ops.push_back(r->tcOps);
    return *r;
  };

  size_t classes = 0;
  const auto first = planOf(isp, queues);
  for (const auto& i : first.interfaces)
    for (const auto& q : i.queues) classes += q.classes.size();
  fmt::print(
      "{} circuits, {} queues on {} tx queues, {} HTB classes, {} addresses (both "
      "directions){}{}\n",
      circuits, queues, txQueues, classes, first.addresses.size(),
      circuits > kLeafCircuits
          ? fmt::format("; leaves for the first {} circuits only", kLeafCircuits)
          : std::string(),
      useModel ? "; ModelOpRunner: user space only, no kernel" : "");
  fmt::print("  {:<16} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}\n", "change", "median ms",
             "worst ms", "kernel ms", "diff ms", "state ms", "min ops", "max ops");
  std::fflush(stdout);

  Sample build;
  apply(build);
  fmt::print("{}", row("full build", build));
  std::fflush(stdout);

  auto& cs = model.shaped.circuits;
  std::map<std::string, Sample> samples;
  const char* order[] = {"noop", "speed", "address", "sqm", "circuit add", "parent move",
                         "circuit remove", "node speed", "link rate"};
  auto& link = isp.inputs.config.queues;
  const double linkDownMbps = link.downlinkBandwidthMbps;
  const double linkUpMbps = link.uplinkBandwidthMbps;
  for (uint32_t k = 0; k < repeat; ++k) {
    const size_t i = (k * 7919 + 13) % cs.size();
    apply(samples["noop"]);
    cs[i].downloadMaxMbps = std::max(2.0, cs[i].downloadMaxMbps - 1);
    apply(samples["speed"]);
    cs[i].devices[0].ipv4.push_back(*IpNet::parse(fmt::format("198.18.{}.{}", k / 250, 1 + k % 250)));
    apply(samples["address"]);
    cs[i].sqm.down = cs[i].sqm.down == model::SqmKind::FqCodel ? model::SqmKind::Cake
                                                               : model::SqmKind::FqCodel;
    apply(samples["sqm"]);
    model::Circuit added = cs[i];
    added.id = fmt::format("bench-added-{}", k);
    added.devices[0].ipv4 = {*IpNet::parse(fmt::format("198.19.{}.{}", k / 250, 1 + k % 250))};
    added.devices[0].ipv6.clear();
    added.devices.resize(1);  // the copied circuit's other devices would duplicate its prefixes
    cs.insert(cs.begin() + static_cast<ptrdiff_t>(i / 2), added);
    model.shaped.byId.clear();
    for (size_t j = 0; j < cs.size(); ++j) model.shaped.byId[cs[j].id] = j;
    apply(samples["circuit add"]);
    // Parent move: to a sibling node (same parent node, so the same queue).
    auto& mover = cs[(i + 1) % cs.size()];
    const int32_t parent = model.network.find(mover.parentNode);
    if (parent >= 0 && model.network.nodes[parent].parent >= 0) {
      const auto& siblings = model.network.nodes[model.network.nodes[parent].parent].children;
      for (int32_t s : siblings) {
        if (s != parent) {
          mover.parentNode = model.network.nodes[s].name;
          break;
        }
      }
    }
    apply(samples["parent move"]);
    cs.erase(cs.begin() + static_cast<ptrdiff_t>(i / 2));
    model.shaped.byId.clear();
    for (size_t j = 0; j < cs.size(); ++j) model.shaped.byId[cs[j].id] = j;
    apply(samples["circuit remove"]);
    auto& node = model.network.nodes[(k * 31) % model.network.nodes.size()];
    node.downloadMbps = node.downloadMbps > 10 ? node.downloadMbps - 1 : node.downloadMbps + 1;
    apply(samples["node speed"]);
    // lqos.conf uplink/downlink_bandwidth_mbps -10 % and back: every class whose rate, ceil or
    // quantum follows the link changes in place (the HTB qdiscs keep their r2q).
    const double scale = k % 2 == 0 ? 0.9 : 1.0;
    link.downlinkBandwidthMbps = linkDownMbps * scale;
    link.uplinkBandwidthMbps = linkUpMbps * scale;
    apply(samples["link rate"]);
  }
  for (const char* what : order) {
    fmt::print("{}", row(what, samples[what]));
  }
  if (rebuild) {
    runner.kernelMs = 0;
    const auto t0 = Clock::now();
    auto r = bakery.rebuild(planOf(isp, queues), "benchmark");
    const double ms = msSince(t0);
    if (!r) {
      fmt::print(stderr, "rebuild failed: {}\n", r.error().message());
      return 1;
    }
    fmt::print("  {:<16} {:>10.2f} {:>10} {:>10.3f} {:>10} {:>10} {:>8} {:>8}   ({})\n",
               "hitless rebuild", ms, "", runner.kernelMs, "", "", r->tcOps, r->tcOps, r->mode);
    fmt::print("  rebuild / full build in this run: {:.2f}x{}\n", ms / build.ms.front(),
               r->reason.empty() ? std::string() : "; " + r->reason);
  }
  auto drift = bakery.checkDrift();
  fmt::print("  live tree vs active state: {}\n",
             !drift ? drift.error().message()
                    : drift->empty() ? std::string("equal")
                                     : fmt::format("{} differences, first: {}", drift->size(),
                                                   drift->front()));
  (void)bakery.flush();  // the state writer may still be writing into dir
  std::filesystem::remove_all(dir);
  return 0;
}

std::map<std::string, uint64_t> meminfo() {
  std::map<std::string, uint64_t> out;
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    std::getline(in, unit);
    key.pop_back();
    out[key] = kib * 1024;
  }
  return out;
}

/// Kernel memory per object: create `objects` HTB classes (then as many pfifo leaves, then 60 HTB
/// qdiscs) in a scratch namespace and divide the MemAvailable / Slab / Percpu deltas.
int measureMemory(uint32_t objects) {
  Lab lab(64);
  auto socket = netlink::Socket::open(lab.path());
  auto clock = tc::Psched::read();
  if (!socket || !clock) return 1;
  bakery::NetlinkOpRunner runner(std::move(*socket), *clock);
  const auto settle = [] {
    sh("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return meminfo();
  };
  const auto report = [&](const char* what, const std::map<std::string, uint64_t>& a,
                          const std::map<std::string, uint64_t>& b, uint32_t n) {
    const auto per = [&](const char* key) {
      return (static_cast<double>(a.at(key)) - static_cast<double>(b.at(key))) / n;
    };
    fmt::print("  {:<12} {:>6} objects: MemAvailable -{:.0f} B, Slab +{:.0f} B, Percpu +{:.0f} B "
               "per object\n",
               what, n, -per("MemAvailable"), per("Slab"), per("Percpu"));
  };
  for (int round = 0; round < 2; ++round) {
    std::vector<bakery::TcOp> ops;
    bakery::TcOp root;
    root.kind = bakery::TcOp::Kind::AddRoot;
    root.ifname = "eth0";
    ops.push_back(root);
    bakery::TcOp q;
    q.kind = bakery::TcOp::Kind::AddHtbQdisc;
    q.ifname = "eth0";
    q.queue.major = 1;
    q.queue.txQueue = 0;
    ops.push_back(q);
    bakery::TcOp link;
    link.kind = bakery::TcOp::Kind::AddClass;
    link.ifname = "eth0";
    link.cls.classid = {1, 1};
    link.cls.parent = {1, 0};
    link.cls.rateBitsPerSecond = link.cls.ceilBitsPerSecond = 10'000'000'000ull;
    ops.push_back(link);
    if (!runner.run(ops)) return 1;
    ops.clear();
    const auto m0 = settle();
    for (uint32_t i = 0; i < objects; ++i) {
      bakery::TcOp c = link;
      c.cls.classid = {1, static_cast<uint16_t>(3 + i)};
      c.cls.parent = {1, 1};
      c.cls.rateBitsPerSecond = 1'000'000;
      c.cls.ceilBitsPerSecond = 100'000'000;
      ops.push_back(c);
    }
    if (auto r = runner.run(ops); !r) {
      fmt::print(stderr, "{}\n", r.error().message());
      return 1;
    }
    const auto m1 = settle();
    ops.clear();
    for (uint32_t i = 0; i < objects; ++i) {
      bakery::TcOp l;
      l.kind = bakery::TcOp::Kind::AddLeaf;
      l.ifname = "eth0";
      l.cls.classid = {1, static_cast<uint16_t>(3 + i)};
      l.leaf.kind = plan::LeafKind::Pfifo;
      l.leaf.handleMajor = static_cast<uint16_t>(100 + i);
      l.leaf.fifoLimit = 1000;
      ops.push_back(l);
    }
    if (auto r = runner.run(ops); !r) {
      fmt::print(stderr, "{}\n", r.error().message());
      return 1;
    }
    const auto m2 = settle();
    ops.clear();
    for (uint16_t t = 1; t < 61; ++t) {
      bakery::TcOp h = q;
      h.queue.major = static_cast<uint16_t>(0x5000 + t);
      h.queue.txQueue = t;
      ops.push_back(h);
    }
    if (auto r = runner.run(ops); !r) {
      fmt::print(stderr, "{}\n", r.error().message());
      return 1;
    }
    const auto m3 = settle();
    fmt::print("round {}:\n", round + 1);
    report("htb_class", m1, m0, objects);
    report("pfifo", m2, m1, objects);
    report("htb_qdisc", m3, m2, 60);
    sh(fmt::format("tc -n {} qdisc del dev eth0 root", lab.name()));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bakery benchmark"};
  std::string sizes = "1000,10000,30000";
  uint32_t queues = 16;
  uint32_t repeat = 5;
  bool rebuild = false;
  bool memory = false;
  bool useModel = false;
  uint32_t objects = 10000;
  app.add_option("--circuits", sizes, "comma-separated tree sizes");
  app.add_option("--queues", queues, "shaping queues");
  uint32_t txQueues = 0;
  app.add_option("--tx-queues", txQueues,
                 "tx queues of the veth (default: queues + 1, one spare for the rebuild; "
                 "= queues: no spare, the rebuild stays in the same HTB qdiscs)");
  app.add_option("--repeat", repeat, "changes of each class per size");
  app.add_flag("--rebuild", rebuild, "also time a hitless rebuild of the whole tree");
  app.add_flag("--model", useModel, "ModelOpRunner instead of the kernel (user-space part only)");
  app.add_flag("--measure-memory", memory, "measure kernel memory per object instead");
  app.add_option("--objects", objects, "objects for --measure-memory");
  CLI11_PARSE(app, argc, argv);
  if (::geteuid() != 0 && !useModel) {
    fmt::print(stderr, "bench_bakery needs root (network namespaces)\n");
    return 1;
  }
  try {
    if (memory) {
      return measureMemory(objects);
    }
    std::stringstream ss(sizes);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (int rc = runSize(static_cast<uint32_t>(std::stoul(item)), queues,
                           txQueues == 0 ? queues + 1 : txQueues, repeat, rebuild, useModel)) {
        return rc;
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_bakery: {}\n", e.what());
    return 1;
  }
  return 0;
}
